"""The hostile corpus on every form and link of account recovery, on both databases, and user text
arriving literally in the recovery mails."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from participation.auth import recovery
from participation.models import AuditEvent, Notification, User, utcnow
from tests.conftest import app_db, csrf_token, post_form
from tests.hostile import HOSTILE, is_server_error
from tests.notifications.conftest import parts
from tests.notifications.test_messages import send

EMAIL = "siti.aminah@contoh.id"
PASSWORD = "Rendang-Padang-Pedas-2027"


def token(app, user_id: int, purpose: str = recovery.RESET) -> str:
    with app_db(app) as session:
        return recovery.make_token(purpose, session.get(User, user_id), utcnow())


def password_hash(app, user_id: int) -> str:
    with app_db(app) as session:
        return session.get(User, user_id).password_hash


def check(response, label: str):
    assert not is_server_error(response), f"{label}: {response.status_code}"
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body and "<img src=x" not in body, f"{label} unescaped"
    assert ">49<" not in body and 'value="49"' not in body, f"{label} evaluated"
    return body


def test_the_request_form_survives_every_payload(app, client, make_user):
    make_user("proponent", email=EMAIL)
    for label, payload in HOSTILE.items():
        token_value = csrf_token(client, "/lupa-kata-sandi")
        response = client.post("/lupa-kata-sandi", data={"email": payload, "csrf_token": token_value})
        check(response, label)
        assert response.status_code in (303, 400), f"{label}: {response.status_code}"
    with app_db(app) as session:  # only well-formed addresses were counted as requests
        assert session.scalar(select(func.count(Notification.id))) == 0


def test_the_new_password_form_survives_every_payload(app, client, make_user):
    owner = make_user("proponent", email=EMAIL)
    before = password_hash(app, owner)
    url = f"/kata-sandi-baru/{token(app, owner)}"
    for field in ("password", "password_confirm"):
        for label, payload in HOSTILE.items():
            data = {"password": PASSWORD, "password_confirm": PASSWORD, field: payload,
                    "csrf_token": csrf_token(client, url)}
            response = client.post(url, data=data)
            check(response, f"{field}={label}")
            assert response.status_code == 400, f"{field}={label}: {response.status_code}"
            assert password_hash(app, owner) == before, f"{field}={label} changed the password"
    assert client.get(url).status_code == 200  # the link still works


@pytest.mark.parametrize("prefix", ["/kata-sandi-baru/", "/konfirmasi-email/"])
def test_hostile_tokens_are_client_errors(app, client, make_user, prefix):
    owner = make_user("proponent", email=EMAIL)
    valid = token(app, owner, recovery.RESET if "sandi" in prefix else recovery.VERIFY)
    user_id, issued, mac = valid.split(".")
    tokens = {**{label: quote(payload, safe="") for label, payload in HOSTILE.items()},
              "huge_id": f"{'9' * 400}.{issued}.{mac}", "huge_time": f"{user_id}.{'9' * 400}.{mac}",
              "negative_time": f"{user_id}.-5.{mac}", "empty_mac": f"{user_id}.{issued}.",
              "other_purpose": token(app, owner, recovery.VERIFY if "sandi" in prefix else recovery.RESET),
              "unknown_user": f"99999.{issued}.{mac}", "many_dots": f"{valid}.{mac}"}
    for label, value in tokens.items():
        for method in ("GET", "POST"):
            data = {"csrf_token": csrf_token(client, "/masuk"), "password": PASSWORD, "password_confirm": PASSWORD}
            response = client.open(prefix + value, method=method, data=data if method == "POST" else None)
            check(response, f"{method} {label}")
            assert response.status_code in (404, 410), f"{method} {label}: {response.status_code}"
    with app_db(app) as session:
        assert session.get(User, owner).email_verified_at is not None
        assert session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action.in_(["user.password_reset", "user.email_verified"]))) == 0


def test_buttons_survive_hostile_extra_fields(app, client, make_user, login_as):
    admin, owner = make_user("admin"), make_user("proponent", email=EMAIL)
    login_as(admin)
    for label, payload in HOSTILE.items():
        response = client.post(f"/admin/pengguna/{owner}/tautan-kata-sandi",
                               data={"csrf_token": csrf_token(client, "/admin/pengguna"), "user_id": payload})
        check(response, f"admin link {label}")
        assert response.status_code == 200
    owner_client = app.test_client()
    with app_db(app) as session:
        session.get(User, owner).email_verified_at = None
        session.commit()
    from tests.conftest import login

    assert login(owner_client, EMAIL).status_code == 303
    for label, payload in list(HOSTILE.items())[:3]:  # three resends are allowed per hour
        response = owner_client.post("/akun/konfirmasi-email/kirim-ulang",
                                     data={"csrf_token": csrf_token(owner_client, "/akun"), "email": payload})
        check(response, f"resend {label}")
        assert response.status_code == 303
    url = f"/konfirmasi-email/{token(app, owner, recovery.VERIFY)}"
    response = owner_client.post(url, data={"csrf_token": csrf_token(owner_client, url), "email": HOSTILE["sql"]})
    assert response.status_code == 303


def test_user_text_arrives_literally_in_the_recovery_mails(app, client, make_user, smtp_server):
    name = "{{7*7}} <script>alert('xss')</script>"
    make_user("proponent", email=EMAIL, name=name)
    assert post_form(client, "/lupa-kata-sandi", {"email": EMAIL}).status_code == 303
    send(app)
    [message] = smtp_server.inbox.messages
    text, html = parts(message)
    assert "Yth. {{7*7}} <script>alert('xss')</script>" in text
    assert "{{7*7}} &lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in html and "<script>" not in html
    assert "49" not in text.split("\n", 1)[0]
