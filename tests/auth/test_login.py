"""Signing in and out: sessions, epochs, timeouts, throttling, rehashing."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from participation.models import AuditEvent, RateLimitHit, User
from tests.conftest import TEST_PASSWORD, app_db, csrf_token, login, post_form


def _user(app, user_id) -> User:
    with app.app_context():
        from participation.extensions import db

        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_login_success_redirects_with_303_and_opens_account(app, client, make_user):
    user_id = make_user()
    user = _user(app, user_id)
    response = login(client, user.email)
    assert response.status_code == 303
    assert client.get("/akun").status_code == 200


def test_login_is_case_insensitive_on_email(app, client, make_user):
    user = _user(app, make_user(email="Budi.Santoso@Contoh.id".lower()))
    assert login(client, "  BUDI.santoso@contoh.ID ").status_code == 303
    assert user.email == "budi.santoso@contoh.id"


def test_wrong_password_is_refused_with_a_generic_message(app, client, make_user):
    user = _user(app, make_user())
    response = login(client, user.email, "Salah-Sandi-9999")
    assert response.status_code == 401
    assert "Email atau kata sandi salah." in response.get_data(as_text=True)
    assert client.get("/akun").status_code == 302


def test_unknown_email_answers_like_a_wrong_password(client):
    response = login(client, "tidak.ada@contoh.id", "Salah-Sandi-9999")
    assert response.status_code == 401
    assert "Email atau kata sandi salah." in response.get_data(as_text=True)


def test_login_keeps_the_typed_email_on_failure(app, client, make_user):
    user = _user(app, make_user())
    body = login(client, user.email, "Salah-Sandi-9999").get_data(as_text=True)
    assert f'value="{user.email}"' in body
    assert 'name="password"' in body and TEST_PASSWORD not in body


def test_login_clears_the_previous_session(app, client, make_user):
    user = _user(app, make_user())
    with client.session_transaction() as session:
        session["planted"] = "by an attacker before login"
    login(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{user.id}:{user.session_epoch}"


def test_logout_is_post_only(app, client, make_user):
    login(client, _user(app, make_user()).email)
    assert client.get("/keluar").status_code == 405
    assert client.get("/akun").status_code == 200


def test_cookie_copied_before_logout_is_refused_afterwards(app, make_user):
    user = _user(app, make_user())
    victim = app.test_client()
    login(victim, user.email)
    stolen = victim.get_cookie("mt_session").value

    response = post_form(victim, "/keluar", {}, token_from="/akun")
    assert response.status_code == 303

    attacker = app.test_client()
    attacker.set_cookie("mt_session", stolen)
    response = attacker.get("/akun")
    assert response.status_code == 302
    assert "/masuk" in response.headers["Location"]


def test_password_change_ends_other_sessions_but_keeps_this_one(app, make_user):
    user = _user(app, make_user())
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user.email)
    login(elsewhere, user.email)
    new_password = "Gudeg-Krecek-Manggar-2027"
    response = post_form(here, "/akun/kata-sandi", {
        "current_password": TEST_PASSWORD, "password": new_password, "password_confirm": new_password,
    }, token_from="/akun")
    assert response.status_code == 303
    assert here.get("/akun").status_code == 200
    assert elsewhere.get("/akun").status_code == 302
    assert login(app.test_client(), user.email, new_password).status_code == 303
    assert login(app.test_client(), user.email, TEST_PASSWORD).status_code == 401


def test_password_change_with_wrong_current_password_changes_nothing(app, client, make_user):
    user = _user(app, make_user())
    login(client, user.email)
    response = post_form(client, "/akun/kata-sandi", {
        "current_password": "Bukan-Sandi-Lama-1", "password": "Gudeg-Krecek-Manggar-2027",
        "password_confirm": "Gudeg-Krecek-Manggar-2027",
    }, token_from="/akun")
    assert response.status_code == 400
    assert "Kata sandi saat ini salah." in response.get_data(as_text=True)
    assert _user(app, user.id).password_hash == user.password_hash


def test_deactivation_ends_the_session_immediately(app, make_user):
    user = _user(app, make_user())
    admin = _user(app, make_user("admin"))
    owner_client, admin_client = app.test_client(), app.test_client()
    login(owner_client, user.email)
    from tests.conftest import STAFF_PASSWORD

    login(admin_client, admin.email, STAFF_PASSWORD)
    response = post_form(admin_client, f"/admin/pengguna/{user.id}/aktif", {"active": "0"},
                         token_from="/admin/pengguna")
    assert response.status_code == 303
    assert owner_client.get("/akun").status_code == 302
    response = login(app.test_client(), user.email)
    assert response.status_code == 403
    assert "dinonaktifkan" in response.get_data(as_text=True)


@pytest.mark.parametrize("setting,key", [
    ("SESSION_IDLE_TIMEOUT", "_seen_at"),
    ("SESSION_ABSOLUTE_LIFETIME", "_auth_at"),
])
def test_sessions_expire_when_idle_or_too_old(app, client, make_user, setting, key):
    login(client, _user(app, make_user()).email)
    limit = app.config[setting].total_seconds()
    with client.session_transaction() as session:
        session[key] = int(time.time() - limit - 5)
    response = client.get("/akun")
    assert response.status_code == 302
    assert "/masuk" in response.headers["Location"]
    assert client.get("/akun").status_code == 302  # and the session stays ended


def test_activity_keeps_an_idle_session_alive(app, client, make_user):
    login(client, _user(app, make_user()).email)
    limit = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
    with client.session_transaction() as session:
        session["_seen_at"] = int(time.time() - limit + 120)
    assert client.get("/akun").status_code == 200
    with client.session_transaction() as session:
        assert session["_seen_at"] >= int(time.time()) - 5


def test_open_redirects_are_refused_after_login(app, client, make_user):
    user = _user(app, make_user())
    token = csrf_token(client, "/masuk")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post("/masuk", data={"email": user.email, "password": TEST_PASSWORD,
                                                "next": target, "csrf_token": token})
        assert response.status_code == 303
        assert "evil" not in response.headers["Location"]
        post_form(client, "/keluar", {}, token_from="/akun")
        token = csrf_token(client, "/masuk")


def test_next_leads_back_to_the_requested_page(app, client, make_user):
    user = _user(app, make_user())
    response = client.get("/akun")
    assert response.status_code == 302
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/akun' in login_page
    token = csrf_token(client, "/masuk")
    response = client.post("/masuk", data={"email": user.email, "password": TEST_PASSWORD,
                                            "next": "/akun", "csrf_token": token})
    assert response.headers["Location"].endswith("/akun")


def _failures(app, email):
    with app_db(app) as session:
        return session.scalar(select(func.count(RateLimitHit.id)).where(
            RateLimitHit.scope == "login.account", RateLimitHit.key == email))


def test_throttle_allows_ten_failed_checks_then_refuses_without_checking(app, client, make_user):
    user = _user(app, make_user())
    for _ in range(10):
        assert login(client, user.email, "Salah-Sandi-9999").status_code == 401
    response = login(client, user.email, TEST_PASSWORD)  # the right password, but too late
    assert response.status_code == 429
    assert "Terlalu banyak percobaan" in response.get_data(as_text=True)
    assert _failures(app, user.email) == 10
    # Another account is not affected.
    other = _user(app, make_user())
    assert login(app.test_client(), other.email).status_code == 303


def test_throttle_window_slides_so_there_is_no_permanent_lockout(app, client, make_user):
    user = _user(app, make_user())
    for _ in range(10):
        login(client, user.email, "Salah-Sandi-9999")
    assert login(client, user.email).status_code == 429
    with app_db(app) as session:
        window = app.config["LOGIN_FAILURE_WINDOW"]
        for failure in session.scalars(select(RateLimitHit)):
            failure.created_at = failure.created_at - window - timedelta(seconds=1)
        session.commit()
    assert login(client, user.email).status_code == 303
    assert _failures(app, user.email) == 0


def test_throttle_counts_in_the_database_across_app_instances(app_config, make_user, app):
    """Two app objects stand in for two gunicorn workers sharing one database."""
    from participation import create_app

    user = _user(app, make_user())
    other_worker = create_app(dict(app_config))
    clients = [app.test_client(), other_worker.test_client()]
    for attempt in range(10):
        assert login(clients[attempt % 2], user.email, "Salah-Sandi-9999").status_code == 401
    assert login(clients[1], user.email).status_code == 429
    assert login(clients[0], user.email).status_code == 429


def test_successful_login_removes_only_its_own_reservation(app, client, make_user):
    user = _user(app, make_user())
    for _ in range(3):
        login(client, user.email, "Salah-Sandi-9999")
    assert login(client, user.email).status_code == 303
    assert _failures(app, user.email) == 3


def test_successes_in_between_do_not_reset_the_throttle(app, make_user):
    """Someone who knows the password cannot buy more guesses by signing in between them."""
    user = _user(app, make_user())
    for failures in (5, 4):
        for _ in range(failures):
            assert login(app.test_client(), user.email, "Salah-Sandi-9999").status_code == 401
        assert login(app.test_client(), user.email).status_code == 303
    assert login(app.test_client(), user.email, "Salah-Sandi-9999").status_code == 401
    # Ten failed checks within the window: the eleventh is refused without checking.
    response = login(app.test_client(), user.email, "Salah-Sandi-9999")
    assert response.status_code == 429
    assert _failures(app, user.email) == 10


def test_login_rehashes_when_parameters_change(app_config, make_user, app):
    from participation import create_app

    user = _user(app, make_user())
    old_hash = user.password_hash
    stronger = create_app({**app_config, "ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 16})
    assert login(stronger.test_client(), user.email).status_code == 303
    new_hash = _user(app, user.id).password_hash
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$") and "m=16,t=2" in new_hash
    assert login(stronger.test_client(), user.email).status_code == 303


def test_passwords_are_stored_as_argon2id(app, make_user):
    assert _user(app, make_user()).password_hash.startswith("$argon2id$")


def _audit(app):
    with app_db(app) as session:
        return [(e.action, e.actor_id, e.object_type, e.object_id, e.after)
                for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_login_success_and_failure_are_audited(app, client, make_user):
    user = _user(app, make_user())
    login(client, user.email, "Salah-Sandi-9999")
    login(client, user.email)
    assert _audit(app) == [
        ("login.failure", None, "User", str(user.id), {"reason": "bad_password", "email": user.email}),
        ("login.success", user.id, "User", str(user.id), None),
    ]


def test_unknown_account_failure_is_audited_with_the_normalised_email(app, client):
    assert login(client, "  Tidak.Ada@Contoh.ID ", "Salah-Sandi-9999").status_code == 401
    assert _audit(app) == [
        ("login.failure", None, "User", None, {"reason": "unknown_account", "email": "tidak.ada@contoh.id"}),
    ]


def test_throttled_attempts_are_audited(app, client, make_user):
    user = _user(app, make_user())
    for _ in range(10):
        login(client, user.email, "Salah-Sandi-9999")
    assert login(client, user.email).status_code == 429
    events = _audit(app)
    assert len(events) == 11
    assert events[-1] == ("login.failure", None, "User", str(user.id),
                          {"reason": "throttled", "email": user.email})


def test_deactivated_account_attempts_are_audited(app, client, make_user):
    user = _user(app, make_user(active=False))
    assert login(client, user.email).status_code == 403
    assert _audit(app) == [
        ("login.failure", None, "User", str(user.id), {"reason": "inactive", "email": user.email}),
    ]


def test_an_overlong_email_is_audited_as_a_short_digest(app):
    """Longer than any email address can be, so it is not kept as typed (see test_throttle.py)."""
    from participation.auth.throttle import ACCOUNT_KEY_LENGTH, DIGEST_PREFIX, check_credentials

    with app.test_request_context():
        result = check_credentials("  " + "A" * 5000 + "@contoh.id", "Salah-Sandi-9999", "127.0.0.1")
    assert result.failure_reason == "unknown_account"
    assert result.account_key.startswith(DIGEST_PREFIX) and len(result.account_key) < ACCOUNT_KEY_LENGTH
    assert "aaaa" not in result.account_key
