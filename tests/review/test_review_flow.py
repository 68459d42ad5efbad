"""Ratings without lost updates, votes, AHP, decisions, finalisation, corrections, public results."""
from __future__ import annotations

import multiprocessing
import re

import pytest
from sqlalchemy import func, select

from participation.models import (
    AuditEvent,
    Decision,
    Proposal,
    RankingSnapshot,
    Rating,
    SessionStatus,
    ThemedSession,
    User,
)
from tests.conftest import STAFF_PASSWORD, app_db, csrf_token, login, post_form
from tests.factories import PDF_BYTES, as_actor, make_business, make_proposal, make_session, rate_all


@pytest.fixture
def world(make_world, login_as):
    """A session in review: the owner's proposal (with an attachment) first, then three others; a planner signed in."""
    world = make_world(facilitator=True, owner=True, status=SessionStatus.REVIEW, budget_ceiling=100_000_000,
                       proposals=[{"business": "owner", "title": "Usulan milik pemilik", "estimated_cost": 30_000_000,
                                   "attachment": PDF_BYTES}]
                       + [{"business": {"nib": f"{n + 10:013d}", "name": f"Usaha {n}"},
                           "title": f"Usulan lain nomor {n}", "estimated_cost": 20_000_000 * (n + 1)}
                          for n in range(3)])
    login_as(world.planner)
    return world


def rating_page(client, world, proposal_id):
    return client.get(f"/sesi/{world.session}/penilaian/{proposal_id}").get_data(as_text=True)


def form_fields(page: str) -> dict:
    fields = dict(re.findall(r'name="(version_\d+)" type="hidden" value="(\d*)"', page))
    fields["csrf_token"] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return fields


def criteria_ids(app, world):
    with app_db(app) as session:
        return [c.id for c in session.get(ThemedSession, world.session).criteria if c.source.value == "rating"]


def test_planner_rates_with_progress_and_an_unrated_filter(app, client, world):
    listing = client.get(f"/sesi/{world.session}/penilaian").get_data(as_text=True)
    assert "0 dari 4 usulan sudah dinilai" in listing
    page = rating_page(client, world, world.proposals[0])
    data = form_fields(page) | {f"rating_{cid}": "4" for cid in criteria_ids(app, world)}
    response = client.post(f"/sesi/{world.session}/penilaian/{world.proposals[0]}", data=data)
    assert response.status_code == 303
    assert f"/penilaian/{world.proposals[1]}" in response.headers["Location"]  # on to the next unrated
    listing = client.get(f"/sesi/{world.session}/penilaian?belum=1").get_data(as_text=True)
    assert "1 dari 4 usulan sudah dinilai" in listing and "Usulan milik pemilik" not in listing
    with app_db(app) as session:
        assert session.scalar(select(func.count(Rating.id))) == 3
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "rating.saved"))


def test_a_second_save_from_a_stale_form_gets_a_conflict_and_overwrites_nothing(app, client, world):
    first = rating_page(client, world, world.proposals[0])
    stale = rating_page(client, world, world.proposals[0])  # the same rating open twice (two tabs)
    cids = criteria_ids(app, world)
    assert client.post(f"/sesi/{world.session}/penilaian/{world.proposals[0]}",
                       data=form_fields(first) | {f"rating_{cid}": "5" for cid in cids}).status_code == 303
    response = client.post(f"/sesi/{world.session}/penilaian/{world.proposals[0]}",
                           data=form_fields(stale) | {f"rating_{cid}": "1" for cid in cids})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Ada yang menyimpan nilai ini setelah Anda membuka formulir" in body
    with app_db(app) as session:
        assert {r.value for r in session.scalars(select(Rating))} == {5.0}
    # The form now carries the current version: saving again is deliberate and works.
    retry = form_fields(body) | {f"rating_{cid}": "2" for cid in cids}
    assert client.post(f"/sesi/{world.session}/penilaian/{world.proposals[0]}", data=retry).status_code == 303
    with app_db(app) as session:
        assert {(r.value, r.version) for r in session.scalars(select(Rating))} == {(2.0, 2)}


