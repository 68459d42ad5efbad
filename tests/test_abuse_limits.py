"""Abuse limits counted in the database (DESIGN §8): registrations, proposals, bots, the admins' view."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from participation.models import Proposal, RateLimitHit, User
from tests.auth.test_register import VALID
from tests.conftest import STAFF_PASSWORD, app_db, login, post_form
from tests.proposals.test_proposals import FULL, submit_new


def from_ip(app, ip: str):
    """A test client whose requests come from `ip`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def register_from(app, ip: str, number: int):
    """One owner's registration through the form, from `ip` (a fresh browser each time)."""
    data = {**VALID, "email": f"pemilik{number}@contoh.id", "nib": f"{9100000000000 + number}",
            "business_name": f"UD Keripik Tempe Nomor {number}"}
    return post_form(from_ip(app, ip), "/daftar", data)


def users(app) -> int:
    with app_db(app) as session:
        return session.scalar(select(func.count(User.id)))


@pytest.fixture
def registration_default(app_config):
    """The shipped limit (TestConfig raises it for the other tests, all from 127.0.0.1)."""
    from participation.config import Config

    assert Config.REGISTRATION_LIMIT == 10 and Config.REGISTRATION_WINDOW == timedelta(hours=1)
    app_config["REGISTRATION_LIMIT"] = Config.REGISTRATION_LIMIT


def test_the_eleventh_registration_from_one_address_in_an_hour_gets_429(registration_default, app):
    for number in range(10):
        assert register_from(app, "198.51.100.7", number).status_code == 303
    response = register_from(app, "198.51.100.7", 10)
    assert response.status_code == 429
    assert 3500 <= int(response.headers["Retry-After"]) <= 3600
    body = response.get_data(as_text=True)
    assert "Terlalu banyak akun yang didaftarkan dari jaringan Anda" in body and "Coba lagi dalam 60 menit." in body
    assert 'value="pemilik10@contoh.id"' in body  # the typed data is kept
    assert users(app) == 10
    # The form itself says so before anything is typed; another address registers as usual.
    page = from_ip(app, "198.51.100.7").get("/daftar")
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert "Terlalu banyak akun" in page.get_data(as_text=True)
    assert register_from(app, "203.0.113.9", 11).status_code == 303
    assert users(app) == 11


def test_a_refused_registration_does_not_count(app, app_config):
    """Only accounts created count: a form refused for a taken address leaves no hit."""
    app.config["REGISTRATION_LIMIT"] = 1
    assert register_from(app, "198.51.100.7", 1).status_code == 303
    assert register_from(app, "198.51.100.8", 1).status_code == 400  # the same email again
    assert register_from(app, "198.51.100.8", 2).status_code == 303


def test_the_registration_limit_holds_across_workers(app_config, app):
    """Two app objects stand in for two workers: the count lives in the database."""
    from participation import create_app

    app.config["REGISTRATION_LIMIT"] = 2
    other = create_app({**app_config, "REGISTRATION_LIMIT": 2})
    assert register_from(app, "198.51.100.7", 1).status_code == 303
    assert register_from(other, "198.51.100.7", 2).status_code == 303
    assert register_from(app, "198.51.100.7", 3).status_code == 429
    assert register_from(other, "198.51.100.7", 3).status_code == 429


def test_a_filled_honeypot_creates_no_account(app, client):
    response = post_form(client, "/daftar", {**VALID, "website": "http://murah.example"})
    assert response.status_code == 400
    assert "Formulir belum dapat diterima" in response.get_data(as_text=True)
    assert users(app) == 0
    page = client.get("/daftar").get_data(as_text=True)
    assert '<div class="d-none" aria-hidden="true">' in page and 'name="website"' in page


