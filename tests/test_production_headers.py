"""Production headers (issue 16): HSTS, the __Host- session cookie, and /.well-known/security.txt."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from participation.config import ConfigError
from tests.conftest import csrf_token

HTTPS = "https://localhost"


@pytest.fixture
def production_app(app_config, monkeypatch):
    """The production configuration on the test database (migrated, empty)."""
    from participation import create_app
    from participation.extensions import db

    monkeypatch.setenv("FLASK_SECRET_KEY", "p" * 48)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    application = create_app({**app_config, "APP_ENV": "production", "PUBLIC_BASE_URL": "https://musrenbang.test",
                              # hashing as in the tests, so that signing in stays quick
                              "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1})
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_production_sends_hsts_on_pages_and_static_files(production_app):
    client = production_app.test_client()
    for path in ("/", "/masuk", "/tidak-ada", "/static/css/app.css", "/healthz"):
        response = client.get(path, base_url=HTTPS)
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000", path
        # no includeSubDomains: other sites of the city may live under the same domain
        assert "includeSubDomains" not in response.headers["Strict-Transport-Security"]


def test_development_and_tests_send_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    assert "Strict-Transport-Security" not in client.get("/", base_url=HTTPS).headers


def test_production_signs_in_with_a_host_prefixed_secure_cookie(production_app):
    from participation.auth.passwords import hash_password
    from participation.extensions import db
    from participation.models import Role, User
    from tests.conftest import TEST_PASSWORD
    from tests.factories import make_business

    with production_app.app_context():
        user = User(email="pemilik@contoh.id", name="Pemilik", role=Role.PROPONENT,
                    password_hash=hash_password(TEST_PASSWORD))
        db.session.add(user)
        make_business(user)
        db.session.commit()
    client = production_app.test_client()
    token = csrf_token(client, f"{HTTPS}/masuk")
    response = client.post("/masuk", base_url=HTTPS, headers={"Referer": f"{HTTPS}/masuk"},
                           data={"csrf_token": token, "email": "pemilik@contoh.id", "password": TEST_PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    [set_cookie] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("__Host-mt_session=")]
    attributes = [part.strip().lower() for part in set_cookie.split(";")[1:]]
    assert "secure" in attributes and "httponly" in attributes and "path=/" in attributes
    assert "samesite=lax" in attributes
    assert not any(part.startswith("domain=") for part in attributes)
    assert client.get_cookie("mt_session") is None
    # The browser sends it back and the owner is signed in.
    account = client.get("/akun", base_url=HTTPS)
    assert account.status_code == 200 and "pemilik@contoh.id" in account.get_data(as_text=True)


@pytest.mark.parametrize("override", [{"SESSION_COOKIE_SECURE": False}, {"SESSION_COOKIE_DOMAIN": "example.go.id"},
                                      {"SESSION_COOKIE_PATH": "/tematik"}])
def test_a_host_prefixed_cookie_that_browsers_would_drop_is_refused(production_app, app_config, override):
    from participation import create_app

    with pytest.raises(ConfigError, match="__Host-mt_session needs SESSION_COOKIE_SECURE"):
        create_app({**app_config, "APP_ENV": "production", "PUBLIC_BASE_URL": "https://musrenbang.test", **override})


def _security_txt(client):
    response = client.get("/.well-known/security.txt")
    return response, response.get_data(as_text=True)


def _fields(body: str) -> list[tuple[str, str]]:
    return [tuple(line.split(": ", 1)) for line in body.splitlines()]


def test_security_txt_names_the_contact_an_expiry_and_the_languages(client):
    before = datetime.now(UTC).replace(microsecond=0)
    response, body = _security_txt(client)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Set-Cookie" not in response.headers
    fields = _fields(body)
    assert [name for name, _ in fields] == ["Contact", "Expires", "Preferred-Languages"]
    assert fields[0][1] == "mailto:keamanan@contoh.id"
    assert fields[2][1] == "id, en"
    expires = datetime.strptime(fields[1][1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    # recomputed per request, so it never lapses; under a year ahead, as RFC 9116 recommends
    assert before + timedelta(days=180) <= expires <= datetime.now(UTC) + timedelta(days=180)


def test_security_txt_takes_the_contact_and_canonical_url_from_the_environment(monkeypatch, tmp_path):
    from participation import create_app

    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/d.db")
    monkeypatch.setenv("SECURITY_CONTACT", "keamanan@kota.go.id, https://kota.go.id/lapor-celah")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://musrenbang.kota.go.id/")
    _, body = _security_txt(create_app().test_client())
    fields = _fields(body)
    assert fields[:2] == [("Contact", "mailto:keamanan@kota.go.id"), ("Contact", "https://kota.go.id/lapor-celah")]
    assert fields[-1] == ("Canonical", "https://musrenbang.kota.go.id/.well-known/security.txt")


def test_security_txt_falls_back_to_the_mail_sender_and_is_absent_without_any_contact(app_config):
    from participation import create_app

    sender = create_app({**app_config, "SECURITY_CONTACT": None,
                         "MAIL_DEFAULT_SENDER": "Musrenbang Kota <noreply@kota.go.id>"})
    assert _fields(_security_txt(sender.test_client())[1])[0] == ("Contact", "mailto:noreply@kota.go.id")
    nobody = create_app({**app_config, "SECURITY_CONTACT": None})
    response, body = _security_txt(nobody.test_client())
    assert response.status_code == 404 and "Contact:" not in body


@pytest.mark.parametrize("contact", ["keamanan", "http://kota.go.id/lapor", "javascript:alert(1)", "tel:"])
def test_a_contact_a_reporter_could_not_use_is_refused_at_start_up(app_config, contact):
    from participation import create_app

    with pytest.raises(ConfigError, match="SECURITY_CONTACT must be"):
        create_app({**app_config, "SECURITY_CONTACT": contact})
