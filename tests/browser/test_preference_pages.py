"""The notification preferences on the account page, on a phone and a desktop, and the digest's
unsubscribe page reached from the mail's link without signing in."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from participation.extensions import db
from participation.models import NotificationPreference, User
from participation.notifications.preferences import unsubscribe_token
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_personal_data_pages import fits, sign_in
from tests.conftest import app_db

pytestmark = pytest.mark.browser


def modes(app, user_id):
    with app_db(app) as session:
        return {row.kind: row.mode.value for row in session.scalars(
            db.select(NotificationPreference).where(NotificationPreference.user_id == user_id))}


def test_an_owner_chooses_how_each_kind_of_message_comes_on_a_phone_and_a_desktop(live_app, page, make_world):
    base = live_app.config["LIVE_URL"]
    world = make_world(owner={"email": "pemilik@contoh.id", "name": "Dewi Lestari"})
    sign_in(page, base, "pemilik@contoh.id")
    page.goto(base + "/akun")
    section = page.get_by_role("region", name="Pengaturan notifikasi")
    expect(section.get_by_text("Tanda terima usulan Anda dan hasil sesi selalu dikirim lewat email")).to_be_visible()
    invitation = section.get_by_role("group", name="Undangan ke pertemuan sesi")
    expect(invitation.get_by_role("radio", name="Lewat email, segera")).to_be_checked()
    invitation.get_by_role("radio", name="Hanya di aplikasi, tanpa email").check()
    section.get_by_role("group", name="Pengingat 48 jam sebelum masa pengiriman ditutup, untuk draf yang belum "
                                       "dikirim").get_by_role("radio", name="Dalam satu email ringkasan harian").check()
    section.scroll_into_view_if_needed()
    assert fits(page)
    assert axe_violations(page) == []
    section.get_by_role("button", name="Simpan pengaturan notifikasi").click()
    expect(page.get_by_text("Pengaturan notifikasi Anda telah disimpan.")).to_be_visible()
    assert modes(live_app, world.owner) == {"invitation": "in_app", "meeting_reminder": "immediate",
                                            "draft_reminder": "digest", "follow_up_update": "immediate"}
    expect(page.get_by_role("group", name="Undangan ke pertemuan sesi")
           .get_by_role("radio", name="Hanya di aplikasi, tanpa email")).to_be_checked()
    assert fits(page)
    assert axe_violations(page) == []
    page.locator("#notification-preferences").screenshot(path=str(screenshot(page, "preferences-390")))
    page.set_viewport_size({"width": 1366, "height": 900})
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "preferences-1366")
    assert page.console_errors == []


def test_the_unsubscribe_link_asks_then_stops_the_digest_without_signing_in(live_app, page, make_world):
    base = live_app.config["LIVE_URL"]
    world = make_world(owner=True)
    with app_db(live_app) as session:
        session.add(NotificationPreference(user_id=world.owner, kind="draft_reminder", mode="digest"))
        session.commit()
        token = unsubscribe_token(session.get(User, world.owner))
    page.goto(f"{base}/notifikasi/berhenti/{token}")
    expect(page.get_by_role("heading", name="Berhenti berlangganan ringkasan harian", level=1)).to_be_visible()
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "unsubscribe-390")
    page.get_by_role("button", name="Berhenti berlangganan").click()
    expect(page.get_by_role("status")).to_have_text(
        "Anda tidak akan lagi menerima email ringkasan harian. Pesannya tetap ada di Notifikasi dalam aplikasi.")
    assert modes(live_app, world.owner) == {"draft_reminder": "in_app"}
    assert axe_violations(page) == []
    screenshot(page, "unsubscribed-390")
    assert page.console_errors == []