@pytest.mark.parametrize("value", ["0", "6", "lima", "", "{{7*7}}", "<script>"])
def test_ratings_outside_the_scale_are_refused(app, client, world, value):
    page = rating_page(client, world, world.proposals[0])
    data = form_fields(page) | {f"rating_{cid}": value for cid in criteria_ids(app, world)}
    response = client.post(f"/sesi/{world.session}/penilaian/{world.proposals[0]}", data=data)
    assert response.status_code == 400
    assert "Pilih nilai." in response.get_data(as_text=True) or "Pilihan tidak valid." in response.get_data(as_text=True)
    with app_db(app) as session:
        assert session.scalar(select(func.count(Rating.id))) == 0


def test_facilitator_records_votes(app, client, world, login_as):
    post_form(client, "/keluar", {}, token_from="/")
    login_as(world.facilitator)
    mine = world.proposals[0]
    response = post_form(client, f"/sesi/{world.session}/suara", {f"votes_{mine}": "37"})
    assert response.status_code == 303
    bad = post_form(client, f"/sesi/{world.session}/suara", {f"votes_{mine}": "-4"})
    assert bad.status_code == 400
    with app_db(app) as session:
        proposal = session.get(Proposal, mine)
        assert proposal.votes == 37 and proposal.votes_recorded_at is not None
        assert all(session.get(Proposal, other).votes == 0 for other in world.proposals[1:])


def ahp_form(page):
    fields = dict(re.findall(r'<select class="form-select form-select-sm" id="(p\d+_\d+)" name="p\d+_\d+">', page) and
                  [(name, "1") for name in re.findall(r'name="(p\d+_\d+)"', page)])
    fields["csrf_token"] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return fields


def test_ahp_shows_weights_and_cr_warns_names_the_worst_pair_and_saves(app, client, world):
    page = client.get(f"/sesi/{world.session}/ahp").get_data(as_text=True)
    data = ahp_form(page)
    with app_db(app) as session:
        ids = [c.id for c in session.get(ThemedSession, world.session).criteria]
    # Urgency beats everything, but the beneficiaries are said to beat urgency strongly: inconsistent.
    for other in ids[1:]:
        data[f"p{ids[0]}_{other}"] = "9"
    data[f"p{ids[3]}_{ids[4]}"] = "1/9"
    data[f"p{ids[1]}_{ids[3]}"] = "9"
    data[f"p{ids[3]}_{ids[5]}"] = "9"
    data[f"p{ids[4]}_{ids[5]}"] = "1/9"
    response = client.post(f"/sesi/{world.session}/ahp", data=data | {"action": "compute"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "λmax" in body and "CR" in body
    consistent = {key: "1" for key in data if key.startswith("p")} | {"csrf_token": data["csrf_token"]}
    for other in ids[1:]:
        consistent[f"p{ids[0]}_{other}"] = "3"
    response = client.post(f"/sesi/{world.session}/ahp", data=consistent | {"action": "compute"})
    assert "Cukup konsisten" in response.get_data(as_text=True)
    inconsistent = dict(consistent)
    inconsistent[f"p{ids[1]}_{ids[2]}"] = "9"
    inconsistent[f"p{ids[2]}_{ids[3]}"] = "9"
    inconsistent[f"p{ids[1]}_{ids[3]}"] = "1/9"
    body = client.post(f"/sesi/{world.session}/ahp", data=inconsistent | {"action": "compute"}).get_data(as_text=True)
    assert "Perbandingan tidak konsisten" in body and "Periksa lebih dulu:" in body
    # The comparison named is the one that disagrees most with the weights, worked out here
    # independently: principal eigenvector by numpy, disagreement |ln(a_ij · w_j / w_i)|.
    import numpy as np
    from fractions import Fraction

    n = len(ids)
    a = np.ones((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a[i, j] = float(Fraction(inconsistent[f"p{ids[i]}_{ids[j]}"]))
            a[j, i] = 1 / a[i, j]
    values, vectors = np.linalg.eig(a)
    w = np.abs(vectors[:, np.argmax(values.real)].real)
    w /= w.sum()
    disagreement = {(i, j): abs(np.log(a[i, j] * w[j] / w[i])) for i in range(n) for j in range(i + 1, n)}
    worst = max(disagreement, key=disagreement.get)
    assert worst in {(1, 2), (2, 3), (1, 3)}  # one of the circle of preferences
    with app_db(app) as session:
        names = [c.name for c in session.get(ThemedSession, world.session).criteria]
    assert f"Periksa lebih dulu: {names[worst[0]]} dibandingkan dengan {names[worst[1]]}" in body
    with app_db(app) as session:
        assert session.get(ThemedSession, world.session).weights_origin == "manual"  # computing saves nothing
    response = client.post(f"/sesi/{world.session}/ahp", data=consistent | {"action": "save"})
    assert response.status_code == 303
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        weights = [c.weight for c in themed_session.criteria]
        assert themed_session.weights_origin == "ahp" and themed_session.ahp_cr == pytest.approx(0, abs=1e-9)
        assert themed_session.ahp_matrix[0][1] == 3.0 and themed_session.ahp_matrix[1][0] == pytest.approx(1 / 3)
        assert weights[0] == pytest.approx(max(weights)) and sum(weights) == pytest.approx(1)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "session.weights_set"))
        assert event.after["origin"] == "ahp" and event.after["matrix"][0][1] == 3.0


def test_ahp_refuses_values_off_the_scale(app, client, world):
    page = client.get(f"/sesi/{world.session}/ahp").get_data(as_text=True)
    data = ahp_form(page)
    key = next(k for k in data if k.startswith("p"))
    for value in ("10", "0", "-3", "1/0", "abc"):
        response = client.post(f"/sesi/{world.session}/ahp", data=data | {key: value, "action": "save"})
        assert response.status_code == 400, value


def rate_everything(app, world, value=4):
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        rate_all(themed_session, [session.get(User, world.planner)],
                 value=lambda p, c, u: 1 + (p.id + c.id) % 5 if value is None else value)
        session.commit()


def test_decisions_keep_the_rank_at_the_time(app, client, world):
    rate_everything(app, world, value=None)
    response = post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[0]}",
                         {"outcome": "prioritized", "reason": "Mendesak dan siap dilaksanakan."})
    assert response.status_code == 303
    with app_db(app) as session:
        decision = session.scalar(select(Decision))
        from participation.review.ranking import build_ranking

        ranking = build_ranking(session.get(ThemedSession, world.session), stability=False)
        rank = next(i.rank for i in ranking.items if i.proposal.id == world.proposals[0])
        assert (decision.outcome.value, decision.rank_at_decision) == ("prioritized", rank)
    missing_reason = post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[0]}",
                               {"outcome": "rejected", "reason": ""})
    assert missing_reason.status_code == 400 and "Beri alasan keputusan." in missing_reason.get_data(as_text=True)
    assert post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[0]}",
                     {"outcome": "approved", "reason": "x" * 20}).status_code == 400


