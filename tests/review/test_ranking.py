"""The ranked list: scores through the library, budget line, why-not, filters, what-if, queries."""
from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import event, select

from participation.models import Proposal, SessionStatus, ThemedSession, User
from participation.review.ranking import build_ranking, export_payload
from tests.conftest import app_db, post_form
from tests.factories import make_business, make_proposal, rate_all

COSTS = [40_000_000, 90_000_000, 25_000_000, 60_000_000, 15_000_000]


@pytest.fixture
def world(make_world, login_as):
    """A session in review with five rated proposals and a budget of Rp150 million."""
    world = make_world(
        planners=2, facilitator=True, status=SessionStatus.REVIEW, budget_ceiling=150_000_000,
        proposals=[{"business": {"nib": f"{n + 1:013d}", "name": f"Usaha {n}",
                                 "kecamatan": "Sukamaju" if n % 2 else "Tegalrejo"},
                    "title": f"Usulan nomor {n} yang lengkap", "estimated_cost": cost,
                    "beneficiaries": 10 * (n + 1), "jobs_created": n, "category": n % 2}
                   for n, cost in enumerate(COSTS)],
        # Planners disagree a little: their means make the rating criteria.
        rated=[lambda p, c, u: 1 + (p.id * 7 + c.id) % 5, lambda p, c, u: 1 + (p.id * 3 + c.id) % 5])
    login_as(world.planner)
    return world


def ranking_of(app, session_id, **kwargs):
    with app.app_context():
        from participation.extensions import db

        themed_session = db.session.get(ThemedSession, session_id)
        ranking = build_ranking(themed_session, **kwargs)
        return ranking, export_payload(ranking)


def test_scores_match_an_independent_saw_implementation(app, world):
    from pymcdm.methods import WSM
    from pymcdm.normalizations import minmax_normalization

    _, payload = ranking_of(app, world.session)
    keys = [c["key"] for c in payload["criteria"]]
    matrix = np.array([[p["values"][key] for key in keys] for p in payload["proposals"]])
    weights = np.array([c["weight"] for c in payload["criteria"]])
    types = np.array([c["direction"] for c in payload["criteria"]])
    expected = WSM(minmax_normalization)(matrix, weights, types, validation=False)
    np.testing.assert_allclose([p["score"] for p in payload["proposals"]], expected, atol=1e-12)
    assert [p["rank"] for p in payload["proposals"]] == [1, 2, 3, 4, 5]
    assert sum(weights) == pytest.approx(1.0)


def test_values_are_the_mean_of_the_planners_ratings(app, world):
    ranking, payload = ranking_of(app, world.session)
    with app_db(app) as session:
        proposal = session.scalars(select(Proposal).order_by(Proposal.id)).first()
        from participation.models import Rating

        urgensi = [r.value for r in session.scalars(select(Rating).where(Rating.proposal_id == proposal.id))
                   if r.criterion.key == "urgensi"]
        line = next(p for p in payload["proposals"] if p["receipt_number"] == proposal.receipt_number)
        assert line["values"]["urgensi"] == pytest.approx(sum(urgensi) / len(urgensi))
        assert line["values"]["perkiraan_biaya"] == proposal.estimated_cost


def test_greedy_selection_and_the_why_not_amounts(app, world):
    ranking, payload = ranking_of(app, world.session)
    spent, remaining_seen = 0, []
    for item in ranking.ranked:
        remaining = 150_000_000 - spent
        assert item.remaining_at_turn == remaining
        fits = item.proposal.estimated_cost <= remaining
        assert item.selected is fits
        if fits:
            spent += item.proposal.estimated_cost
        remaining_seen.append(remaining)
    assert ranking.selected_cost == spent <= 150_000_000
    assert [p["selected"] for p in payload["proposals"]] == [item.selected for item in ranking.ranked]


def test_the_page_shows_ranks_budget_line_bars_and_reasons(app, client, world):
    page = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
    assert "Garis pagu: Rp150.000.000" in page or all(
        item.selected for item in ranking_of(app, world.session)[0].ranked)
    assert page.count('role="img"') == 5  # one SVG bar per ranked proposal
    assert "Urgensi" in page and "Rincian" in page
    ranking, _ = ranking_of(app, world.session)
    for item in ranking.ranked:
        if not item.selected:
            assert f"Tidak muat dalam sisa pagu Rp{item.remaining_at_turn:,}".replace(",", ".") in page
    assert re.search(r"\d+ %</td>", page)  # the stability column


def test_a_proposal_missing_a_rating_comes_last_and_says_what_is_missing(app, client, world):
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        extra = make_proposal(themed_session, make_business(nib="9999999999999", name="Usaha Baru"),
                              title="Usulan tanpa nilai sama sekali")
        receipt = extra.receipt_number
        session.commit()
    ranking, payload = ranking_of(app, world.session)
    last = payload["proposals"][-1]
    assert last["receipt_number"] == receipt
    assert (last["rank"], last["score"], last["selected"]) == (None, None, None)
    assert last["values"]["urgensi"] is None and last["values"]["perkiraan_biaya"] == 25_000_000
    page = client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True)
    assert "Belum ada: Urgensi, Kesesuaian dengan prioritas daerah (RPJMD), Kesiapan pelaksanaan" in page


