"""Behind a load balancer (DESIGN §8): `GET /healthz`, and TRUSTED_PROXIES turning on ProxyFix."""
from __future__ import annotations

import re
import socket

import pytest
from flask import request, url_for
from sqlalchemy import event, select
from werkzeug.middleware.proxy_fix import ProxyFix

from participation.config import ConfigError
from participation.models import AuditEvent, RateLimitHit
from tests.conftest import app_db, csrf_token


def _healthz(client):
    response = client.get("/healthz")
    return response.status_code, response.get_json(), response


def test_healthz_is_ok_when_the_database_answers(client):
    status, body, response = _healthz(client)
    assert (status, body) == (200, {"status": "ok"})
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_an_anonymous_probe_runs_only_its_select_1(app, client):
    """The session-lifetime hook loads no user for a request without a session cookie."""
    from participation.extensions import db

    statements = []
    with app.app_context():
        engine = db.engine

    def remember(conn, cursor, statement, parameters, context, executemany):
        if not statement.upper().startswith(("BEGIN", "PRAGMA QUERY_ONLY")):  # how a transaction starts
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        assert client.get("/healthz").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert statements == ["SELECT 1"]


@pytest.fixture
def refused_port():
    """A local TCP port that refuses connections: bound, never listening, held for the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_healthz_is_unavailable_when_the_database_is_not(kind, refused_port, tmp_path, monkeypatch):
    from participation import create_app
    from participation.extensions import db

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    missing_dir = tmp_path / "not-yet-mounted"
    url = {
        "sqlite": f"sqlite:///{missing_dir / 'participation.db'}",
        "postgresql": f"postgresql+psycopg://postgres@127.0.0.1:{refused_port}/musrenbang",
    }[kind]
    # Start-up itself needs no connection: a worker whose database is down still starts and says so.
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url})
    client = app.test_client()
    try:
        for _ in range(2):  # the failed attempt was rolled back: the next probe fails the same way
            status, body, response = _healthz(client)
            assert (status, body) == (503, {"status": "unavailable"})
            assert response.headers["Cache-Control"] == "no-store"
            assert "Set-Cookie" not in response.headers
        if kind == "sqlite":
            missing_dir.mkdir()  # the database comes back: the same worker recovers, no restart
            assert _healthz(client)[:2] == (200, {"status": "ok"})
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def build_app(app_config):
    """Factory: build_app(**overrides) -> an app on the test database, its engine disposed afterwards."""
    from participation import create_app
    from participation.extensions import db

    built = []

    def factory(**overrides):
        application = create_app({**app_config, **overrides})
        built.append(application)
        return application

    yield factory
    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _probe_route(app):
    """A view that reports what the app believes about the request, as a template would see it."""

    @app.route("/_probe")
    def probe():
        return {"scheme": request.scheme, "remote_addr": request.remote_addr,
                "login_url": url_for("auth.login", _external=True)}


FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "musrenbang.example.go.id",
    "X-Forwarded-Prefix": "/tematik",
}


def _fail_login(app, client, headers):
    """A wrong password posted through the login form; returns the audited and throttled IPs."""
    token = csrf_token(client, "/masuk")
    response = client.post("/masuk", data={"csrf_token": token, "email": "tidak.ada@contoh.id",
                                           "password": "Salah-Sandi-9999"}, headers=headers)
    assert response.status_code == 401, response.get_data(as_text=True)[:500]
    with app_db(app) as session:
        audited = session.scalars(select(AuditEvent.ip).where(AuditEvent.action == "login.failure")).all()
        counted = session.scalars(select(RateLimitHit.ip).where(RateLimitHit.scope == "login.account")).all()
    return audited, counted


def test_one_trusted_proxy_gives_the_client_ip_and_the_public_url(build_app):
    app = build_app(TRUSTED_PROXIES=1)
    _probe_route(app)
    client = app.test_client()

    seen = client.get("/_probe", headers=FORWARDED).get_json()
    assert seen == {"scheme": "https", "remote_addr": "203.0.113.7",
                    "login_url": "https://musrenbang.example.go.id/tematik/masuk"}

    # Over https Flask-WTF also checks that the Referer is the (forwarded) host itself.
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
               "Referer": "https://localhost/masuk"}
    assert _fail_login(app, client, headers) == (["203.0.113.7"], ["203.0.113.7"])


def test_only_the_hop_our_proxy_added_is_believed(build_app):
    """A client's own X-Forwarded-For entry (left of the proxy's) cannot choose the audited IP."""
    app = build_app(TRUSTED_PROXIES=1)
    client = app.test_client()
    audited, _ = _fail_login(app, client, {"X-Forwarded-For": "198.51.100.66, 203.0.113.7"})
    assert audited == ["203.0.113.7"]


def test_without_trusted_proxies_forwarded_headers_are_ignored(build_app):
    app = build_app()
    assert app.config["TRUSTED_PROXIES"] == 0 and not isinstance(app.wsgi_app, ProxyFix)
    _probe_route(app)
    client = app.test_client()

    seen = client.get("/_probe", headers=FORWARDED).get_json()
    assert seen == {"scheme": "http", "remote_addr": "127.0.0.1", "login_url": "http://localhost/masuk"}
    assert _fail_login(app, client, {"X-Forwarded-For": "203.0.113.7"}) == (["127.0.0.1"], ["127.0.0.1"])


def _development_app(monkeypatch, tmp_path, trusted_proxies: str):
    from participation import create_app

    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TRUSTED_PROXIES", trusted_proxies)
    return create_app()


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
def test_trusted_proxies_must_be_a_count(monkeypatch, tmp_path, value):
    with pytest.raises(ConfigError, match=rf"TRUSTED_PROXIES must be a whole number .* not '?{re.escape(value)}'?$"):
        _development_app(monkeypatch, tmp_path, value)


@pytest.mark.parametrize("value", [-1, "2", True])
def test_trusted_proxies_given_in_code_must_be_a_count(build_app, value):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        build_app(TRUSTED_PROXIES=value)


def test_trusted_proxies_comes_from_the_environment(monkeypatch, tmp_path):
    app = _development_app(monkeypatch, tmp_path, " 2 ")
    assert app.config["TRUSTED_PROXIES"] == 2
    assert isinstance(app.wsgi_app, ProxyFix)
    assert (app.wsgi_app.x_for, app.wsgi_app.x_proto, app.wsgi_app.x_host, app.wsgi_app.x_prefix) == (2, 2, 2, 2)
    assert _development_app(monkeypatch, tmp_path, "0").config["TRUSTED_PROXIES"] == 0
