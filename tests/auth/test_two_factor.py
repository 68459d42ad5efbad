"""Staff two-factor authentication: enrollment, the second step, replay, recovery codes, throttling, reset."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from participation.models import AuditEvent, RateLimitHit, RecoveryCode, StaffTotp, User
from tests.conftest import (
    STAFF_PASSWORD,
    TEST_PASSWORD,
    TOTP_SECRET,
    app_db,
    csrf_token,
    login,
    post_form,
    staff_code,
)
from tests.hostile import HOSTILE, is_server_error

SECRET_ON_PAGE = re.compile(r'id="totp-secret">([A-Z2-7 ]+)</code>')
RECOVERY_ON_PAGE = re.compile(r'<code class="fs-5">([a-z0-9]{5}-[a-z0-9]{5})</code>')


def email_of(app, user_id) -> str:
    with app_db(app) as session:
        return session.get(User, user_id).email


def password_step(client, email, password=STAFF_PASSWORD, next_url=None):
    data = {"email": email, "password": password}
    if next_url:
        data["next"] = next_url
    return post_form(client, "/masuk", data)


def enroll_through_pages(client, email) -> tuple[str, list[str]]:
    """Sign a staff account in for the first time through the pages: the secret and the recovery codes."""
    response = password_step(client, email)
    assert response.status_code == 303 and response.headers["Location"].endswith("/masuk/aktifkan-verifikasi")
    page = client.get("/masuk/aktifkan-verifikasi").get_data(as_text=True)
    secret = SECRET_ON_PAGE.search(page).group(1).replace(" ", "")
    response = post_form(client, "/masuk/aktifkan-verifikasi", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    codes = RECOVERY_ON_PAGE.findall(response.get_data(as_text=True))
    return secret, codes


def actions(app) -> list[tuple[str, dict | None]]:
    with app_db(app) as session:
        return [(e.action, e.after) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def enrolled(app, user_id, *, last_step=None):
    """Enroll `user_id` with TOTP_SECRET directly; the secret."""
    from participation.auth.two_factor import encrypt_secret
    from participation.models import utcnow

    with app_db(app) as session:
        session.add(StaffTotp(user_id=user_id, secret=encrypt_secret(TOTP_SECRET), confirmed_at=utcnow(),
                              last_step=last_step))
        session.commit()
    return TOTP_SECRET


# --- The password alone is not a sign-in ---------------------------------------------------------

@pytest.mark.parametrize("role", ["planner", "facilitator", "admin"])
def test_staff_password_alone_does_not_sign_in(app, client, make_user, role):
    email = email_of(app, make_user(role))
    enrolled(app, db_id := db_user_id(app, email))
    response = password_step(client, email)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/masuk/verifikasi")
    # Every page that needs a sign-in still refuses: the session holds only the pending step.
    for path in ("/akun", "/sesi/", "/admin/pengguna", "/perubahan-usaha"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/masuk" in answer.headers["Location"], path
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert [action for action, _ in actions(app)] == ["login.password_accepted"]
    assert db_id


def db_user_id(app, email) -> int:
    with app_db(app) as session:
        return session.scalar(select(User.id).where(User.email == email))


def test_staff_sign_in_without_a_code_is_refused(app, client, make_user):
    user_id = make_user("planner")
    enrolled(app, user_id)
    password_step(client, email_of(app, user_id))
    response = post_form(client, "/masuk/verifikasi", {"code": ""})
    assert response.status_code == 400
    assert "Masukkan kode." in response.get_data(as_text=True)
    assert client.get("/akun").status_code == 302


def test_a_valid_code_signs_in_and_keeps_next(app, client, make_user):
    user_id = make_user("planner")
    enrolled(app, user_id)
    password_step(client, email_of(app, user_id), next_url="/sesi/")
    response = post_form(client, "/masuk/verifikasi", {"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert response.status_code == 303 and response.headers["Location"] == "/sesi/"
    assert client.get("/akun").status_code == 200
    assert actions(app)[-1] == ("login.success", {"factor": "totp"})


def test_a_wrong_code_is_refused_and_audited(app, client, make_user):
    user_id = make_user("facilitator")
    enrolled(app, user_id)
    password_step(client, email_of(app, user_id))
    right = pyotp.TOTP(TOTP_SECRET).now()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = post_form(client, "/masuk/verifikasi", {"code": wrong})
    assert response.status_code == 401
    assert "Kode salah." in response.get_data(as_text=True)
    assert client.get("/akun").status_code == 302
    assert actions(app)[-1][0] == "login.failure"
    assert actions(app)[-1][1]["reason"] == "two_factor_bad_code"


def test_a_replayed_code_is_refused(app, client, make_user):
    user_id = make_user("planner")
    email = email_of(app, user_id)
    enrolled(app, user_id)
    code = pyotp.TOTP(TOTP_SECRET).now()
    password_step(client, email)
    assert post_form(client, "/masuk/verifikasi", {"code": code}).status_code == 303
    post_form(client, "/keluar", {}, token_from="/akun")
    # Someone who saw the code types it again within its 30 seconds (after the password).
    password_step(client, email)
    response = post_form(client, "/masuk/verifikasi", {"code": code})
    assert response.status_code == 401
    assert "Kode ini sudah dipakai." in response.get_data(as_text=True)
    assert client.get("/akun").status_code == 302
    assert actions(app)[-1][1]["reason"] == "two_factor_replayed"


def test_codes_of_the_neighbouring_steps_count_and_older_ones_do_not(app, make_user):
    from participation.auth import two_factor
    from participation.extensions import db
    from tests.factories import as_actor

    user_id = make_user("planner")
    enrolled(app, user_id)
    totp, now = pyotp.TOTP(TOTP_SECRET), time.time()
    with app.app_context():
        user = db.session.get(User, user_id)
        old = two_factor.complete_sign_in(user, totp.at(now - 90), as_actor(user), now=now)
        assert not old.accepted and old.reason == "bad_code"
        earlier = two_factor.complete_sign_in(user, totp.at(now - 30), as_actor(user), now=now)
        assert earlier.accepted
        # The current step is later than the one accepted: still good, once.
        assert two_factor.complete_sign_in(user, totp.at(now), as_actor(user), now=now).accepted
        again = two_factor.complete_sign_in(user, totp.at(now - 30), as_actor(user), now=now)
        assert not again.accepted and again.reason == "replayed"
        db.session.commit()


def test_proponents_sign_in_with_the_password_only(app, client, make_user):
    email = email_of(app, make_user())
    response = password_step(client, email, TEST_PASSWORD)
    assert response.status_code == 303 and "/verifikasi" not in response.headers["Location"]
    assert client.get("/akun").status_code == 200


# --- Enrollment at the first sign-in -------------------------------------------------------------

def test_first_staff_sign_in_enrolls_with_a_server_made_qr_code(app, client, make_user):
    user_id = make_user("admin")
    email = email_of(app, user_id)
    assert password_step(client, email).headers["Location"].endswith("/masuk/aktifkan-verifikasi")
    # The code step is not reachable before enrolling, and nothing is signed in.
    assert client.get("/masuk/verifikasi").headers["Location"].endswith("/masuk/aktifkan-verifikasi")
    assert client.get("/admin/pengguna").status_code == 302
    page = client.get("/masuk/aktifkan-verifikasi")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<svg role="img" aria-label="Kode QR untuk aplikasi autentikator"' in body
    secret = SECRET_ON_PAGE.search(body).group(1).replace(" ", "")
    # The page is stable on reload (a phone that scanned it stays right), and wrote nothing.
    assert SECRET_ON_PAGE.search(client.get("/masuk/aktifkan-verifikasi").get_data(as_text=True)).group(1) \
        .replace(" ", "") == secret
    with app_db(app) as session:
        assert session.scalar(select(func.count()).select_from(StaffTotp)) == 0

    wrong = post_form(client, "/masuk/aktifkan-verifikasi", {"code": "000000" if pyotp.TOTP(secret).now() != "000000"
                                                             else "111111"})
    assert wrong.status_code == 401 and SECRET_ON_PAGE.search(wrong.get_data(as_text=True))
    code = pyotp.TOTP(secret).now()
    response = post_form(client, "/masuk/aktifkan-verifikasi", {"code": code})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    codes = RECOVERY_ON_PAGE.findall(body)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "ditampilkan hanya kali ini" in body
    assert client.get("/admin/pengguna").status_code == 200

    with app_db(app) as session:
        totp = session.scalar(select(StaffTotp).where(StaffTotp.user_id == user_id))
        assert totp.confirmed and secret not in totp.secret  # stored encrypted
        stored = session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)).all()
        assert len(stored) == 10
        assert not {c.replace("-", "") for c in codes} & {r.digest for r in stored}
        assert all(len(r.digest) == 64 and r.salt for r in stored)
    assert ("user.two_factor_enrolled", {"recovery_codes": 10}) in actions(app)

    # The code that confirmed the enrollment does not sign in a second time.
    post_form(client, "/keluar", {}, token_from="/akun")
    password_step(client, email)
    assert post_form(client, "/masuk/verifikasi", {"code": code}).status_code == 401


def test_a_recovery_code_signs_in_once(app, client, make_user):
    user_id = make_user("planner")
    email = email_of(app, user_id)
    _, codes = enroll_through_pages(client, email)
    post_form(client, "/keluar", {}, token_from="/akun")
    password_step(client, email)
    response = post_form(client, "/masuk/verifikasi", {"code": codes[3].upper()}, follow_redirects=True)
    assert response.status_code == 200
    assert "9 tersisa" in response.get_data(as_text=True)
    assert actions(app)[-1] == ("login.success", {"factor": "recovery_code"})
    post_form(client, "/keluar", {}, token_from="/akun")
    password_step(client, email)
    assert post_form(client, "/masuk/verifikasi", {"code": codes[3]}).status_code == 401
    assert client.get("/akun").status_code == 302


def test_recovery_codes_do_not_confirm_an_enrollment(app, client, make_user):
    email = email_of(app, make_user("planner"))
    password_step(client, email)
    client.get("/masuk/aktifkan-verifikasi")
    assert post_form(client, "/masuk/aktifkan-verifikasi", {"code": "abcde-fghjk"}).status_code == 401


def test_the_pending_step_expires(app, client, make_user):
    user_id = make_user("planner")
    enrolled(app, user_id)
    password_step(client, email_of(app, user_id))
    with client.session_transaction() as session:
        pending = dict(session["_two_factor_pending"])
        pending["at"] -= int(timedelta(minutes=6).total_seconds())
        session["_two_factor_pending"] = pending
    response = post_form(client, "/masuk/verifikasi", {"code": pyotp.TOTP(TOTP_SECRET).now()},
                         token_from="/masuk")
    assert response.status_code == 302 and response.headers["Location"].endswith("/masuk")
    assert client.get("/akun").status_code == 302
    assert "terlalu lama" in client.get("/masuk").get_data(as_text=True)


def test_a_password_change_elsewhere_ends_the_pending_step(app, client, make_user):
    user_id = make_user("planner")
    enrolled(app, user_id)
    password_step(client, email_of(app, user_id))
    with app_db(app) as session:
        session.get(User, user_id).end_all_sessions()
        session.commit()
    response = post_form(client, "/masuk/verifikasi", {"code": pyotp.TOTP(TOTP_SECRET).now()}, token_from="/masuk")
    assert response.status_code == 302
    assert client.get("/akun").status_code == 302


# --- Throttling --------------------------------------------------------------------------------

def test_wrong_codes_are_throttled_per_account(app, client, make_user):
    user_id = make_user("planner")
    enrolled(app, user_id)
    password_step(client, email_of(app, user_id))
    right = pyotp.TOTP(TOTP_SECRET).now()
    wrong = f"{(int(right) + 7) % 1_000_000:06d}"
    for _ in range(app.config["TWO_FACTOR_MAX_FAILURES"]):
        assert post_form(client, "/masuk/verifikasi", {"code": wrong}).status_code == 401
    response = post_form(client, "/masuk/verifikasi", {"code": right})
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert "Terlalu banyak kode salah." in response.get_data(as_text=True)
    assert client.get("/akun").status_code == 302
    with app_db(app) as session:
        assert session.scalar(select(func.count()).select_from(RateLimitHit)
                              .where(RateLimitHit.scope == "2fa.account")) == 5
    assert actions(app)[-1][1]["reason"] == "two_factor_throttled"


def test_wrong_codes_are_throttled_per_address(app_config, make_user):
    from participation import create_app

    app_config["TWO_FACTOR_IP_MAX_FAILURES"] = 2
    app = create_app(dict(app_config))
    ids = []
    with app.app_context():
        from participation.auth.passwords import hash_password
        from participation.extensions import db

        for n in range(2):
            user = User(email=f"staf{n}@contoh.id", name=f"Staf {n}", role="planner",
                        password_hash=hash_password(STAFF_PASSWORD))
            db.session.add(user)
            db.session.flush()
            ids.append(user.id)
        db.session.commit()
    for user_id in ids:
        enrolled(app, user_id)
    client = app.test_client()
    password_step(client, "staf0@contoh.id")
    assert post_form(client, "/masuk/verifikasi", {"code": "12345x"}).status_code == 401
    assert post_form(client, "/masuk/verifikasi", {"code": "12345y"}).status_code == 401
    # Another account from the same address is refused before its code is checked.
    password_step(client, "staf1@contoh.id")
    response = post_form(client, "/masuk/verifikasi", {"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert response.status_code == 429 and "Retry-After" in response.headers


# --- The account page: new recovery codes --------------------------------------------------------

def test_staff_make_new_recovery_codes_with_a_current_code(app, client, make_user):
    user_id = make_user("facilitator")
    email = email_of(app, user_id)
    secret, old_codes = enroll_through_pages(client, email)
    page = client.get("/akun").get_data(as_text=True)
    assert "10 kode pemulihan belum dipakai." in page
    refused = post_form(client, "/akun/kode-pemulihan", {"code": "abc"}, token_from="/akun")
    assert refused.status_code == 401 and "Kode salah." in refused.get_data(as_text=True)
    with app_db(app) as session:  # a fresh step for the next code (the enrollment used this one)
        session.scalar(select(StaffTotp).where(StaffTotp.user_id == user_id)).last_step -= 2
        session.commit()
    response = post_form(client, "/akun/kode-pemulihan", {"code": pyotp.TOTP(secret).now()}, token_from="/akun")
    assert response.status_code == 200
    new_codes = RECOVERY_ON_PAGE.findall(response.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert actions(app)[-1] == ("user.recovery_codes_regenerated", {"recovery_codes": 10})
    post_form(client, "/keluar", {}, token_from="/akun")
    password_step(client, email)
    assert post_form(client, "/masuk/verifikasi", {"code": old_codes[0]}).status_code == 401
    assert post_form(client, "/masuk/verifikasi", {"code": new_codes[0]}).status_code == 303


def test_proponents_have_no_second_factor_section(app, client, make_user, login_as):
    login_as(make_user())
    assert "Verifikasi dua langkah" not in client.get("/akun").get_data(as_text=True)


# --- The admin's reset ----------------------------------------------------------------------------

def test_an_admin_resets_another_staff_account(app, client, make_user, login_as):
    admin = make_user("admin")
    planner = make_user("planner", name="Dedi Kurniawan")
    planner_client = app.test_client()
    assert login(planner_client, email_of(app, planner), STAFF_PASSWORD).status_code == 303
    login_as(admin)
    page = client.get("/admin/pengguna").get_data(as_text=True)
    assert "Atur ulang verifikasi dua langkah" in page
    response = post_form(client, f"/admin/pengguna/{planner}/verifikasi-dua-langkah", {}, token_from="/admin/pengguna")
    assert response.status_code == 303
    assert "verifikasi dua langkah dedi kurniawan telah diatur ulang" in client.get("/admin/pengguna").get_data(
        as_text=True).lower()
    with app_db(app) as session:
        assert session.scalar(select(StaffTotp).where(StaffTotp.user_id == planner)) is None
        assert session.scalar(select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == planner)) == 0
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset")).one()
        assert (event.actor_id, event.object_id, event.before, event.after) == (
            admin, str(planner), {"enrolled": True, "recovery_codes": 0}, {"enrolled": False})
    # The planner's session has ended, and the next sign-in enrolls again.
    assert planner_client.get("/akun").status_code == 302
    response = password_step(planner_client, email_of(app, planner))
    assert response.headers["Location"].endswith("/masuk/aktifkan-verifikasi")


def test_an_admin_cannot_reset_their_own(app, client, make_user, login_as):
    admin = make_user("admin")
    login_as(admin)
    response = post_form(client, f"/admin/pengguna/{admin}/verifikasi-dua-langkah", {}, token_from="/admin/pengguna")
    assert response.status_code == 403
    with app_db(app) as session:
        assert session.scalar(select(StaffTotp).where(StaffTotp.user_id == admin)) is not None


def test_reset_of_an_unknown_user_is_404(app, client, make_user, login_as):
    login_as(make_user("admin"))
    assert post_form(client, "/admin/pengguna/99999/verifikasi-dua-langkah", {},
                     token_from="/admin/pengguna").status_code == 404


# --- Hostile input ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_codes_never_break_the_forms(app, client, make_user, name):
    value = HOSTILE[name]
    new_staff = email_of(app, make_user("planner"))
    enrolled_id = make_user("facilitator")
    enrolled(app, enrolled_id)
    password_step(client, new_staff)
    client.get("/masuk/aktifkan-verifikasi")
    response = post_form(client, "/masuk/aktifkan-verifikasi", {"code": value})
    assert not is_server_error(response) and 400 <= response.status_code < 500
    assert client.get("/akun").status_code == 302

    password_step(client, email_of(app, enrolled_id))
    response = post_form(client, "/masuk/verifikasi", {"code": value})
    assert not is_server_error(response) and 400 <= response.status_code < 500
    assert client.get("/akun").status_code == 302

    assert login(client, email_of(app, enrolled_id), STAFF_PASSWORD).status_code == 303
    response = post_form(client, "/akun/kode-pemulihan", {"code": value}, token_from="/akun")
    assert not is_server_error(response) and 400 <= response.status_code < 500
    with app_db(app) as session:
        assert session.scalar(select(func.count()).select_from(RecoveryCode)) == 0  # nothing made


def test_a_csrf_failure_re_renders_the_code_form(app, client, make_user):
    user_id = make_user("planner")
    enrolled(app, user_id)
    password_step(client, email_of(app, user_id))
    response = client.post("/masuk/verifikasi", data={"code": "123456", "csrf_token": "bad"})
    assert response.status_code == 400
    assert "Formulir ini sudah kedaluwarsa." in response.get_data(as_text=True)
    assert csrf_token(client, "/masuk/verifikasi")


def test_the_test_helper_really_passes_the_second_step(app, client, make_user):
    """login() of tests/conftest.py signs staff in through /masuk/verifikasi with a real code."""
    user_id = make_user("planner")
    email = email_of(app, user_id)
    assert len(staff_code(app, email)) == 6
    assert login(client, email, STAFF_PASSWORD).status_code == 303
    assert actions(app)[-1] == ("login.success", {"factor": "totp"})