def test_filters_hide_rows_without_changing_ranks(app, client, world):
    ranking, _ = ranking_of(app, world.session)
    with app_db(app) as session:
        category = session.get(ThemedSession, world.session).categories[1]
        category_id, category_name = category.id, category.name
    page = client.get(f"/sesi/{world.session}/peringkat?kategori={category_id}").get_data(as_text=True)
    for item in ranking.ranked:
        shown = item.proposal.receipt_number in page
        assert shown is (item.proposal.category_id == category_id)
        if shown:
            assert f"<strong>{item.rank}</strong>" in page
    page = client.get(f"/sesi/{world.session}/peringkat?kecamatan=Sukamaju").get_data(as_text=True)
    assert sum(item.proposal.receipt_number in page for item in ranking.ranked) == 2


def test_what_if_re_ranks_with_arrows_and_saves_nothing(app, client, world):
    with app_db(app) as session:
        criteria = session.get(ThemedSession, world.session).criteria
        ids = {c.key: c.id for c in criteria}
        saved = {c.key: c.weight for c in criteria}
    # Only cost matters: the cheapest proposal must come first.
    query = {f"w{criterion_id}": ("1" if key == "perkiraan_biaya" else "0") for key, criterion_id in ids.items()}
    response = client.get(f"/sesi/{world.session}/peringkat", query_string=query)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Pratinjau dengan bobot yang belum disimpan." in page
    first_row = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    cheapest = min(COSTS)
    assert "Rp15.000.000" in first_row and cheapest == 15_000_000
    assert "↑" in page or "↓" in page
    with app_db(app) as session:
        assert {c.key: c.weight for c in session.get(ThemedSession, world.session).criteria} == saved
    # Saving them is a separate, audited POST.
    response = post_form(client, f"/sesi/{world.session}/peringkat/bobot", query,
                         token_from=f"/sesi/{world.session}/peringkat")
    assert response.status_code == 303
    with app_db(app) as session:
        weights = {c.key: c.weight for c in session.get(ThemedSession, world.session).criteria}
        assert weights["perkiraan_biaya"] == 1.0 and weights["urgensi"] == 0.0
        from participation.models import AuditEvent

        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "session.weights_set"))


@pytest.mark.parametrize("value", ["-1", "abc", "1e99", "", "{{7*7}}"])
def test_what_if_rejects_bad_weights_without_error(app, client, world, value):
    with app_db(app) as session:
        first = session.get(ThemedSession, world.session).criteria[0].id
    response = client.get(f"/sesi/{world.session}/peringkat", query_string={f"w{first}": value})
    assert response.status_code == 200
    assert "Pratinjau dengan bobot" not in response.get_data(as_text=True)


def test_topsis_and_optimal_sessions_rank_too(app, client, world):
    from participation.models import ScoringMethod, SelectionMethod

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        themed_session.scoring_method = ScoringMethod.TOPSIS
        themed_session.selection_method = SelectionMethod.OPTIMAL
        session.commit()
    ranking, payload = ranking_of(app, world.session)
    assert payload["method"] == "topsis" and payload["selection"] == "optimal"
    from participation.scoring import select_within_budget, topsis

    keys = [c["key"] for c in payload["criteria"]]
    matrix = np.array([[p["values"][k] for k in keys] for p in payload["proposals"]])
    scores = topsis(matrix, [c["weight"] for c in payload["criteria"]], [c["direction"] for c in payload["criteria"]])
    np.testing.assert_allclose([p["score"] for p in payload["proposals"]], scores, atol=1e-12)
    chosen = select_within_budget(scores, [p["estimated_cost"] for p in payload["proposals"]], 150_000_000, "optimal")
    assert [p["selected"] for p in payload["proposals"]] == chosen.tolist()
    page = client.get(f"/sesi/{world.session}/peringkat")
    assert page.status_code == 200
    assert "Skor TOPSIS adalah kedekatan dengan solusi ideal, bukan penjumlahan" in page.get_data(as_text=True)


def count_queries(app, client, url) -> int:
    from participation.extensions import db

    with app.app_context():
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_number_of_queries_does_not_grow_with_the_proposals(app, client, world):
    url = f"/sesi/{world.session}/peringkat"
    client.get(url)  # warm up: user loading, first-request work
    small = count_queries(app, client, url)
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        planners = [session.get(User, world.planner), session.get(User, world.planners[1])]
        themed_session.max_proposals_per_business = 100
        for n in range(40):
            make_proposal(themed_session, make_business(nib=f"{n + 100:013d}", name=f"Usaha Tambahan {n}"),
                          title=f"Usulan tambahan nomor {n}", estimated_cost=10_000_000 + n)
        session.query(__import__("participation.models", fromlist=["Rating"]).Rating).delete()
        rate_all(themed_session, planners, value=3)
        session.commit()
    large = count_queries(app, client, url)
    assert large == small, (small, large)
