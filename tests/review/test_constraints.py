"""The planner's selection constraints: must-fund, exclusive groups and category caps, on the ranked list."""
from __future__ import annotations

import html

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from participation.models import AuditEvent, Category, ExclusiveGroup, Proposal, SelectionMethod, SessionStatus
from participation.models import ThemedSession, User
from participation.review import constraints as services
from participation.review.constraints import SessionConstraints
from participation.review.ranking import Listed, build_ranking, export_payload
from tests.conftest import app_db, post_form
from tests.factories import as_actor
from tests.hostile import corpus_for, is_server_error

COSTS = [40_000_000, 90_000_000, 25_000_000, 60_000_000, 15_000_000]
BUDGET = 150_000_000


@pytest.fixture(params=["greedy", "optimal"])
def world(request, make_world, login_as):
    """Five rated proposals (two categories), a ceiling of Rp150 million, selected greedy or optimal."""
    world = make_world(
        planners=2, facilitator=True, status=SessionStatus.REVIEW, budget_ceiling=BUDGET,
        selection_method=SelectionMethod(request.param),
        proposals=[{"business": {"nib": f"{n + 1:013d}", "name": f"Usaha {n}"},
                    "title": f"Usulan nomor {n}", "estimated_cost": cost, "beneficiaries": 10 * (n + 1),
                    "jobs_created": n, "category": n % 2} for n, cost in enumerate(COSTS)],
        rated=[lambda p, c, u: 1 + (p.id * 7 + c.id) % 5, lambda p, c, u: 1 + (p.id * 3 + c.id) % 5])
    login_as(world.planner)
    return world


def ranked(app, world):
    """The ranking's items by rank (ranked ones only) and its export payload."""
    with app.app_context():
        from participation.extensions import db

        ranking = build_ranking(db.session.get(ThemedSession, world.session), stability=False)
        return ranking, export_payload(ranking)


def page(client, world) -> str:
    response = client.get(f"/sesi/{world.session}/peringkat")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def constraints_path(world, tail="") -> str:
    return f"/sesi/{world.session}/batasan{tail}"


def test_a_must_fund_proposal_is_always_funded_and_marked(app, client, world):
    ranking, _ = ranked(app, world)
    last = [item for item in ranking.ranked if not item.selected][-1]
    response = post_form(client, constraints_path(world, "/wajib"),
                         {"wajib-receipt_number": last.proposal.receipt_number.lower(),
                          "wajib-reason": "  Program prioritas wali kota  "}, token_from=constraints_path(world))
    assert response.status_code == 303
    after, payload = ranked(app, world)
    item = next(item for item in after.items if item.proposal.id == last.proposal.id)
    assert item.selected and item.must_fund_reason == "Program prioritas wali kota"
    assert sum(i.proposal.estimated_cost for i in after.items if i.selected) <= BUDGET
    text = page(client, world)
    assert "Wajib didanai" in text and "Program prioritas wali kota" in text
    assert payload["constraints"]["must_fund"] == [{"receipt_number": last.proposal.receipt_number,
                                                   "reason": "Program prioritas wali kota"}]
    with app_db(app) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "selection.must_fund_set"))
        assert event.after["reason"] == "Program prioritas wali kota"
    response = post_form(client, constraints_path(world, f"/wajib/{last.proposal.id}/hapus"), {},
                         token_from=constraints_path(world))
    assert response.status_code == 303
    assert ranked(app, world)[0].constraints.must == {}


def test_a_category_cap_keeps_proposals_out_and_says_so(app, client, world):
    response = post_form(client, constraints_path(world, f"/kategori/{world.categories[0]}"),
                         {f"kategori-{world.categories[0]}-cap": "30.000.000"}, token_from=constraints_path(world))
    assert response.status_code == 303
    ranking, payload = ranked(app, world)
    in_category = [item for item in ranking.items if item.proposal.category_id == world.categories[0]]
    assert sum(item.proposal.estimated_cost for item in in_category if item.selected) <= 30_000_000
    kept = [item for item in in_category if not item.selected]
    assert kept
    text = page(client, world)
    for item in kept:
        assert item.not_selected.reason.value == "category_cap"
        line = next(line for line in payload["proposals"] if line["receipt_number"] == item.proposal.receipt_number)
        assert line["kept_out_by"]["kind"] == "category_cap" and line["kept_out_by"]["cap"] == 30_000_000
    assert "Tertahan oleh batas anggaran kategorinya" in text and "Rp30.000.000" in text


