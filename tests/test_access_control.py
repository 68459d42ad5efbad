"""Access control, declared: every (endpoint, method) × role → expected status.

A route that is missing from ACCESS fails `test_every_route_is_declared`. HEAD and OPTIONS are
answered by Flask for every GET route and are not listed separately.
"""
from __future__ import annotations

import pytest

from tests.conftest import app_db

ROLES = ("anonymous", "proponent", "planner", "facilitator", "admin")
STAFF = ("planner", "facilitator", "admin")
LOGIN_REDIRECT = 302


def everyone(status):
    return dict.fromkeys(ROLES, status)


def signed_in(status, anonymous=LOGIN_REDIRECT):
    return {"anonymous": anonymous, **dict.fromkeys(ROLES[1:], status)}


def only(roles, status, anonymous=LOGIN_REDIRECT, others=403):
    table = {role: others for role in ROLES}
    table.update(anonymous=anonymous, **dict.fromkeys(roles, status))
    return table


def anonymous_only(status, signed_in_status=302):
    return {"anonymous": status, **dict.fromkeys(ROLES[1:], signed_in_status)}


# (endpoint, method) -> {role: status}. POSTs send the request below; an empty form is a 400
# validation answer from a view the role may use, which is what distinguishes it from 403.
ACCESS = {
    ("static", "GET"): everyone(200),
    ("public.index", "GET"): everyone(200),
    ("public.set_language", "POST"): everyone(303),
    ("auth.login", "GET"): anonymous_only(200),
    ("auth.login", "POST"): anonymous_only(400),
    ("auth.logout", "POST"): everyone(303),
    ("auth.register", "GET"): anonymous_only(200),
    ("auth.register", "POST"): anonymous_only(400),
    ("auth.account", "GET"): signed_in(200),
    ("auth.change_password", "POST"): signed_in(400),
    ("auth.edit_business", "GET"): only(["proponent"], 200),
    ("auth.edit_business", "POST"): only(["proponent"], 400),
    ("admin.users", "GET"): only(["admin"], 200),
    ("admin.new_user", "GET"): only(["admin"], 200),
    ("admin.new_user", "POST"): only(["admin"], 400),
    ("admin.set_active", "POST"): only(["admin"], 303),
    ("admin.audit", "GET"): only(["admin"], 200),
}

# How to call routes that need URL values or form data.
REQUESTS = {
    ("static", "GET"): {"values": {"filename": "css/app.css"}},
    ("public.set_language", "POST"): {"data": {"locale": "en"}},
    ("admin.set_active", "POST"): {"values": {"user_id": "target"}, "data": {"active": "0"}},
}


def test_every_route_is_declared(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    missing = sorted(routes - ACCESS.keys())
    stale = sorted(ACCESS.keys() - routes)
    assert not missing, f"routes without an access-control entry: {missing}"
    assert not stale, f"entries for routes that no longer exist: {stale}"
    for key, table in ACCESS.items():
        assert set(table) == set(ROLES), f"{key} does not declare every role"


@pytest.fixture
def access_app(app_config):
    """The app with CSRF off: this table tests who may call a route, not the token."""
    from participation import create_app

    app_config["WTF_CSRF_ENABLED"] = False
    return create_app(dict(app_config))


CASES = [(endpoint, method, role) for (endpoint, method), table in ACCESS.items() for role in ROLES]


@pytest.mark.parametrize("endpoint,method,role", CASES, ids=[f"{e}-{m}-{r}" for e, m, r in CASES])
def test_access(access_app, endpoint, method, role):
    from flask import url_for

    from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, login

    app = access_app
    client = app.test_client()
    target_id = _make_user(app, "proponent", "target@contoh.id")
    if role != "anonymous":
        _make_user(app, role, f"{role}@contoh.id")
        password = STAFF_PASSWORD if role in STAFF else TEST_PASSWORD
        assert login(client, f"{role}@contoh.id", password).status_code == 303

    spec = REQUESTS.get((endpoint, method), {})
    values = {key: (target_id if value == "target" else value) for key, value in spec.get("values", {}).items()}
    with app.test_request_context():
        url = url_for(endpoint, **values)
    response = client.open(url, method=method, data=spec.get("data", {}))
    expected = ACCESS[(endpoint, method)][role]
    assert response.status_code == expected, (
        f"{method} {url} as {role}: expected {expected}, got {response.status_code}"
    )
    if expected == LOGIN_REDIRECT and role == "anonymous":
        assert "/masuk" in response.headers["Location"]


def _make_user(app, role, email):
    from participation.auth.passwords import hash_password
    from participation.models import Role, User
    from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD

    role = Role(role)
    with app_db(app) as session:
        user = User(email=email, name=email.split("@")[0].title(), role=role,
                    password_hash=hash_password(STAFF_PASSWORD if role.is_staff else TEST_PASSWORD))
        session.add(user)
        session.commit()
        return user.id


POSTS = [key for key in ACCESS if key[1] == "POST"]


@pytest.mark.parametrize("endpoint,method", POSTS, ids=[e for e, _ in POSTS])
def test_every_post_requires_a_csrf_token(app, endpoint, method, make_user, login_as):
    """With CSRF on, a POST without the token is refused before the view runs."""
    from flask import url_for

    client = app.test_client()
    target_id = make_user("proponent")
    allowed = [role for role in ROLES[1:] if ACCESS[(endpoint, method)][role] not in (302, 403)]
    if allowed and ACCESS[(endpoint, method)]["anonymous"] in (302, 403):
        login_as(make_user(allowed[-1]))
    spec = REQUESTS.get((endpoint, method), {})
    values = {key: (target_id if value == "target" else value) for key, value in spec.get("values", {}).items()}
    with app.test_request_context():
        url = url_for(endpoint, **values)
    response = client.post(url, data=spec.get("data", {}))
    assert response.status_code == 400
    from participation.models import User
    from participation.extensions import db

    with app.app_context():
        assert db.session.get(User, target_id).active  # set_active did not run
