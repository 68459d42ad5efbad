"""Response headers, cookies, CSRF expiry and error pages."""
from __future__ import annotations

import re
import time

import pytest
from flask import request
from sqlalchemy import func, select

from participation.models import User
from tests.conftest import app_db, csrf_token, post_form
from tests.auth.test_register import VALID


def test_security_headers_on_every_response(client):
    for path in ("/", "/masuk", "/tidak-ada", "/static/css/app.css"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_authenticated_pages_are_not_stored(client, login_as, make_user):
    login_as(make_user())
    assert client.get("/akun").headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_templates_contain_no_inline_script_or_style(app):
    from pathlib import Path

    root = Path(app.template_folder)
    for template in root.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script in {template}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {template}"
        # Mail bodies (templates/mail/) are read by mail clients, which drop style sheets, and never
        # served under the site's CSP: they style inline. No script or remote URL there either.
        if template.relative_to(root).parts[0] != "mail":
            assert not re.search(r"\sstyle\s*=", text), f"inline style in {template}"
        assert not re.search(r"https?://", text), f"remote URL in {template}"


def test_session_cookie_flags(client, login_as, make_user):
    login_as(make_user())
    cookie = client.get_cookie("mt_session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert not cookie.secure  # development and tests run on http; production sets Secure


def test_production_sets_the_secure_cookie_flag(monkeypatch, tmp_path):
    from participation import create_app

    monkeypatch.setenv("FLASK_SECRET_KEY", "x" * 48)
    app = create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db",
                      "PUBLIC_BASE_URL": "https://musrenbang.test"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_csrf_token_lives_at_least_as_long_as_the_session(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] >= app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()


def test_expired_csrf_token_re_renders_the_form_with_the_typed_data(app, client, monkeypatch):
    # The form was opened longer ago than the token's lifetime.
    limit = app.config["WTF_CSRF_TIME_LIMIT"]
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - limit - 60)
    token = csrf_token(client, "/daftar")
    monkeypatch.setattr(time, "time", real_time)
    response = client.post("/daftar", data={**VALID, "csrf_token": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Formulir ini sudah kedaluwarsa" in body
    assert 'value="UD Keripik Tempe Bu Siti"' in body and 'value="siti.aminah@contoh.id"' in body
    fresh = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
    assert fresh != token
    with app_db(app) as session:
        assert session.scalar(select(func.count(User.id))) == 0
    # Sending again with the fresh token succeeds.
    assert client.post("/daftar", data={**VALID, "csrf_token": fresh}).status_code == 303


def test_missing_csrf_on_a_button_explains_and_reloads(client, login_as, make_user):
    login_as(make_user())
    response = client.post("/keluar")
    assert response.status_code == 400
    assert "Muat ulang halaman" in response.get_data(as_text=True)
    assert client.get("/akun").status_code == 200  # still signed in


@pytest.mark.parametrize("path,status,text", [
    ("/tidak-ada", 404, "Halaman tidak ditemukan"),
    ("/admin/pengguna", 302, None),
])
def test_error_pages_are_in_indonesian(client, path, status, text):
    response = client.get(path)
    assert response.status_code == status
    if text:
        assert text in response.get_data(as_text=True)


def test_forbidden_page_shows_no_internals(client, login_as, make_user):
    login_as(make_user())
    response = client.get("/admin/pengguna")
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Akses ditolak" in body and "role_required" not in body and "Traceback" not in body


def test_method_not_allowed_lists_the_allowed_methods(client):
    response = client.get("/keluar")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


@pytest.mark.provokes_server_error
def test_server_error_page_rolls_back_and_hides_internals(app_config, make_user, app):
    from participation import create_app
    from participation.extensions import db

    crashing = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False})
    seen_after_handler = []

    @crashing.route("/boom")
    def boom():
        db.session.add(User(email="half@contoh.id", name="Half", role="planner", password_hash="x"))
        db.session.flush()
        raise RuntimeError("secret internal detail /etc/passwd")

    # after_request hooks run on the 500 response after the error handler and before the
    # teardown that would roll back anyway: the flushed row must already be gone by then.
    @crashing.after_request
    def look_for_the_half_done_row(response):
        if request.path == "/boom":
            seen_after_handler.append(
                db.session.scalar(select(func.count(User.id)).where(User.email == "half@contoh.id"))
            )
        return response

    response = crashing.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Terjadi kesalahan" in body
    assert "secret internal detail" not in body and "Traceback" not in body
    assert seen_after_handler == [0]
    with app_db(app) as session:
        assert session.scalar(select(func.count(User.id)).where(User.email == "half@contoh.id")) == 0


def test_language_switch_to_english_and_back(client):
    assert "Masuk" in client.get("/masuk").get_data(as_text=True)
    post_form(client, "/bahasa", {"locale": "en"}, token_from="/masuk")
    page = client.get("/masuk").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page
    post_form(client, "/bahasa", {"locale": "id"}, token_from="/masuk")
    assert '<html lang="id">' in client.get("/masuk").get_data(as_text=True)


def test_language_switch_rejects_unknown_locales(client):
    assert post_form(client, "/bahasa", {"locale": "xx"}, token_from="/").status_code == 400


def test_language_choice_survives_login(app, client, make_user):
    from tests.conftest import login

    user_id = make_user()
    post_form(client, "/bahasa", {"locale": "en"}, token_from="/")
    with app_db(app) as session:
        email = session.get(User, user_id).email
    login(client, email)
    assert '<html lang="en">' in client.get("/akun").get_data(as_text=True)


def test_home_page_explains_the_platform_and_shows_the_empty_state(client):
    body = client.get("/").get_data(as_text=True)
    assert "Musrenbang Tematik adalah tempat pelaku IKM dan UMKM" in body
    assert "Saat ini belum ada musrenbang yang menerima usulan." in body
    assert 'href="#main"' in body and "Langsung ke konten utama" in body


def test_no_remote_assets_are_referenced(client):
    body = client.get("/").get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="([^"]+)"', body):
        assert not url.startswith(("http:", "https:", "//")), url