def test_an_exclusive_pair_names_the_funded_competitor(app, client, world):
    ranking, _ = ranked(app, world)
    first, second = [item for item in ranking.ranked if item.selected][:2]
    receipts = f"{first.proposal.receipt_number}, {second.proposal.receipt_number}"
    response = post_form(client, constraints_path(world, "/grup"), {"grup-name": "Usulan serupa",
                                                                      "grup-receipts": receipts},
                         token_from=constraints_path(world))
    assert response.status_code == 303
    after, payload = ranked(app, world)
    chosen = [item for item in after.items if item.proposal.id in (first.proposal.id, second.proposal.id)]
    assert sum(item.selected for item in chosen) == 1
    out = next(item for item in chosen if not item.selected)
    funded = next(item for item in chosen if item.selected)
    text = page(client, world)
    assert f"bersaing dengan {funded.proposal.receipt_number} “{funded.proposal.title}”" in text
    assert payload["constraints"]["exclusive_groups"] == [
        {"name": "Usulan serupa", "receipt_numbers": sorted([first.proposal.receipt_number,
                                                             second.proposal.receipt_number])}]
    line = next(line for line in payload["proposals"] if line["receipt_number"] == out.proposal.receipt_number)
    assert line["kept_out_by"] == {"kind": "exclusive", "partner": funded.proposal.receipt_number}
    with app_db(app) as session:
        group = session.scalar(select(ExclusiveGroup))
    response = post_form(client, constraints_path(world, f"/grup/{group.id}/hapus"), {},
                         token_from=constraints_path(world))
    assert response.status_code == 303 and ranked(app, world)[0].constraints.groups == []


def test_a_group_needs_two_proposals_of_the_session_and_keeps_what_was_typed(app, client, world):
    response = post_form(client, constraints_path(world, "/grup"),
                         {"grup-name": "Kembar", "grup-receipts": f"{world.receipts[0]} {world.receipts[0]}"},
                         token_from=constraints_path(world))
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "sedikitnya dua usulan yang berbeda" in text and "Kembar" in text
    response = post_form(client, constraints_path(world, "/grup"),
                         {"grup-name": "Asing", "grup-receipts": f"{world.receipts[0]} MT-1999-9999"},
                         token_from=constraints_path(world))
    assert response.status_code == 400
    assert "Bukan usulan yang diajukan ke sesi ini: MT-1999-9999" in html.unescape(response.get_data(as_text=True))
    with app_db(app) as session:
        assert session.scalar(select(ExclusiveGroup)) is None


def test_forms_refuse_a_missing_reason_and_a_negative_cap_with_data_kept(app, client, world):
    response = post_form(client, constraints_path(world, "/wajib"),
                         {"wajib-receipt_number": world.receipts[1], "wajib-reason": "   "},
                         token_from=constraints_path(world))
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Berikan alasan usulan ini wajib didanai." in text and f'value="{world.receipts[1]}"' in text
    response = post_form(client, constraints_path(world, f"/kategori/{world.categories[1]}"),
                         {f"kategori-{world.categories[1]}-cap": "-5"}, token_from=constraints_path(world))
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and "Batas anggaran tidak boleh negatif." in text and 'value="-5"' in text
    with app_db(app) as session:
        assert session.get(Category, world.categories[1]).budget_cap is None
        assert session.get(Proposal, world.proposals[1]).must_fund_reason is None


def test_a_must_fund_set_that_cannot_fit_is_a_message_not_an_error(app, client, world):
    with app_db(app) as session:
        planner = session.get(User, world.planner)
        for proposal_id in world.proposals[:4]:  # Rp215 million, over the ceiling of Rp150 million
            services.set_must_fund(session.get(Proposal, proposal_id), "Janji kampanye", as_actor(planner))
        session.commit()
    text = page(client, world)
    assert "Usulan wajib didanai tidak dapat didanai semuanya" in text and "Rp215.000.000" in text
    assert client.get(constraints_path(world)).status_code == 200
    ranking, payload = ranked(app, world)
    assert payload["constraints"]["problem"] == ranking.constraint_problem
    assert sum(item.proposal.estimated_cost for item in ranking.items if item.selected) <= BUDGET


def test_constraints_are_refused_after_finalisation(app, client, world):
    with app_db(app) as session:
        session.get(ThemedSession, world.session).status = SessionStatus.FINALIZED
        planner = session.get(User, world.planner)
        session.commit()
        with pytest.raises(services.ConstraintError, match="locked"):
            services.set_category_cap(session.get(Category, world.categories[0]), 0, as_actor(planner))
        session.rollback()
    token_page = f"/sesi/{world.session}/peringkat"
    response = post_form(client, constraints_path(world, "/wajib"),
                         {"wajib-receipt_number": world.receipts[0], "wajib-reason": "Terlambat"}, token_from=token_page)
    assert response.status_code == 409
    assert "Sesi sudah difinalkan" in html.unescape(response.get_data(as_text=True))
    response = post_form(client, constraints_path(world, f"/kategori/{world.categories[0]}"),
                         {f"kategori-{world.categories[0]}-cap": "0"}, token_from=token_page)
    assert response.status_code == 409
    response = post_form(client, constraints_path(world, "/grup"),
                         {"grup-name": "Terlambat", "grup-receipts": " ".join(world.receipts[:2])},
                         token_from=token_page)
    assert response.status_code == 409
    with app_db(app) as session:
        assert session.get(Proposal, world.proposals[0]).must_fund_reason is None
        assert session.get(Category, world.categories[0]).budget_cap is None
        assert session.scalar(select(ExclusiveGroup)) is None