def test_a_form_sent_faster_than_a_person_could_fill_it_is_refused(app, client):
    app.config["REGISTRATION_MIN_FILL_TIME"] = timedelta(seconds=3)
    response = post_form(client, "/daftar", VALID)  # opened and sent at once
    assert response.status_code == 400
    assert "Formulir belum dapat diterima" in response.get_data(as_text=True)
    assert 'value="siti.aminah@contoh.id"' in response.get_data(as_text=True)
    assert users(app) == 0
    with client.session_transaction() as session:  # the person took their time
        session["_register_opened_at"] = time.time() - 4
    token_page = client.get("/masuk")  # a token without opening the form again
    token = token_page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/daftar", data={**VALID, "csrf_token": token}).status_code == 303
    assert users(app) == 1


@pytest.fixture
def world(make_world, login_as):
    world = make_world(owner=True, max_proposals_per_business=50)
    login_as(world.owner)
    return world


def test_proposals_per_account_are_limited(app, client, world):
    app.config["SUBMISSION_LIMIT"] = 2
    assert submit_new(client, world, title="Mesin pengemas vakum pertama").status_code == 303
    assert submit_new(client, world, action="draft", title="Oven pengering kedua").status_code == 303
    response = submit_new(client, world, title="Pelatihan pemasaran daring ketiga")
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    assert "Anda telah membuat atau mengirim banyak usulan" in response.get_data(as_text=True)
    # Submitting the draft is counted too.
    with app_db(app) as session:
        draft_id = session.scalar(select(Proposal.id).where(Proposal.title == "Oven pengering kedua"))
    response = post_form(client, f"/usulan/{draft_id}/kirim", {}, token_from=f"/usulan/{draft_id}")
    assert response.status_code == 429
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 2


def test_proposals_per_address_are_limited(app, client, world, make_user, login_as):
    app.config["SUBMISSION_IP_LIMIT"] = 1
    assert submit_new(client, world, title="Mesin pengemas vakum pertama").status_code == 303
    other = make_user()  # another owner behind the same address
    with app_db(app) as session:
        email = session.get(User, other).email
    neighbour = app.test_client()
    login(neighbour, email)
    response = submit_new(neighbour, world, title="Oven pengering kedua")
    assert response.status_code == 429
    assert "dari jaringan Anda" in response.get_data(as_text=True)


def test_scripts_and_the_demo_are_not_limited(app, world):
    from participation.events import Actor
    from participation.extensions import db
    from participation.models import Business, ThemedSession
    from participation.proposals.services import create_proposal

    app.config["SUBMISSION_LIMIT"] = 0
    with app.app_context():
        themed_session = db.session.get(ThemedSession, world.session)
        business = db.session.scalar(select(Business).where(Business.user_id == world.owner))
        data = {**FULL, "estimated_cost": 1_000_000, "beneficiaries": 3, "jobs_created": 1,
                "category_id": world.categories[0]}
        create_proposal(themed_session, business, data, Actor.cli(business.user), submit=True)
        db.session.commit()
        assert db.session.scalar(select(func.count(RateLimitHit.id))) == 0


def test_admins_see_the_limits_in_force(app, client, make_user):
    app.config["REGISTRATION_LIMIT"] = 7
    with app_db(app) as session:
        email = session.get(User, make_user("admin")).email
    login(client, email, STAFF_PASSWORD)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Batas penyalahgunaan" in page
    row = page.split("Pendaftaran per alamat IP")[1].split("</tr>")[0]
    assert ">7<" in row and "1 jam" in row and "REGISTRATION_LIMIT" in row


def test_limits_come_from_the_environment(monkeypatch):
    from participation.config import ConfigError, DevelopmentConfig

    monkeypatch.setenv("REGISTRATION_LIMIT", "25")
    assert DevelopmentConfig.from_environ()["REGISTRATION_LIMIT"] == 25
    monkeypatch.setenv("REGISTRATION_LIMIT", "sepuluh")
    values = DevelopmentConfig.from_environ()
    with pytest.raises(ConfigError, match="REGISTRATION_LIMIT"):
        DevelopmentConfig.validate({**vars_of(DevelopmentConfig), **values})


def vars_of(config_class) -> dict:
    return {name: getattr(config_class, name) for name in dir(config_class) if name.isupper()}
