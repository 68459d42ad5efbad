"""Votes and ratings the session no longer takes: said at the top before anything is typed, and
refused by the service when a form opened earlier is sent anyway."""
from __future__ import annotations

import re

import pytest

from participation.models import Proposal, SessionStatus, ThemedSession
from tests.conftest import app_db, csrf_token
from tests.hostile import HOSTILE, is_server_error

CLOSED = "Nilai dan suara dapat diubah selama musrenbang dibuka atau dalam penilaian."
FINAL = "Musrenbang ini sudah final: suara di bawah ini termasuk dalam peringkat akhirnya dan tidak dapat diubah lagi."


@pytest.fixture
def world(make_world, login_as):
    world = make_world(facilitator=True, status=SessionStatus.REVIEW, proposals=[{"title": "Usulan satu"},
                                                                                 {"title": "Usulan dua"}])
    login_as(world.facilitator)
    return world


def set_status(app, world, status):
    with app_db(app) as session:
        session.get(ThemedSession, world.session).status = status
        session.commit()


def votes_of(app, world):
    with app_db(app) as session:
        return [session.get(Proposal, pid).votes for pid in world.proposals]


def test_votes_after_finalisation_say_so_and_show_no_form(app, client, world):
    sid, [first, second] = world.session, world.proposals
    url = f"/sesi/{sid}/suara"
    open_page = client.get(url).get_data(as_text=True)
    assert FINAL not in open_page and f'name="votes_{first}"' in open_page
    token = csrf_token(client, url)
    response = client.post(url, data={f"votes_{first}": "7", f"votes_{second}": "3", "csrf_token": token})
    assert response.status_code == 303 and votes_of(app, world) == [7, 3]
    set_status(app, world, SessionStatus.FINALIZED)
    page = client.get(url).get_data(as_text=True)
    assert FINAL in page and page.index(FINAL) < page.index("<table")
    assert "<input" not in page.split("<table", 1)[1] and "Simpan suara" not in page
    assert re.search(r"MT-2027-0001</td>\s*<td>Usulan satu</td>\s*<td>7</td>", page)  # the votes, read-only
    # The POST of a page opened earlier is still refused by the service.
    response = client.post(url, data={f"votes_{first}": "99", "csrf_token": token})
    assert response.status_code == 400 and CLOSED in response.get_data(as_text=True)
    assert votes_of(app, world) == [7, 3]
    for label, payload in HOSTILE.items():
        response = client.post(url, data={f"votes_{first}": payload, "csrf_token": token})
        assert not is_server_error(response) and response.status_code == 400, label
        assert "<script>alert" not in response.get_data(as_text=True), label
    assert votes_of(app, world) == [7, 3]


def test_a_vote_gets_one_message_with_an_example_that_fits(app, client, world):
    sid, first = world.session, world.proposals[0]
    url = f"/sesi/{sid}/suara"
    response = client.post(url, data={f"votes_{first}": "banyak", "csrf_token": csrf_token(client, url)})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(rf'id="votes_{first}-error">Isi bilangan bulat, misalnya 12.</div>', body)
    response = client.post(url, data={f"votes_{first}": "2000000", "csrf_token": csrf_token(client, url)})
    assert re.search(rf'id="votes_{first}-error">Isi bilangan bulat dari 0 sampai 1.000.000.</div>',
                     response.get_data(as_text=True))


def test_rating_an_archived_session_says_so_and_shows_no_form(app, client, world, login_as):
    from tests.conftest import post_form

    post_form(client, "/keluar", {}, token_from="/")
    login_as(world.planner)
    sid, pid = world.session, world.proposals[0]
    url = f"/sesi/{sid}/penilaian/{pid}"
    page = client.get(url).get_data(as_text=True)
    assert CLOSED not in page and "Simpan dan lanjut" in page
    token = csrf_token(client, url)
    set_status(app, world, SessionStatus.ARCHIVED)
    page = client.get(url).get_data(as_text=True)
    assert CLOSED in page and 'type="radio"' not in page and "<form method=\"post\" action=\"/sesi" not in page
    with app_db(app) as session:
        rating_ids = [c.id for c in session.get(ThemedSession, sid).criteria if c.source.value == "rating"]
    data = {f"rating_{cid}": "3" for cid in rating_ids} | {f"version_{cid}": "" for cid in rating_ids}
    response = client.post(url, data=data | {"csrf_token": token})
    assert response.status_code == 400 and CLOSED in response.get_data(as_text=True)
    from participation.models import Rating
    from sqlalchemy import func, select

    with app_db(app) as session:
        assert session.scalar(select(func.count(Rating.id))) == 0
