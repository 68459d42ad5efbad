"""The hostile-input corpus on every form of sessions, proposals and intake, on both databases.

Whatever is typed into any field: never a server error, and either a clean 4xx that saved
nothing, or a save in which the text is stored as typed and shown escaped.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from participation.models import AuditEvent, Business, Category, Criterion, Proposal, ThemedSession, User
from tests.conftest import app_db, csrf_token
from tests.factories import make_session
from tests.hostile import HOSTILE, is_server_error
from tests.proposals.test_proposals import FULL
from tests.sessions.test_sessions import NEW_SESSION


def counts(app):
    with app_db(app) as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (ThemedSession, Category, Criterion, Proposal, Business))


@pytest.fixture
def world(app, make_user):
    planner, facilitator, owner = make_user("planner"), make_user("facilitator"), make_user()
    with app_db(app) as session:
        themed_session = make_session(session.get(User, planner), members=[session.get(User, facilitator)])
        ids = {"session": themed_session.id, "category": themed_session.categories[0].id,
               "criterion": themed_session.criteria[0].id, "planner": planner, "facilitator": facilitator,
               "owner": owner}
        session.commit()
    return ids


def hammer(app, client, url, base: dict, fields, token_page=None):
    """Post every payload into every field; check the promises above."""
    for field in fields:
        for label, payload in HOSTILE.items():
            before = counts(app)
            data = {**base, field: payload, "csrf_token": csrf_token(client, token_page or url)}
            response = client.post(url, data=data)
            assert not is_server_error(response), f"{url} {field}={label}: {response.status_code}"
            body = response.get_data(as_text=True)
            assert "<script>alert" not in body and "<img src=x" not in body, f"{field}={label} unescaped"
            if response.status_code >= 400:
                assert response.status_code in (400, 404, 409), f"{field}={label}: {response.status_code}"
                assert counts(app) == before, f"{url} {field}={label} saved something"
                assert 'value="49"' not in body and ">49<" not in body


def test_session_forms(app, client, world, login_as):
    login_as(world["planner"])
    sid = world["session"]
    hammer(app, client, "/sesi/baru", NEW_SESSION, list(NEW_SESSION))
    hammer(app, client, f"/sesi/{sid}/ubah", NEW_SESSION, ["title", "theme", "venue", "budget_ceiling"])
    hammer(app, client, f"/sesi/{sid}/kategori", {"name": "Kategori"}, ["name"], token_page=f"/sesi/{sid}")
    criterion = {"name": "Urgensi", "source": "rating", "direction": "1", "weight": "0,2", "scale_min": "1",
                 "scale_max": "5"}
    hammer(app, client, f"/sesi/{sid}/kriteria/{world['criterion']}", criterion, list(criterion))
    with app_db(app) as session:
        ids = [c.id for c in session.get(ThemedSession, sid).criteria]
    weights = {f"weight_{i}": "1" for i in ids} | {f"direction_{i}": "1" for i in ids}
    hammer(app, client, f"/sesi/{sid}/bobot", weights, [f"weight_{ids[0]}", f"direction_{ids[1]}"])
    hammer(app, client, f"/sesi/{sid}/status", {"action": "close"}, ["action"], token_page=f"/sesi/{sid}")
    hammer(app, client, f"/sesi/{sid}/tim", {"user_id": str(world["facilitator"])}, ["user_id"],
           token_page=f"/sesi/{sid}")
    # Whatever was accepted shows up escaped, never evaluated.
    page = client.get(f"/sesi/{sid}").get_data(as_text=True)
    assert "<script>alert" not in page


def test_proposal_form(app, client, world, login_as):
    login_as(world["owner"])
    url = f"/usulan/baru/{world['session']}"
    base = {**FULL, "category_id": str(world["category"]), "action": "draft"}
    fields = ["title", "category_id", "problem", "description", "estimated_cost", "beneficiaries",
              "jobs_created", "kelurahan", "kecamatan", "idempotency_key", "action"]
    hammer(app, client, url, base, fields)
    page = client.get("/usulan/").get_data(as_text=True)
    assert "<script>alert" not in page and "{{7*7}}" in page  # accepted titles are shown literally


def test_paper_intake_blank_forms_roster_and_imports(app, client, world, login_as):
    from tests.intake.test_roster_and_paper import PAPER

    login_as(world["facilitator"])
    sid = world["session"]
    hammer(app, client, f"/sesi/{sid}/usulan-kertas", {**PAPER, "category_id": str(world["category"])},
           ["paper_form_number", "nib", "business_name", "owner_name", "phone", "kbli_codes", "scale",
            "title", "estimated_cost"])
    hammer(app, client, f"/sesi/{sid}/formulir-kosong", {"count": "2"}, ["count"])
    hammer(app, client, f"/sesi/{sid}/undangan", {"business_id": "1"}, ["business_id"],
           token_page=f"/sesi/{sid}/undangan")
    for label, payload in HOSTILE.items():
        response = client.get(f"/sesi/{sid}/undangan", query_string={"cari": payload})
        assert response.status_code == 200, label


def test_audit_log_renders_hostile_values_escaped(app, client, world, login_as, make_user):
    login_as(world["planner"])
    client.post(f"/sesi/{world['session']}/kategori",
                data={"name": "<script>alert('xss')</script>", "csrf_token": csrf_token(client, f"/sesi/{world['session']}")})
    with app_db(app) as session:
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "session.category_added"))
    from tests.conftest import post_form

    post_form(client, "/keluar", {}, token_from="/")
    login_as(make_user("admin"))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert" not in page and "\\u003cscript\\u003e" in page or "&lt;script&gt;" in page


def test_review_forms(app, client, world, login_as):
    """Ratings, votes, decisions, AHP, finalisation and what-if weights."""
    from tests.factories import make_business, make_proposal

    with app_db(app) as session:
        from participation.models import SessionStatus

        themed_session = session.get(ThemedSession, world["session"])
        proposal = make_proposal(themed_session, make_business(nib="4444444444444", name="Usaha Uji Nilai"))
        themed_session.status = SessionStatus.REVIEW
        criterion_ids = [c.id for c in themed_session.criteria]
        rating_ids = [c.id for c in themed_session.criteria if c.source.value == "rating"]
        pid = proposal.id
        session.commit()
    login_as(world["planner"])
    sid = world["session"]
    rating = {f"rating_{cid}": "3" for cid in rating_ids} | {f"version_{cid}": "" for cid in rating_ids}
    hammer(app, client, f"/sesi/{sid}/penilaian/{pid}", rating,
           [f"rating_{rating_ids[0]}", f"version_{rating_ids[1]}"])
    hammer(app, client, f"/sesi/{sid}/suara", {f"votes_{pid}": "3"}, [f"votes_{pid}"])
    hammer(app, client, f"/sesi/{sid}/keputusan/{pid}", {"outcome": "deferred", "reason": "Menunggu data."},
           ["outcome", "reason", "correction_reason"])
    hammer(app, client, f"/sesi/{sid}/finalisasi", {"confirm": "FINAL"}, ["confirm", f"exclude_{pid}"])
    ahp = {f"p{a}_{b}": "1" for i, a in enumerate(criterion_ids) for b in criterion_ids[i + 1:]}
    hammer(app, client, f"/sesi/{sid}/ahp", ahp | {"action": "compute"}, [next(iter(ahp)), "action"])
    for label, payload in HOSTILE.items():
        response = client.get(f"/sesi/{sid}/peringkat", query_string={f"w{criterion_ids[0]}": payload,
                                                                       "kategori": payload, "kecamatan": payload,
                                                                       "halaman": payload})
        assert response.status_code == 200, label
        assert "<script>alert" not in response.get_data(as_text=True)
