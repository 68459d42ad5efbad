"""Settings the values cannot satisfy, and saves that race with each other or with finalisation."""
from __future__ import annotations

import html
import json
import threading
import time

from sqlalchemy import func, select

from participation.models import (
    AuditEvent,
    Criterion,
    CriterionSource,
    Normalization,
    Proposal,
    RankingSnapshot,
    Rating,
    SelectionMethod,
    SessionStatus,
    ThemedSession,
    User,
)
from tests.conftest import app_db, post_form
from tests.factories import as_actor
from tests.review.test_review_flow import (  # noqa: F401 (the fixture)
    criteria_ids,
    finalize,
    form_fields,
    rate_everything,
    rating_page,
    world,
)


def test_max_normalisation_with_a_zero_cost_value_explains_instead_of_failing(app, client, world):
    """New jobs set as a cost under SAW max: one proposal has 0 jobs, and min/x has no meaning."""
    rate_everything(app, world)
    sid = world.session
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        themed_session.normalization = Normalization.MAX
        jobs = next(c for c in themed_session.criteria if c.source is CriterionSource.JOBS_CREATED)
        jobs.direction = -1
        zero = session.get(Proposal, world.proposals[2])
        zero.jobs_created = 0
        receipt, name = zero.receipt_number, jobs.name
        session.commit()
    page = client.get(f"/sesi/{sid}/peringkat")
    assert page.status_code == 200
    body = html.unescape(page.get_data(as_text=True))
    assert f"Normalisasi 'max' tidak dapat memeringkat {name} sebagai kriteria biaya" in body and receipt in body
    exported = json.loads(client.get(f"/sesi/{sid}/peringkat.json").data)
    assert all(p["rank"] is None and p["score"] is None and p["selected"] is None for p in exported["proposals"])
    response = finalize(client, world)
    assert response.status_code == 400 and name in html.unescape(response.get_data(as_text=True))
    assert client.get(f"/sesi/{sid}/dokumen/berita-acara.pdf").status_code == 200
    with app_db(app) as session:
        assert session.get(ThemedSession, sid).status is SessionStatus.REVIEW
        assert session.scalar(select(func.count(RankingSnapshot.id))) == 0
        # Back to min–max: ranked again.
        session.get(ThemedSession, sid).normalization = Normalization.MINMAX
        session.commit()
    exported = json.loads(client.get(f"/sesi/{sid}/peringkat.json").data)
    assert sorted(p["rank"] for p in exported["proposals"]) == [1, 2, 3, 4]


def test_ahp_with_more_than_ten_criteria_says_so(app, client, world):
    sid = world.session
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        for n in range(4):  # 7 default criteria + 4
            themed_session.criteria.append(Criterion(key=f"tambahan_{n}", name=f"Tambahan {n}", weight=0.1,
                                                     direction=1, source=CriterionSource.RATING,
                                                     position=7 + n))
        session.commit()
    page = client.get(f"/sesi/{sid}/ahp")
    assert page.status_code == 200
    assert "AHP membandingkan 2 sampai 10 kriteria" in page.get_data(as_text=True)
    response = post_form(client, f"/sesi/{sid}/ahp", {"action": "save"}, token_from=f"/sesi/{sid}/ahp")
    assert response.status_code == 400 and "sesi ini memiliki 11" in response.get_data(as_text=True)
    with app_db(app) as session:
        assert session.get(ThemedSession, sid).weights_origin != "ahp"


def test_a_concurrent_first_rating_of_the_same_cell_is_a_conflict(app, client, world, monkeypatch):
    """Two planners' windows both saw 'not rated yet'; the second insert hits the unique key."""
    from participation.review import services

    sid, pid = world.session, world.proposals[0]
    cids = criteria_ids(app, world)
    page = rating_page(client, world, pid)
    with app_db(app) as session:  # the other save lands first
        planner = session.get(User, world.planner)
        session.add(Rating(proposal_id=pid, criterion_id=cids[0], planner=planner, value=5))
        session.commit()
    monkeypatch.setattr(services, "ratings_by", lambda planner, proposal: {})  # read before that commit
    response = client.post(f"/sesi/{sid}/penilaian/{pid}", data=form_fields(page) | {f"rating_{c}": "2" for c in cids})
    assert response.status_code == 409
    assert "Tidak ada yang ditimpa" in response.get_data(as_text=True)
    with app_db(app) as session:
        ratings = session.scalars(select(Rating).where(Rating.proposal_id == pid)).all()
        assert [(r.criterion_id, r.value) for r in ratings] == [(cids[0], 5.0)]


