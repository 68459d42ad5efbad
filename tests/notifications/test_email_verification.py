"""Email verification on registration, through a real SMTP server, on both databases: the mail in
both languages with a working link, drafts without it, submitting only with it, the throttled resend."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from participation.auth import recovery
from participation.models import AuditEvent, Notification, Proposal, User, utcnow
from tests.auth.test_register import VALID
from tests.conftest import app_db, login, post_form
from tests.notifications.conftest import parts
from tests.notifications.test_messages import send
from tests.proposals.test_proposals import submit_new

VERIFY_LINK = re.compile(r"https://musrenbang\.test/konfirmasi-email/[0-9]+\.[0-9]+\.[A-Za-z0-9_-]+")
PROMPT = "Konfirmasi alamat email Anda: buka tautan yang kami kirim ke"


def register(client, locale: str = "id"):
    if locale != "id":
        post_form(client, "/bahasa", {"locale": locale}, token_from="/daftar")
    return post_form(client, "/daftar", VALID)


def the_owner(app) -> User:
    with app_db(app) as session:
        user = session.scalar(select(User).where(User.email == VALID["email"]))
        session.expunge_all()
        return user


def mailed_link(app, smtp_server, expect: int = 1) -> str:
    send(app)
    messages = smtp_server.inbox.messages
    assert len(messages) == expect
    text, html = parts(messages[-1])
    [link] = set(VERIFY_LINK.findall(text))
    assert set(VERIFY_LINK.findall(html)) == {link}
    return link


@pytest.mark.parametrize("locale,subject,words,prompt", [
    ("id", "Konfirmasi alamat email Anda", "Selamat datang di Musrenbang Tematik", PROMPT),
    ("en", "Confirm your email address", "Welcome to Musrenbang Tematik",
     "Confirm your email address: open the link we sent to"),
])
def test_registering_mails_a_confirmation_in_the_owners_language(app, client, smtp_server, locale, subject,
                                                                  words, prompt):
    assert register(client, locale).status_code == 303
    owner = the_owner(app)
    assert owner.email_verified_at is None and owner.locale == locale
    account = client.get("/akun").get_data(as_text=True)
    assert prompt in account
    with app_db(app) as session:  # the mail only, and nothing secret in its row
        [row] = session.scalars(select(Notification)).all()
        assert row.kind == "email_verification" and set(row.payload) == {"issued_at", "expires_at", "email"}
    link = mailed_link(app, smtp_server)
    [message] = smtp_server.inbox.messages
    assert message["Subject"] == subject and message["To"].addresses[0].addr_spec == VALID["email"]
    text, html = parts(message)
    assert words in text and words in html

    page = client.get(urlsplit(link).path)
    assert page.status_code == 200
    # Opening the link changes nothing (a mail scanner may open it); the button confirms.
    assert the_owner(app).email_verified_at is None
    confirmed = post_form(client, urlsplit(link).path, {})
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/usulan/"
    assert the_owner(app).email_verified_at is not None
    assert prompt not in client.get("/akun").get_data(as_text=True)
    with app_db(app) as session:
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "user.email_verified")) == 1
    # A second confirmation is no news, and the page says so.
    again = client.get(urlsplit(link).path).get_data(as_text=True)
    assert "sudah dikonfirmasi" in again or "already confirmed" in again


def test_the_link_expires_and_a_forged_one_is_refused(app, client, smtp_server, monkeypatch):
    assert register(client).status_code == 303
    link = urlsplit(mailed_link(app, smtp_server)).path
    issued = utcnow()
    monkeypatch.setattr(recovery, "utcnow", lambda: issued + timedelta(days=8))
    expired = client.get(link)
    assert expired.status_code == 410 and "Tautan konfirmasi sudah kedaluwarsa" in expired.get_data(as_text=True)
    monkeypatch.undo()
    user_id, issued_at, mac = link.rsplit("/", 1)[1].split(".")
    assert client.get(f"/konfirmasi-email/{user_id}.{int(issued_at) + 1}.{mac}").status_code == 410
    assert client.get(link).status_code == 200


@pytest.fixture
def unverified_world(app, make_world, login_as):
    world = make_world(owner=True)
    with app_db(app) as session:
        session.get(User, world.owner).email_verified_at = None
        session.commit()
    login_as(world.owner)
    return world


def test_an_unverified_owner_writes_drafts_but_submits_only_after_confirming(app, client, unverified_world,
                                                                             smtp_server):
    world = unverified_world
    form = client.get(f"/usulan/baru/{world.session}").get_data(as_text=True)
    assert "Alamat email Anda belum dikonfirmasi: Anda dapat menyimpan usulan ini sebagai draf" in form
    refused = submit_new(client, world)
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "Konfirmasi alamat email Anda sebelum mengirim" in body and "Mesin pengemas vakum" in body
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0  # nothing half-saved
    assert submit_new(client, world, action="draft").status_code == 303

    # The prompt's button sends the link again; confirming it lets the draft go in.
    sent = post_form(client, "/akun/konfirmasi-email/kirim-ulang", {}, token_from="/akun")
    assert sent.status_code == 303
    assert "Kami telah mengirim ulang tautan konfirmasi" in client.get("/akun").get_data(as_text=True)
    link = urlsplit(mailed_link(app, smtp_server)).path
    assert post_form(client, link, {}).status_code == 303
    with app_db(app) as session:
        draft = session.scalar(select(Proposal))
        draft_id = draft.id
    assert post_form(client, f"/usulan/{draft_id}/kirim", {}, token_from=f"/usulan/{draft_id}").status_code == 303
    with app_db(app) as session:
        assert session.get(Proposal, draft_id).receipt_number is not None


def test_sending_again_is_throttled_with_the_indonesian_page(app, client, unverified_world, smtp_server):
    statuses = [post_form(client, "/akun/konfirmasi-email/kirim-ulang", {}, token_from="/akun").status_code
                for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    refused = post_form(client, "/akun/konfirmasi-email/kirim-ulang", {}, token_from="/akun")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 3000
    assert "Tautan konfirmasi sudah beberapa kali dikirim ke alamat Anda." in body and "Coba lagi dalam" in body
    with app_db(app) as session:
        assert session.scalar(select(func.count(Notification.id))) == 3


def test_staff_accounts_are_created_verified_and_get_no_prompt_or_mail(app, client, make_user,
                                                                                      login_as, smtp_server):
    admin = make_user("admin")
    login_as(admin)
    data = {"name": "Rina Perencana", "email": "rina@pemkot.example", "role": "planner",
            "password": "Sungai-Batang-Hari-Jernih-88", "password_confirm": "Sungai-Batang-Hari-Jernih-88"}
    assert post_form(client, "/admin/pengguna/baru", data).status_code == 303
    with app_db(app) as session:
        staff = session.scalar(select(User).where(User.email == "rina@pemkot.example"))
        assert staff.email_verified_at is not None
    assert PROMPT not in client.get("/akun").get_data(as_text=True)
    send(app)
    assert smtp_server.inbox.messages == []  # no confirmation mail for staff
    staff_client = app.test_client()
    assert login(staff_client, "rina@pemkot.example", "Sungai-Batang-Hari-Jernih-88").status_code == 303