def finalize(client, world, **extra):
    return post_form(client, f"/sesi/{world.session}/finalisasi", {"confirm": "FINAL", **extra})


def test_finalisation_refuses_incomplete_proposals_unless_excluded_with_a_reason(app, client, world):
    response = finalize(client, world)
    assert response.status_code == 400
    assert "Beberapa usulan belum dapat diperingkat" in response.get_data(as_text=True)
    rate_everything(app, world)
    with app_db(app) as session:
        unrated = make_proposal(session.get(ThemedSession, world.session),
                                make_business(nib="7777777777777", name="Usaha Terlambat"),
                                title="Usulan yang terlambat dinilai")
        unrated_id = unrated.id
        session.commit()
    assert finalize(client, world).status_code == 400
    assert finalize(client, world, confirm="iya").status_code == 400
    response = finalize(client, world, **{f"exclude_{unrated_id}": "Diterima setelah rapat penilaian."})
    assert response.status_code == 303
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        snapshot = session.scalar(select(RankingSnapshot))
        assert themed_session.status is SessionStatus.FINALIZED and snapshot.version == 1
        assert snapshot.payload["excluded"] == {str(unrated_id): "Diterima setelah rapat penilaian."}
        assert [p["rank"] for p in snapshot.payload["export"]["proposals"]] == [1, 2, 3, 4, None]
        assert snapshot.payload["export"]["session"]["status"] == "finalized"


