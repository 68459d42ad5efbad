"""The administrator creates staff accounts on the "new staff account" page."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from participation.models import AuditEvent, Role, User
from tests.conftest import app_db, login, post_form

STAFF = {
    "name": "Dewi Rahayu",
    "email": "Dewi.Rahayu@Pemkot.example",
    "role": "planner",
    "password": "Serabi-Notosuman-1923",
    "password_confirm": "Serabi-Notosuman-1923",
}


@pytest.fixture
def admin_id(make_user, login_as):
    user_id = make_user("admin")
    login_as(user_id)
    return user_id


def new_staff(client, **changes):
    return post_form(client, "/admin/pengguna/baru", {**STAFF, **changes})


def user_count(app) -> int:
    with app_db(app) as session:
        return session.scalar(select(func.count(User.id)))


def test_admin_creates_a_staff_account_and_it_is_audited(app, client, admin_id):
    response = new_staff(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/pengguna")
    assert "Akun untuk Dewi Rahayu telah dibuat." in client.get("/admin/pengguna").get_data(as_text=True)
    with app_db(app) as session:
        user = session.scalar(select(User).where(User.email == "dewi.rahayu@pemkot.example"))
        assert (user.name, user.role, user.active) == ("Dewi Rahayu", Role.PLANNER, True)
        assert user.password_hash.startswith("$argon2id$")
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.created"))
        assert event.actor_id == admin_id
        assert (event.object_type, event.object_id) == ("User", str(user.id))
        assert event.after == {"email": "dewi.rahayu@pemkot.example", "role": "planner"}
    assert login(app.test_client(), "dewi.rahayu@pemkot.example", STAFF["password"]).status_code == 303


def test_a_staff_phone_is_kept_as_plus_62_and_a_wrong_one_is_refused(app, client, admin_id):
    """The number the conflict-of-interest suggestions compare with business owners' numbers."""
    wrong = new_staff(client, phone="0274 123")
    assert wrong.status_code == 400 and "Isi nomor telepon yang diawali 08 atau +62" in wrong.get_data(as_text=True)
    assert user_count(app) == 1
    assert new_staff(client, phone="0812-9988 7766").status_code == 303
    with app_db(app) as session:
        user = session.scalar(select(User).where(User.email == "dewi.rahayu@pemkot.example"))
        assert user.phone == "+6281299887766"
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.created"))
        assert event.after["phone"] == "+6281299887766"


@pytest.mark.parametrize("role", ["planner", "facilitator", "admin"])
def test_staff_passwords_need_twelve_characters_and_the_typed_data_is_kept(app, client, admin_id, role):
    eleven = "Ulos-Tapi7x"  # long enough for a business owner, not for staff
    response = new_staff(client, role=role, password=eleven, password_confirm=eleven)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Kata sandi minimal 12 karakter." in body
    assert 'value="Dewi Rahayu"' in body and 'value="dewi.rahayu@pemkot.example"' in body
    assert f'<option selected value="{role}">' in body
    assert eleven not in body  # passwords are never sent back
    assert user_count(app) == 1  # only the administrator
    with app_db(app) as session:
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "user.created")) == 0


def test_duplicate_email_is_refused_case_insensitively(app, client, admin_id, make_user):
    make_user("facilitator", email="dewi.rahayu@pemkot.example")
    response = new_staff(client, email="DEWI.rahayu@pemkot.EXAMPLE")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Sudah ada akun dengan email ini." in body
    assert 'value="Dewi Rahayu"' in body
    assert user_count(app) == 2
    with app_db(app) as session:
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "user.created")) == 0


def test_the_service_refuses_an_admin_deactivating_their_own_account(app, make_user):
    from participation.auth.services import AccountError, set_active
    from tests.factories import as_actor

    admin_id = make_user("admin")
    other_id = make_user("planner")
    with app_db(app) as session:
        admin = session.get(User, admin_id)
        with pytest.raises(AccountError):
            set_active(admin, False, as_actor(admin))
        assert admin.active
        set_active(session.get(User, other_id), False, as_actor(admin))  # anyone else: allowed
        assert not session.get(User, other_id).active
        session.rollback()