def test_a_save_waiting_on_a_finalisation_is_refused_once_it_commits(app, world):
    """A rating and a decision that start while the session is being finalised do not land after it."""
    from participation.extensions import db
    from participation.models import Outcome
    from participation.review import services

    rate_everything(app, world)
    cids = criteria_ids(app, world)
    outcomes = {}

    def later(label, act):
        with app.app_context():
            try:
                act()
                db.session.commit()
                outcomes[label] = "saved"
            except services.ReviewError as error:
                db.session.rollback()
                outcomes[label] = error.code
            finally:
                db.session.remove()

    def rate():
        proposal = db.session.get(Proposal, world.proposals[0])
        versions = {r.criterion_id: r.version for r in db.session.scalars(
            select(Rating).where(Rating.proposal_id == proposal.id))}
        services.save_ratings(proposal, {c: 1.0 for c in cids}, versions, as_actor(db.session.get(User, world.planner)))

    def decide():
        services.decide(db.session.get(Proposal, world.proposals[0]), Outcome.REJECTED, "Terlambat.",
                        as_actor(db.session.get(User, world.planner)))

    with app.app_context():
        services.finalize(db.session.get(ThemedSession, world.session), {},
                          as_actor(db.session.get(User, world.planner)))
        threads = [threading.Thread(target=later, args=(label, act)) for label, act in (("rate", rate),
                                                                                          ("decide", decide))]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # both are now waiting for the session row (or, on SQLite, the write lock)
        db.session.commit()
        db.session.remove()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes == {"rate": "locked", "decide": "locked"}
    with app_db(app) as session:
        assert session.scalar(select(func.count(Rating.id)).where(Rating.value == 1.0)) == 0
        assert session.get(Proposal, world.proposals[0]).decision is None
        assert session.scalar(select(func.count(RankingSnapshot.id))) == 1


def test_corrections_record_their_reason_in_the_audit_log(app, client, world):
    rate_everything(app, world)
    assert finalize(client, world).status_code == 303
    cids = criteria_ids(app, world)
    data = form_fields(rating_page(client, world, world.proposals[0])) | {f"rating_{cid}": "2" for cid in cids}
    client.post(f"/sesi/{world.session}/penilaian/{world.proposals[0]}", data=data | {"correction_reason": "Salah ketik."})
    post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[0]}",
              {"outcome": "deferred", "reason": "Menunggu data.", "correction_reason": "Rapat lanjutan."})
    with app_db(app) as session:
        events = {e.action: e for e in session.scalars(select(AuditEvent))}
        assert events["rating.corrected"].after["reason"] == "Salah ketik."
        assert events["decision.corrected"].after["correction_reason"] == "Rapat lanjutan."


def test_why_not_selected_under_optimal_selection_names_the_amount(app, client, world):
    rate_everything(app, world, value=None)
    with app_db(app) as session:
        session.get(ThemedSession, world.session).selection_method = SelectionMethod.OPTIMAL
        session.commit()
    from participation.review.ranking import build_ranking

    with app_db(app) as session:
        ranking = build_ranking(session.get(ThemedSession, world.session), stability=False)
        left = [item for item in ranking.ranked if not item.selected and item.proposal.estimated_cost <= ranking.budget]
        remaining = ranking.remaining
    assert left, "the world should leave a proposal out"
    body = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
    from participation.i18n import rupiah

    with app.test_request_context():
        amount = rupiah(remaining)
    assert f"menyisakan {amount} dari pagu" in body


def test_a_correction_cannot_publish_an_unrankable_snapshot(app, client, world):
    rate_everything(app, world)
    assert finalize(client, world).status_code == 303
    with app_db(app) as session:  # values the method cannot take appear after finalisation
        themed_session = session.get(ThemedSession, world.session)
        themed_session.normalization = Normalization.MAX
        next(c for c in themed_session.criteria if c.source is CriterionSource.JOBS_CREATED).direction = -1
        session.get(Proposal, world.proposals[1]).jobs_created = 0
        session.commit()
    response = post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[0]}",
                         {"outcome": "deferred", "reason": "Menunggu data.", "correction_reason": "Rapat lanjutan."})
    assert response.status_code == 400
    assert "Normalisasi 'max' tidak dapat memeringkat" in html.unescape(response.get_data(as_text=True))
    with app_db(app) as session:
        assert session.scalar(select(func.count(RankingSnapshot.id))) == 1
        assert session.get(Proposal, world.proposals[0]).decision is None


def test_a_hostile_criterion_name_is_escaped_in_labels_and_messages(app, client, world):
    """Lazy translated strings count as safe HTML in Jinja: labels carrying names must not be lazy."""
    rate_everything(app, world)
    sid = world.session
    hostile = "<script>alert('kriteria')</script>"
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        jobs = next(c for c in themed_session.criteria if c.source is CriterionSource.JOBS_CREATED)
        jobs.name, jobs.direction = hostile, -1
        themed_session.normalization = Normalization.MAX
        session.get(Proposal, world.proposals[1]).jobs_created = 0
        session.commit()
    for path in (f"/sesi/{sid}/ahp", f"/sesi/{sid}/bobot", f"/sesi/{sid}/peringkat", f"/sesi/{sid}/finalisasi"):
        body = client.get(path).get_data(as_text=True)
        assert "<script>alert(" not in body, path
        assert "&lt;script&gt;alert(" in body or path.endswith("finalisasi"), path
