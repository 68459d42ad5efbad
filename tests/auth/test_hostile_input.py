"""Hostile input on registration and login: never a server error, never half-saved.

Runs on SQLite and on PostgreSQL (which refuses NUL bytes and over-long values that SQLite
would store silently).
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from participation.models import AuditEvent, Business, User
from tests.auth.test_register import VALID
from tests.conftest import app_db, csrf_token
from tests.hostile import HOSTILE, is_server_error

REGISTER_FIELDS = [key for key in VALID if key != "agree"] + ["agree"]


def _counts(app):
    with app_db(app) as session:
        return (session.scalar(select(func.count(User.id))),
                session.scalar(select(func.count(Business.id))))


@pytest.mark.parametrize("field", REGISTER_FIELDS)
def test_registration_survives_hostile_values_in_every_field(app, field):
    for number, (name, payload) in enumerate(HOSTILE.items()):
        client = app.test_client()
        before = _counts(app)
        data = {**VALID, "email": f"pemilik{number}@contoh.id", field: payload,
                "csrf_token": csrf_token(client, "/daftar")}
        if field == "password":
            data["password_confirm"] = payload
        response = client.post("/daftar", data=data)
        assert not is_server_error(response), f"{field}={name}: {response.status_code}"
        after = _counts(app)
        if response.status_code == 303:
            assert after == (before[0] + 1, before[1] + 1), f"{field}={name}"
            _check_stored_verbatim(app, client, field, payload, name)
        else:
            assert response.status_code == 400, f"{field}={name}: {response.status_code}"
            assert after == before, f"{field}={name} saved something"
            body = response.get_data(as_text=True)
            assert "Mohon perbaiki isian berikut" in body, f"{field}={name}: no error summary"
            assert "<script>alert" not in body
            assert 'value="49"' not in body and ">49<" not in body, f"{field}={name} evaluated"


def _check_stored_verbatim(app, client, field, payload, name):
    """Accepted text is stored as typed (trimmed) and shown escaped, never evaluated."""
    page = client.get("/akun").get_data(as_text=True)
    assert "<script>alert" not in page, f"{field}={name} rendered unescaped"
    assert "<img src=x" not in page, f"{field}={name} rendered unescaped"
    if name == "template" and field in {"name", "business_name"}:
        assert "{{7*7}}" in page and ">49<" not in page


@pytest.mark.parametrize("field", ["email", "password", "next"])
def test_login_survives_hostile_values(app, client, field, make_user):
    make_user(email="budi@contoh.id")
    for name, payload in HOSTILE.items():
        data = {"email": "budi@contoh.id", "password": "Salah-Sandi-9999", field: payload,
                "csrf_token": csrf_token(client, "/masuk")}
        response = client.post("/masuk", data=data)
        assert not is_server_error(response), f"{field}={name}: {response.status_code}"
        assert response.status_code in (400, 401, 429), f"{field}={name}: {response.status_code}"
    with app_db(app) as session:
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "login.success")) == 0


def test_wrong_types_and_shapes_are_client_errors(app, client):
    token = csrf_token(client, "/daftar")
    cases = [
        {"json": {**VALID, "csrf_token": token}},
        {"data": b"\xff\xfe\xfd=\xff", "content_type": "application/x-www-form-urlencoded"},
        {"data": {**VALID, "csrf_token": token, "capital": "1,5"}},
        {"data": {**VALID, "csrf_token": token, "workforce_men": "3.7"}},
        {"data": {**VALID, "csrf_token": token, "cert_halal": "y", "agree": ""}},
    ]
    for case in cases:
        response = client.post("/daftar", **case)
        assert response.status_code == 400, case
    assert _counts(app) == (0, 0)


def test_repeated_fields_use_the_first_value(app, client):
    token = csrf_token(client, "/daftar")
    data = {**VALID, "csrf_token": token, "nib": ["1234567890123", "<script>"],
            "scale": ["mikro", "raksasa"], "workforce_men": ["1", "x"]}
    assert client.post("/daftar", data=data).status_code == 303
    with app_db(app) as session:
        business = session.scalar(select(Business))
        assert (business.nib, business.scale.value, business.workforce_men) == ("1234567890123", "mikro", 1)


def test_oversized_body_gets_413(app, client):
    token = csrf_token(client, "/daftar")
    response = client.post("/daftar", data={**VALID, "csrf_token": token,
                                            "address": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)})
    assert response.status_code == 413
    assert "melebihi batas ukuran" in response.get_data(as_text=True)


def test_invalid_utf8_in_a_field_is_refused_cleanly(app, client):
    token = csrf_token(client, "/masuk")
    body = b"email=%FF%FE%40contoh.id&password=abc&csrf_token=" + token.encode()
    response = client.post("/masuk", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 401)
