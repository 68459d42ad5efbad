"""A facilitator registers a walk-in apart from an account's business; staff review and merge it."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from participation.models import Business, SeparateRegistration, SeparateRegistrationStatus, User
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD, app_db

pytestmark = pytest.mark.browser

NIB, NAME = "3201010123456", "CV Batik Sekar Jagad"


@pytest.fixture
def world(make_world, make_user):
    world = make_world(facilitator={"email": "fasilitator@contoh.id", "name": "Maya Lestari"},
                       title="Musrenbang Tematik IKM")
    make_user(name="Sri Handayani", email="sri.handayani@contoh.id", business={"nib": NIB, "name": NAME})
    return world


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_walk_in_kept_apart_from_an_account_is_reviewed_and_merged(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, base, "fasilitator@contoh.id", STAFF_PASSWORD)

    # At the door: the NIB and name belong to an account, and the person cannot be confirmed.
    page.goto(base + f"/sesi/{sid}/hadir")
    page.get_by_label("NIB", exact=True).fill(NIB)
    page.get_by_label("Nama usaha").fill(NAME)
    page.get_by_label("Nama pemilik").fill("Sri Handayani")
    page.get_by_role("button", name="Daftarkan dan catat hadir").click()
    expect(page.get_by_text("Sri Handayani (s***@contoh.id)")).to_be_visible()
    page.get_by_label("Daftarkan sebagai usaha terpisah tanpa akun, untuk ditinjau petugas").check()
    page.get_by_role("button", name="Daftarkan dan catat hadir").click()
    expect(page.get_by_text("didaftarkan sebagai usaha terpisah, tanpa akun")).to_be_visible()

    # The review page: both sides, and keeping them apart without a reason is refused in view.
    page.goto(base + "/perubahan-usaha")
    card = page.locator("section.card", has_text=NAME)
    expect(card.get_by_text("Didaftarkan di pintu")).to_be_visible()
    expect(card.get_by_text("sri.handayani@contoh.id")).to_be_visible()
    assert fits(page)
    assert axe_violations(page) == []
    card.get_by_role("button", name="Biarkan terpisah").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("Sebutkan mengapa keduanya usaha yang berbeda")
    assert axe_violations(page) == []
    screenshot(page, "separate-registration-review")

    # Merging asks first, then moves the attendance to the account's business.
    page.locator("section.card", has_text=NAME).get_by_role("link", name="Gabungkan ke usaha pemilik akun…").click()
    expect(page.get_by_text("Tindakan ini tidak dapat dibatalkan.")).to_be_visible()
    expect(page.get_by_text("Usaha ini belum punya usulan.")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "separate-registration-merge")
    page.get_by_role("button", name="Gabungkan usaha").click()
    expect(page.get_by_text("kini menjadi bagian dari CV Batik Sekar Jagad, akun milik Sri Handayani")).to_be_visible()
    expect(page.get_by_text("Tidak ada usaha terdaftar terpisah yang menunggu peninjauan.")).to_be_visible()
    with app_db(live_app) as session:
        assert session.scalar(select(SeparateRegistration)).status is SeparateRegistrationStatus.MERGED
        owner = session.scalar(select(User).where(User.email == "sri.handayani@contoh.id"))
        assert session.scalars(select(Business.user_id).where(Business.nib == NIB)).all() == [owner.id]

    # The same page on a phone still fits.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/perubahan-usaha")
    assert fits(page)
