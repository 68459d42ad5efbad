"""The bell and the notifications page on a phone; the outgoing-mail page for an admin."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from participation.extensions import db
from participation.models import (
    Notification,
    NotificationChannel,
    NotificationState,
    ThemedSession,
    User,
)
from tests.browser.conftest import axe_violations, pass_two_factor, screenshot
from tests.browser.test_personal_data_pages import fits, sign_in
from tests.conftest import STAFF_PASSWORD, app_db
from tests.factories import PROPOSAL_DATA, as_actor

pytestmark = pytest.mark.browser


def submit(app, world, title: str) -> str:
    """The owner's submission through the service the form calls; its receipt number."""
    from participation.proposals import services

    with app.app_context():
        owner = db.session.get(User, world.owner)
        proposal = services.create_proposal(db.session.get(ThemedSession, world.session), owner.business,
                                            {**PROPOSAL_DATA, "title": title, "category_id": world.categories[0]},
                                            as_actor(owner), submit=True)
        db.session.commit()
        number = proposal.receipt_number
        db.session.remove()
        return number


def test_an_owner_sees_the_bell_count_and_opens_the_receipt_on_a_phone(live_app, page, make_world):
    base = live_app.config["LIVE_URL"]
    world = make_world(owner={"email": "pemilik@contoh.id", "name": "Dewi Lestari"}, title="Musrenbang Tematik Kuliner")
    number = submit(live_app, world, "Oven pengering <b>keripik</b> {{7*7}}")
    sign_in(page, base, "pemilik@contoh.id")
    bell = page.get_by_role("link", name="Notifikasi 1 belum dibaca")
    expect(bell).to_be_visible()  # on a phone too, without opening the menu
    screenshot(page, "notifications-bell-390")
    bell.click()

    expect(page.get_by_role("heading", name="Notifikasi", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name=f"Baru Usulan diterima: {number}", level=2)).to_be_visible()
    expect(page.get_by_text("“Oven pengering <b>keripik</b> {{7*7}}” telah diterima dalam Musrenbang Tematik Kuliner."
                            )).to_be_visible()
    assert fits(page)
    assert axe_violations(page) == []
    screenshot(page, "notifications-390")

    message = page.get_by_role("listitem").filter(has_text=f"Usulan diterima: {number}")
    expect(message.get_by_role("button", name="Buka", exact=True)).to_have_accessible_description(
        f"Baru Usulan diterima: {number}")
    message.get_by_role("button", name="Buka", exact=True).click()
    expect(page.get_by_text(number).first).to_be_visible()
    assert page.url.startswith(base + "/usulan/")
    expect(page.get_by_role("link", name="Notifikasi", exact=True)).to_be_visible()  # no count left
    page.goto(base + "/notifikasi/")
    expect(page.get_by_role("button", name="Tandai semua sudah dibaca")).to_have_count(0)
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1366, "height": 800})
    assert fits(page)
    screenshot(page, "notifications-1366")
    assert page.console_errors == []


def test_an_admin_sees_the_failed_mail_with_its_reason_and_sends_it_again(live_app, page, make_world, make_user):
    base = live_app.config["LIVE_URL"]
    world = make_world(owner={"email": "pemilik@contoh.id", "name": "Dewi Lestari"})
    number = submit(live_app, world, "Oven pengering")
    with app_db(live_app) as session:
        mail = session.scalar(db.select(Notification).where(Notification.channel == NotificationChannel.EMAIL))
        mail.state, mail.attempts, mail.last_error = NotificationState.FAILED, 7, "SMTP 550: mailbox unavailable"
        session.commit()
    make_user("admin", email="admin@contoh.id")
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(base + "/masuk")
    page.get_by_label("Email").fill("admin@contoh.id")
    page.get_by_label("Kata sandi").fill(STAFF_PASSWORD)
    page.press("input[name=password]", "Enter")
    pass_two_factor(page, "admin@contoh.id")
    page.get_by_role("link", name="Surel keluar").click()
    expect(page.get_by_role("heading", name="Surel keluar", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=f"Usulan diterima: {number}")
    expect(row).to_contain_text("SMTP 550: mailbox unavailable")
    expect(row).to_contain_text("Gagal")
    assert axe_violations(page) == []
    screenshot(page, "admin-outgoing-mail-1366")
    row.get_by_role("button", name=f"Kirim ulang: Usulan diterima: {number} kepada pemilik@contoh.id").click()
    expect(page.get_by_text("Pesan kepada pemilik@contoh.id akan segera dikirim ulang.")).to_be_visible()
    expect(page.get_by_text("Tidak ada pesan yang bermasalah.")).to_be_visible()
    assert page.console_errors == []


def test_the_receipt_mail_reads_on_a_phone_and_loads_nothing_from_anywhere(live_app, page, make_world):
    from participation.notifications import delivery

    world = make_world(owner={"email": "pemilik@contoh.id", "name": "Dewi Lestari"}, title="Musrenbang Tematik Kuliner")
    number = submit(live_app, world, "Oven pengering <script>alert(1)</script>")
    with live_app.app_context():
        mail = db.session.scalar(db.select(Notification).where(Notification.channel == NotificationChannel.EMAIL))
        html = delivery.compose(mail).html
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_content(html)
    expect(page.get_by_text(number, exact=True)).to_be_visible()
    expect(page.get_by_text("Oven pengering <script>alert(1)</script>", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Buka usulan")).to_have_attribute(
        "href", f"http://127.0.0.1:5000/usulan/{mail.payload['proposal_id']}")
    assert requests == []  # no image, style sheet or font from anywhere
    assert fits(page)
    screenshot(page, "mail-receipt-390")
    assert page.console_errors == []