def test_after_finalisation_ratings_are_locked_and_corrections_make_new_versions(app, client, world):
    rate_everything(app, world)
    assert finalize(client, world).status_code == 303
    page = rating_page(client, world, world.proposals[0])
    cids = criteria_ids(app, world)
    data = form_fields(page) | {f"rating_{cid}": "1" for cid in cids}
    refused = client.post(f"/sesi/{world.session}/penilaian/{world.proposals[0]}", data=data)
    assert refused.status_code == 400 and "beri alasan koreksi" in refused.get_data(as_text=True)
    corrected = client.post(f"/sesi/{world.session}/penilaian/{world.proposals[0]}",
                            data=data | {"correction_reason": "Salah ketik saat rapat."})
    assert corrected.status_code == 303
    decision = post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[0]}",
                         {"outcome": "deferred", "reason": "Menunggu data.", "correction_reason": "Hasil rapat lanjutan."})
    assert decision.status_code == 303
    with app_db(app) as session:
        versions = session.scalars(select(RankingSnapshot).order_by(RankingSnapshot.version)).all()
        assert [(s.version, s.reason) for s in versions] == [
            (1, ""), (2, "Salah ketik saat rapat."), (3, "Hasil rapat lanjutan.")]
        actions = {e.action for e in session.scalars(select(AuditEvent))}
        assert {"session.finalized", "rating.corrected", "decision.corrected"} <= actions
        mine_line = next(p for p in versions[-1].payload["export"]["proposals"] if p["title"] == "Usulan milik pemilik")
        assert mine_line["decision"] == "deferred" and mine_line["values"]["urgensi"] == 1.0


def test_snapshots_cannot_be_changed(app, client, world):
    from participation.extensions import db
    from participation.models import ImmutableError

    rate_everything(app, world)
    finalize(client, world)
    with app.app_context():
        snapshot = db.session.scalar(select(RankingSnapshot))
        snapshot.reason = "forged"
        with pytest.raises(ImmutableError):
            db.session.commit()
        db.session.rollback()
    with app.app_context():
        with pytest.raises(Exception, match="immutable"):
            with db.engine.begin() as connection:
                connection.exec_driver_sql("UPDATE ranking_snapshots SET reason = 'forged'")


@pytest.mark.provokes_server_error
def test_a_failure_halfway_through_finalisation_leaves_no_trace(app, client, world, monkeypatch):
    from participation.review import services

    rate_everything(app, world)
    written = []
    real_write_snapshot = services.write_snapshot

    def explode(*args, **kwargs):
        written.append(real_write_snapshot(*args, **kwargs))  # the snapshot is flushed, then the disk fills
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "write_snapshot", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert finalize(client, world).status_code == 500
    assert written and written[0].version == 1
    with app_db(app) as session:
        assert session.get(ThemedSession, world.session).status is SessionStatus.REVIEW
        assert session.scalar(select(func.count(RankingSnapshot.id))) == 0
        assert not session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "session.finalized"))


def finalize_in_process(database_url, instance, session_id, email, barrier):
    import os

    os.environ["INSTANCE_PATH"] = instance
    from participation import create_app
    from participation.extensions import db
    from participation.models import ThemedSession, User
    from participation.review import services

    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        actor = db.session.scalar(db.select(User).where(User.email == email))
        db.session.commit()
        barrier.wait()
        try:
            services.finalize(db.session.get(ThemedSession, session_id), {}, as_actor(actor))
            db.session.commit()
            result = "ok"
        except services.ReviewError as error:
            db.session.rollback()
            result = error.code
        db.engine.dispose()
        return result


def test_two_concurrent_finalisations_give_exactly_one_success(app, world, database_url, tmp_path):
    rate_everything(app, world)
    with app_db(app) as session:
        email = session.get(User, world.planner).email
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(2)
    with context.Pool(2) as pool:
        results = pool.starmap(finalize_in_process,
                               [(database_url, str(tmp_path), world.session, email, barrier)] * 2)
    assert sorted(results) == ["not_in_review", "ok"]
    with app_db(app) as session:
        assert session.scalar(select(func.count(RankingSnapshot.id))) == 1


def test_owner_sees_the_decision_and_the_breakdown_after_finalisation(app, client, world, login_as):
    rate_everything(app, world, value=None)
    post_form(client, f"/sesi/{world.session}/keputusan/{world.proposals[0]}",
              {"outcome": "prioritized", "reason": "Mendesak dan siap dilaksanakan."})
    finalize(client, world)
    post_form(client, "/keluar", {}, token_from="/")
    login_as(world.owner)
    page = client.get(f"/usulan/{world.proposals[0]}").get_data(as_text=True)
    assert "Hasil final (versi 1)" in page and "Diprioritaskan" in page and "Susunan skor" in page
    assert "Urgensi" in page
    assert ">Rp30.000.000<" in page  # the cost criterion's value in Rupiah, the counts as whole numbers


