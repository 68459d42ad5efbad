"""The forms as a person meets them in the browser: error summaries in view and focused."""
from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from participation.models import SessionStatus
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_proposal_journey import sign_in
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def world(make_world):
    return make_world(
        facilitator={"email": "fasilitator@contoh.id", "name": "Maya Lestari"}, status=SessionStatus.REVIEW,
        title="Musrenbang Tematik IKM", venue="Aula Bappeda", meeting_start=datetime(2027, 2, 12, 2, 0),
        invited=True,
        proposals=[{"business": {"nib": f"{3201000000001 + n}", "name": f"Usaha Undangan {n:02d}"},
                    "title": f"Usulan nomor {n:02d}", "category": n % 3} for n in range(12)])


def test_a_failed_walk_in_registration_brings_its_error_summary_into_view_with_focus(live_app, page, world):
    base, sid = live_app.config["LIVE_URL"], world.session
    sign_in(page, base, "fasilitator@contoh.id", STAFF_PASSWORD)
    page.goto(base + f"/sesi/{sid}/hadir")
    page.get_by_label("NIB", exact=True).fill("12345")
    page.get_by_label("Telepon / WhatsApp").fill("0812 3456 7890")
    page.get_by_role("button", name="Daftarkan dan catat hadir").click()
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    page.screenshot(path="/tmp/explore/viewport.png")
    print("ACTIVE", page.evaluate("document.activeElement.outerHTML.slice(0,120)"))
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    assert page.evaluate("document.activeElement.dataset.errorSummary") is not None
    text = summary.inner_text()
    assert "NIB: NIB harus tepat 13 digit angka." in text
    assert "Nama usaha: Isi nama usaha." in text and "Nama pemilik: Isi nama pemilik." in text
    assert page.get_by_label("Telepon / WhatsApp").input_value() == "0812 3456 7890"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert axe_violations(page) == []
    screenshot(page, "walk-in-error-summary-390")
