"""Password reset by mail and by the admin's one-time link, through a real SMTP server, on both databases."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from participation.auth import recovery
from participation.models import AuditEvent, Notification, NotificationChannel, User, utcnow
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db, login, post_form
from tests.notifications.conftest import parts
from tests.notifications.test_messages import send, set_locale

OWNER_EMAIL = "siti.aminah@contoh.id"
NEW_PASSWORD = "Rendang-Padang-Pedas-2027"
RESET_LINK = re.compile(r"https://musrenbang\.test/kata-sandi-baru/[0-9]+\.[0-9]+\.[A-Za-z0-9_-]+")
CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+')


@pytest.fixture
def owner(make_user):
    return make_user("proponent", email=OWNER_EMAIL, name="Siti Aminah")


def ask(client, email: str):
    return post_form(client, "/lupa-kata-sandi", {"email": email})


def mailed_link(app, smtp_server, *, expect: int = 1) -> str:
    """Run the worker; the reset link of the last mail, the same in its text and HTML parts."""
    send(app)
    messages = smtp_server.inbox.messages
    assert len(messages) == expect
    text, html = parts(messages[-1])
    [link] = set(RESET_LINK.findall(text))
    assert set(RESET_LINK.findall(html)) == {link}
    return link


def path(link: str) -> str:
    return urlsplit(link).path


def events(app, action: str) -> list[AuditEvent]:
    with app_db(app) as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()
        session.expunge_all()
        return found


def test_the_login_page_offers_the_reset(client):
    page = client.get("/masuk").get_data(as_text=True)
    assert '<a href="/lupa-kata-sandi">Lupa kata sandi?</a>' in page
    form = client.get("/lupa-kata-sandi").get_data(as_text=True)
    assert "Masukkan alamat email akun Anda" in form and "Kirim tautan" in form


def test_known_and_unknown_addresses_get_identical_answers(app, owner, smtp_server):
    answers = []
    for email in (OWNER_EMAIL, "tidak.ada@contoh.id"):
        client = app.test_client()
        response = ask(client, email)
        followed = client.get(response.headers["Location"])
        answers.append((response.status_code, response.headers["Location"], response.get_data(),
                        followed.status_code, CSRF_VALUE.sub(r"\1", followed.get_data(as_text=True))))
    assert answers[0] == answers[1]
    status, location, _, page_status, page = answers[0]
    assert (status, location, page_status) == (303, "/lupa-kata-sandi/terkirim", 200)
    assert "Jika ada akun yang memakai alamat yang Anda masukkan" in page
    # Both requests are audited; only the account's wrote a message, email only, with no secret in it.
    requested = events(app, "password.reset_requested")
    assert [(event.after["email"], event.after["account"]) for event in requested] == [
        (OWNER_EMAIL, True), ("tidak.ada@contoh.id", False)]
    assert requested[0].object_id == str(owner) and requested[1].object_id is None
    with app_db(app) as session:
        rows = session.scalars(select(Notification)).all()
        assert [(row.kind, row.channel, row.user_id) for row in rows] == [
            ("password_reset", NotificationChannel.EMAIL, owner)]
        assert set(rows[0].payload) == {"issued_at", "expires_at", "email"}
    link = mailed_link(app, smtp_server)
    assert smtp_server.inbox.recipients == [[OWNER_EMAIL]]
    # Neither the outbox nor the audit log holds the link's secret.
    secret = link.rsplit(".", 1)[1]
    with app_db(app) as session:
        stored = json.dumps([row.payload for row in session.scalars(select(Notification))]
                            + [[event.before, event.after] for event in session.scalars(select(AuditEvent))])
    assert secret not in stored and link.rsplit("/", 1)[1] not in stored


@pytest.mark.parametrize("locale,subject,words", [
    ("id", "Pilih kata sandi baru", "Tautan berlaku sekali, sampai"),
    ("en", "Choose a new password", "The link works once, until"),
])
def test_the_mail_speaks_the_owners_language_and_the_link_works_once(app, client, owner, smtp_server,
                                                                       locale, subject, words):
    set_locale(app, owner, locale)
    assert ask(client, OWNER_EMAIL).status_code == 303
    link = mailed_link(app, smtp_server)
    [message] = smtp_server.inbox.messages
    assert message["Subject"] == subject
    text, html = parts(message)
    assert words in text and words in html and OWNER_EMAIL in text
    assert "<img" not in html

    page = client.get(path(link))
    assert page.status_code == 200 and "Pilih kata sandi baru" in page.get_data(as_text=True)
    response = post_form(client, path(link), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/masuk"
    assert "Kata sandi Anda telah diganti" in client.get("/masuk").get_data(as_text=True)
    assert login(app.test_client(), OWNER_EMAIL, TEST_PASSWORD).status_code == 401
    assert login(app.test_client(), OWNER_EMAIL, NEW_PASSWORD).status_code == 303
    [reset] = events(app, "user.password_reset")
    assert reset.object_id == str(owner)

    # Used once: the same link is dead, for reading and for sending.
    again = client.get(path(link))
    assert again.status_code == 410 and "Tautan ini tidak berlaku lagi" in again.get_data(as_text=True)
    assert post_form(client, path(link), {"password": "Soto-Betawi-Gurih-2028", "password_confirm":
                                          "Soto-Betawi-Gurih-2028"}, token_from="/masuk").status_code == 410
    assert login(app.test_client(), OWNER_EMAIL, NEW_PASSWORD).status_code == 303


def test_the_link_expires_after_30_minutes(app, client, owner, smtp_server, monkeypatch):
    assert ask(client, OWNER_EMAIL).status_code == 303
    link = mailed_link(app, smtp_server)
    issued = utcnow()
    monkeypatch.setattr(recovery, "utcnow", lambda: issued + timedelta(minutes=29))
    assert client.get(path(link)).status_code == 200
    monkeypatch.setattr(recovery, "utcnow", lambda: issued + timedelta(minutes=31))
    assert client.get(path(link)).status_code == 410
    response = post_form(client, path(link), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
                         token_from="/masuk")
    assert response.status_code == 410
    assert login(app.test_client(), OWNER_EMAIL, TEST_PASSWORD).status_code == 303


def test_the_link_dies_when_the_password_changes_another_way(app, client, owner, smtp_server, login_as):
    assert ask(app.test_client(), OWNER_EMAIL).status_code == 303
    link = mailed_link(app, smtp_server)
    login_as(owner)
    changed = post_form(client, "/akun/kata-sandi", {"current_password": TEST_PASSWORD, "password": NEW_PASSWORD,
                                                     "password_confirm": NEW_PASSWORD}, token_from="/akun")
    assert changed.status_code == 303
    assert app.test_client().get(path(link)).status_code == 410


def test_a_replayed_old_session_cookie_is_refused_after_a_reset(app, client, owner, smtp_server, login_as):
    login_as(owner)
    assert client.get("/akun").status_code == 200
    old_cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    stolen = app.test_client()
    stolen.set_cookie(old_cookie.key, old_cookie.value)
    assert stolen.get("/akun").status_code == 200  # the copied cookie works before the reset

    browser = app.test_client()
    assert ask(browser, OWNER_EMAIL).status_code == 303
    link = mailed_link(app, smtp_server)
    assert post_form(browser, path(link), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
                     ).status_code == 303
    for replay in (client, stolen):
        response = replay.get("/akun")
        assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_the_new_password_follows_the_policy(app, client, owner, smtp_server):
    assert ask(client, OWNER_EMAIL).status_code == 303
    link = mailed_link(app, smtp_server)
    weak = post_form(client, path(link), {"password": "siti12345", "password_confirm": "siti12345"})
    assert weak.status_code == 400
    body = weak.get_data(as_text=True)
    assert "Pilih kata sandi baru" in body and 'class="invalid-feedback' in body
    mismatch = post_form(client, path(link), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 400 and "Kedua kata sandi tidak sama." in mismatch.get_data(as_text=True)
    assert login(app.test_client(), OWNER_EMAIL, TEST_PASSWORD).status_code == 303  # nothing changed
    assert client.get(path(link)).status_code == 200  # and the link still works


@pytest.fixture
def limited(app_config):
    return {**app_config, "RESET_REQUEST_LIMIT": 3, "RESET_REQUEST_IP_LIMIT": 5}


def test_requests_are_throttled_per_address_and_per_ip_alike_for_unknown_addresses(limited):
    from participation import create_app
    from tests.test_abuse_limits import from_ip

    app = create_app(dict(limited))
    with app.app_context():
        from participation.extensions import db

        db.session.add(User(email="kedua@contoh.id", name="Kedua", role="proponent", password_hash="x",
                            email_verified_at=utcnow()))
        db.session.commit()
    answers = {}
    for email in ("kedua@contoh.id", "tidak.ada@contoh.id"):
        statuses = [ask(from_ip(app, f"203.0.113.{n}"), email).status_code for n in range(4)]
        refused = ask(from_ip(app, "203.0.113.9"), email)
        # The form comes back with the address as typed; apart from it, the same page.
        assert 3500 < int(refused.headers["Retry-After"]) <= 3600
        page = CSRF_VALUE.sub(r"\1", refused.get_data(as_text=True)).replace(email, "EMAIL")
        answers[email] = (statuses, refused.status_code, page)
    assert answers["kedua@contoh.id"] == answers["tidak.ada@contoh.id"]
    statuses, status, body = answers["kedua@contoh.id"]
    assert statuses == [303, 303, 303, 429] and status == 429
    assert "Atur ulang kata sandi sudah beberapa kali diminta untuk alamat ini." in body
    assert "Coba lagi dalam 60 menit." in body and 'lang="id"' in body
    # Per IP: five requests for five addresses, then the sixth from there is refused.
    network = [ask(from_ip(app, "198.51.100.7"), f"orang{n}@contoh.id").status_code for n in range(6)]
    assert network == [303] * 5 + [429]
    refused = ask(from_ip(app, "198.51.100.7"), "orang9@contoh.id").get_data(as_text=True)
    assert "Banyak pengaturan ulang kata sandi telah diminta dari jaringan Anda." in refused
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_admin_hands_over_a_one_time_link(app, client, owner, make_user, login_as, smtp_server):
    admin = make_user("admin")
    planner = make_user("planner")
    login_as(admin)
    users_page = client.get("/admin/pengguna").get_data(as_text=True)
    assert f'action="/admin/pengguna/{owner}/tautan-kata-sandi"' in users_page
    assert f'action="/admin/pengguna/{planner}/tautan-kata-sandi"' not in users_page  # owners only
    response = post_form(client, f"/admin/pengguna/{owner}/tautan-kata-sandi", {}, token_from="/admin/pengguna")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "Tautan kata sandi sekali pakai untuk Siti Aminah" in page and "Tautan hanya ditampilkan sekarang" in page
    [link] = RESET_LINK.findall(page)
    [issued] = events(app, "user.reset_link_issued")
    assert issued.object_id == str(owner) and issued.actor_id == admin
    assert link.rsplit("/", 1)[1] not in json.dumps([issued.before, issued.after])
    send(app)
    assert smtp_server.inbox.messages == []  # handed over, never mailed

    owner_browser = app.test_client()
    assert post_form(owner_browser, path(link), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
                     ).status_code == 303
    assert login(app.test_client(), OWNER_EMAIL, NEW_PASSWORD).status_code == 303
    assert owner_browser.get(path(link)).status_code == 410
    refused = post_form(client, f"/admin/pengguna/{planner}/tautan-kata-sandi", {}, token_from="/admin/pengguna")
    assert refused.status_code == 404
    assert login(app.test_client(), _email(app, planner), STAFF_PASSWORD).status_code == 303


def _email(app, user_id: int) -> str:
    with app_db(app) as session:
        return session.get(User, user_id).email