def test_public_results_show_no_nib_phone_or_attachment(app, client, world):
    rate_everything(app, world)
    finalize(client, world)
    public = app.test_client()
    assert "Musrenbang Tematik Uji" in public.get("/hasil").get_data(as_text=True)
    page = public.get(f"/hasil/{world.session}").get_data(as_text=True)
    with app_db(app) as session:
        proposal = session.get(Proposal, world.proposals[0])
        business = proposal.business
        assert proposal.receipt_number in page and business.name in page and proposal.title in page
        assert business.nib not in page and business.phone not in page and "lampiran" not in page
        assert "+62" not in page and "penawaran.pdf" not in page
    # An unfinalised session has no public page.
    with app_db(app) as session:
        other = make_session(session.get(User, world.planner), title="Belum final")
        other_id = other.id
        session.commit()
    assert public.get(f"/hasil/{other_id}").status_code == 404


def test_another_planners_session_is_invisible(app, client, world, make_user, login_as):
    post_form(client, "/keluar", {}, token_from="/")
    login_as(make_user("planner"))
    for path in ("peringkat", "penilaian", f"penilaian/{world.proposals[0]}", "suara", "ahp",
                 f"keputusan/{world.proposals[0]}", "finalisasi", "peringkat.json"):
        assert client.get(f"/sesi/{world.session}/{path}").status_code == 404, path
    token = csrf_token(client, "/")
    assert client.post(f"/sesi/{world.session}/finalisasi", data={"csrf_token": token,
                                                                    "confirm": "FINAL"}).status_code == 404


def test_a_facilitator_may_read_the_ranking_but_not_decide(app, client, world, login_as):
    post_form(client, "/keluar", {}, token_from="/")
    login_as(world.facilitator)
    assert client.get(f"/sesi/{world.session}/peringkat").status_code == 200
    assert client.get(f"/sesi/{world.session}/keputusan/{world.proposals[0]}").status_code == 403
    assert client.get(f"/sesi/{world.session}/penilaian").status_code == 403


def test_one_official_ranking_for_exports_minutes_owner_and_public(app, client, world, login_as):
    """Once final, every page and file shows the snapshot, even when live data has moved since."""
    import json

    from participation.documents.render import minutes_context
    from participation.review.ranking import build_ranking, export_payload
    from participation.review.services import official_ranking

    rate_everything(app, world, value=None)
    live_before = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").get_data())
    with app_db(app) as session:
        assert not official_ranking(session.get(ThemedSession, world.session)).is_final
    assert finalize(client, world).status_code == 303
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        official = official_ranking(themed_session)
        assert official.is_final and official.snapshot.version == 1
        order = [line["receipt_number"] for line in official.payload["proposals"]]
        assert order == [line["receipt_number"] for line in live_before["proposals"]]
        # Live data drifts after the meeting (a cost corrected by hand): the live ranking changes ...
        top = session.scalar(select(Proposal).where(Proposal.receipt_number == order[0]))
        top.estimated_cost = 95_000_000
        session.commit()
        live = export_payload(build_ranking(themed_session, stability=False))
        assert [line["receipt_number"] for line in live["proposals"]] != order
        # ... and the official one does not, wherever it is read.
        assert official_ranking(themed_session).payload == official.payload
        assert minutes_context(themed_session)["payload"] == official.payload
        mine = official.line_of(session.get(Proposal, world.proposals[0]).receipt_number)
    exported = json.loads(client.get(f"/sesi/{world.session}/peringkat.json").get_data())
    assert [line["receipt_number"] for line in exported["proposals"]] == order
    public = app.test_client().get(f"/hasil/{world.session}").get_data(as_text=True)
    assert [receipt for receipt in order if receipt in public] == order
    assert sorted(order, key=public.index) == order  # listed in the snapshot's order
    post_form(client, "/keluar", {}, token_from="/")
    login_as(world.owner)
    page = client.get(f"/usulan/{world.proposals[0]}").get_data(as_text=True)
    score = f"{mine['score']:.4f}".replace(".", ",")
    assert f"Peringkat {mine['rank']}, skor {score}." in page  # the snapshot's figures, not the live ones