def test_a_signed_in_users_language_is_kept_through_the_service(app, client, make_user, login_as):
    from participation.models import AuditEvent

    user_id = make_user()
    login_as(user_id)
    assert post_form(client, "/bahasa", {"locale": "en"}, token_from="/").status_code == 303
    assert post_form(client, "/bahasa", {"locale": "en"}, token_from="/").status_code == 303  # no change
    with app_db(app) as session:
        assert session.get(User, user_id).locale == "en"
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.locale_set")).all()
        assert [(e.actor_id, e.object_id, e.after, e.channel) for e in events] == [
            (user_id, str(user_id), {"locale": "en"}, "web")]
    assert '<html lang="en">' in client.get("/akun").get_data(as_text=True)


@pytest.mark.parametrize("referrer", [
    "//evil.example", "https://evil.example/x", "/\\evil", "http://localhost//evil.example/x",
    "http://localhost/\\evil.example", "http://localhost/\t/evil.example", "javascript://localhost/%0aalert(1)",
    "http://localhost.evil.example/masuk", "http://evil.example@localhost.evil/x",
])
def test_language_switch_never_redirects_off_site(client, referrer):
    response = post_form(client, "/bahasa", {"locale": "en"}, token_from="/", headers={"Referer": referrer})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("referrer,expected", [
    ("http://localhost/hasil?tahun=2027", "/hasil?tahun=2027"),
    ("http://localhost/masuk", "/masuk"),
    ("/hasil", "/hasil"),
])
def test_language_switch_returns_to_the_page_it_was_pressed_on(client, referrer, expected):
    response = post_form(client, "/bahasa", {"locale": "en"}, token_from="/", headers={"Referer": referrer})
    assert response.status_code == 303 and response.headers["Location"] == expected


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil", "/\t/evil.example", "/\n/evil.example",
                                    "https://evil.example/x", "evil.example", ""])
def test_safe_next_refuses_other_hosts(target):
    from participation.security import safe_next

    assert safe_next(target) is None
    assert safe_next("/sesi/1?tab=kriteria") == "/sesi/1?tab=kriteria"