def test_hostile_reasons_are_refused_or_shown_escaped(app, client, world):
    for label, payload in corpus_for(app).items():
        response = post_form(client, constraints_path(world, "/wajib"),
                             {"wajib-receipt_number": world.receipts[2], "wajib-reason": payload},
                             token_from=constraints_path(world))
        assert not is_server_error(response), label
        assert response.status_code in (303, 400), label
        body = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body, label
        if response.status_code == 303:
            with app_db(app) as session:
                stored = session.get(Proposal, world.proposals[2]).must_fund_reason
            assert stored and stored == stored.strip() and len(stored) <= 500, label
            if label == "template":
                assert "{{7*7}}" in html.unescape(body)


def test_the_snapshot_carries_the_constraints(app, world):
    from participation.review.services import finalize

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        actor = as_actor(session.get(User, world.planner))
        services.set_category_cap(session.get(Category, world.categories[1]), 0, actor)
        services.set_must_fund(session.get(Proposal, world.proposals[4]), "Sudah berjalan", actor)
        snapshot = finalize(themed_session, {}, actor)
        session.commit()
        exported = snapshot.payload["export"]
    assert exported["constraints"]["category_caps"] == [{"category": _category_name(app, world.categories[1]),
                                                        "cap": 0}]
    assert exported["constraints"]["must_fund"][0]["reason"] == "Sudah berjalan"
    for line in exported["proposals"]:
        if line["category"] == _category_name(app, world.categories[1]) and line["receipt_number"] != world.receipts[4]:
            assert not line["selected"] and line["kept_out_by"]["kind"] == "category_cap"


def _category_name(app, category_id) -> str:
    with app_db(app) as session:
        return session.get(Category, category_id).name


@st.composite
def small_sessions(draw):
    n = draw(st.integers(1, 8))
    costs = draw(st.lists(st.integers(1, 60), min_size=n, max_size=n))
    categories = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    values = draw(st.lists(st.lists(st.integers(1, 5), min_size=7, max_size=7), min_size=n, max_size=n))
    must = draw(st.sets(st.integers(0, n - 1), max_size=2))
    groups = draw(st.lists(st.sets(st.integers(0, n - 1), min_size=2, max_size=3), max_size=2)) if n > 1 else []
    caps = draw(st.dictionaries(st.integers(0, 2), st.integers(0, 120), max_size=3))
    budget = draw(st.integers(0, 200))
    method = draw(st.sampled_from(["greedy", "optimal"]))
    return costs, categories, values, must, groups, caps, budget, method


def test_constraints_are_never_violated_on_random_small_sessions(app, make_world):
    world = make_world(status=SessionStatus.REVIEW, budget_ceiling=BUDGET)

    @settings(max_examples=30, derandomize=True, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(small_sessions())
    def check(case):
        costs, categories, values, must, groups, caps, budget, method = case
        with app_db(app) as session:
            themed_session = session.get(ThemedSession, world.session)
            themed_session.budget_ceiling = budget * 1_000_000
            themed_session.selection_method = SelectionMethod(method)
            category_ids = [c.id for c in themed_session.categories]
            listed = [Listed(id=1000 + i, session_id=world.session, receipt_number=f"MT-2027-{i + 1:04d}",
                             title=f"Usulan {i}", category_id=category_ids[categories[i]],
                             category_name=f"Kategori {categories[i]}", estimated_cost=cost * 1_000_000,
                             beneficiaries=values[i][5], jobs_created=values[i][6], votes=0, kecamatan="",
                             business_name="", decision_outcome=None) for i, cost in enumerate(costs)]
            matrix = np.array(values, dtype=float)
            constraints = SessionConstraints(
                must={1000 + i: "alasan" for i in must},
                groups=[(k, f"grup {k}", [1000 + i for i in sorted(members)]) for k, members in enumerate(groups)],
                caps={category_ids[label]: cap * 1_000_000 for label, cap in caps.items()})
            ranking = build_ranking(themed_session, proposals=listed, matrix=matrix[:, :len(themed_session.criteria)],
                                    constraints=constraints, stability=True)
            session.rollback()
        chosen = [item for item in ranking.items if item.selected]
        assert sum(item.proposal.estimated_cost for item in chosen) <= budget * 1_000_000
        for label, cap in caps.items():
            spent = sum(item.proposal.estimated_cost for item in chosen if item.proposal.category_id == category_ids[label])
            assert spent <= cap * 1_000_000
        for members in groups:
            assert sum(1 for item in chosen if item.proposal.id - 1000 in members) <= 1
        if ranking.constraint_problem is None:
            assert all(item.selected and item.stability == 1 for item in ranking.items if item.proposal.id - 1000 in must)
        for item in ranking.items:
            assert item.selected or item.not_selected is not None
            if not item.selected:
                str(item.not_selected)  # every reason has its sentence

    check()
