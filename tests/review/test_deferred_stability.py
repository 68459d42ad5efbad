"""Stability that the worker computes: optimal selection under constraints (review/stability.py)."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from participation import jobs
from participation.models import Category, Job, SelectionMethod, SessionStatus, ThemedSession, User
from participation.review import constraints as constraint_services
from participation.review.ranking import build_ranking
from participation.review.stability import KIND
from tests.conftest import app_db, post_form
from tests.factories import as_actor

COSTS = [40_000_000, 90_000_000, 25_000_000, 60_000_000, 15_000_000, 35_000_000]
DEFERRED = "Stabilitas belum dihitung untuk angka-angka ini"


def make(make_world, selection: SelectionMethod):
    return make_world(
        planners=2, status=SessionStatus.REVIEW, budget_ceiling=150_000_000, selection_method=selection,
        proposals=[{"business": {"nib": f"{n + 1:013d}", "name": f"Usaha {n}"}, "title": f"Usulan nomor {n}",
                    "estimated_cost": cost, "beneficiaries": 10 * (n + 1), "jobs_created": n, "category": n % 2}
                   for n, cost in enumerate(COSTS)],
        rated=[lambda p, c, u: 1 + (p.id * 7 + c.id) % 5, lambda p, c, u: 1 + (p.id * 3 + c.id) % 5])


def set_cap(app, world, cap: int) -> None:
    with app_db(app) as session:
        actor = as_actor(session.get(User, world.planner))
        constraint_services.set_category_cap(session.get(Category, world.categories[0]), cap, actor)
        session.commit()


def shares(app, world, stability) -> dict[str, float | None]:
    """Receipt number → stability, from a ranking built in a fresh request context."""
    with app.test_request_context(), app_db(app) as session:
        ranking = build_ranking(session.get(ThemedSession, world.session), stability=stability)
        return {item.proposal.receipt_number: item.stability for item in ranking.ranked}


def shown_stability(client, world) -> tuple[str, dict[str, str]]:
    """The ranked list's text and, per receipt number, what its Stability cell (the sixth) reads."""
    response = client.get(f"/sesi/{world.session}/peringkat")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    cells = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        receipt = next((r for r in world.receipts if r in row), None)
        tds = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        if receipt and len(tds) == 8:
            cells[receipt] = html.unescape(re.sub(r"<[^>]+>", "", tds[5])).strip()
    return html.unescape(body), cells


def stability_jobs(app) -> int:
    with app_db(app) as session:
        return session.scalar(select(func.count(Job.id)).where(Job.kind == KIND))


def run_worker(app) -> None:
    with app.app_context():
        assert jobs.run_due() == 1


def test_optimal_under_a_cap_is_computed_by_the_worker_shown_then_and_stale_after_a_change(
        app, client, make_world, login_as):
    world = make(make_world, SelectionMethod.OPTIMAL)
    set_cap(app, world, 50_000_000)
    expected = shares(app, world, True)  # computed here, synchronously: what the worker must find
    assert expected and all(share is not None for share in expected.values())
    login_as(world.planner)
    text, cells = shown_stability(client, world)
    assert DEFERRED in text and "Hitung stabilitas" in text
    assert set(cells.values()) == {"–"}, cells  # no figure shown before it is computed

    path = f"/sesi/{world.session}/peringkat/stabilitas"
    response = post_form(client, path, {}, token_from=f"/sesi/{world.session}/peringkat")
    assert response.status_code == 303 and "/tugas/" in response.headers["Location"]
    again = post_form(client, path, {}, token_from=f"/sesi/{world.session}/peringkat")
    assert again.headers["Location"] == response.headers["Location"]  # one job, not two
    assert stability_jobs(app) == 1
    text, _ = shown_stability(client, world)
    assert "Sedang dihitung" in text and "Hitung stabilitas" not in text

    run_worker(app)
    text, cells = shown_stability(client, world)
    assert DEFERRED not in text
    assert cells == {receipt: f"{round(share * 100)} %" for receipt, share in expected.items()}
    assert shares(app, world, "quick") == expected

    set_cap(app, world, 45_000_000)  # the figures change: the old result no longer applies
    text, cells = shown_stability(client, world)
    assert DEFERRED in text and set(cells.values()) == {"–"}


def test_a_second_planner_is_told_the_stability_is_already_being_computed(app, client, make_world, login_as):
    world = make(make_world, SelectionMethod.OPTIMAL)
    set_cap(app, world, 50_000_000)
    with app_db(app) as session:
        jobs.enqueue(KIND, as_actor(session.get(User, world.planners[1])),
                     themed_session=session.get(ThemedSession, world.session))
        session.commit()
    login_as(world.planner)
    text, _ = shown_stability(client, world)
    assert "Sedang dihitung" in text and "Ikuti kemajuannya" not in text  # the job's page is the other's
    response = post_form(client, f"/sesi/{world.session}/peringkat/stabilitas", {},
                         token_from=f"/sesi/{world.session}/peringkat")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/sesi/{world.session}/peringkat")
    assert stability_jobs(app) == 1
    assert "sudah sedang dihitung" in html.unescape(client.get(f"/sesi/{world.session}/peringkat").get_data(as_text=True))


@pytest.mark.parametrize("selection, capped", [(SelectionMethod.GREEDY, True), (SelectionMethod.OPTIMAL, False)])
def test_greedy_and_unconstrained_optimal_stay_on_the_page(app, client, make_world, login_as, selection, capped):
    world = make(make_world, selection)
    if capped:
        set_cap(app, world, 50_000_000)
    login_as(world.planner)
    text, cells = shown_stability(client, world)
    assert DEFERRED not in text
    assert cells and all(cell.endswith(" %") for cell in cells.values())
    assert stability_jobs(app) == 0


def test_finalising_takes_the_workers_result_or_computes_it(app, client, make_world, login_as):
    from participation.review.services import finalize

    world = make(make_world, SelectionMethod.OPTIMAL)
    set_cap(app, world, 50_000_000)
    expected = shares(app, world, True)
    with app_db(app) as session:
        jobs.enqueue(KIND, as_actor(session.get(User, world.planner)),
                     themed_session=session.get(ThemedSession, world.session))
        session.commit()
    run_worker(app)
    with app.test_request_context(), app_db(app) as session:
        snapshot = finalize(session.get(ThemedSession, world.session), {}, as_actor(session.get(User, world.planner)))
        session.commit()
        assert snapshot.payload["stability"] == expected


def test_the_exact_selection_is_solved_once_while_its_inputs_stay_the_same(app, make_world, monkeypatch):
    from participation import scoring
    from participation.review import stability

    world = make(make_world, SelectionMethod.OPTIMAL)
    set_cap(app, world, 50_000_000)
    monkeypatch.setattr(stability, "SELECTIONS", stability.SelectionMemo())
    solved = []
    real = scoring.select_within_budget
    monkeypatch.setattr(scoring, "select_within_budget", lambda *a, **k: solved.append(a[3]) or real(*a, **k))

    def selected():
        with app.test_request_context(), app_db(app) as session:
            ranking = build_ranking(session.get(ThemedSession, world.session), stability=False)
            return {item.proposal.receipt_number for item in ranking.items if item.selected}

    first = selected()
    assert selected() == first and solved == ["optimal"]  # the second view reused the first's set
    set_cap(app, world, 45_000_000)  # another input: solved again, and within the new cap
    after = selected()
    assert solved == ["optimal", "optimal"]
    with app_db(app) as session:
        from participation.models import Proposal

        in_capped = sum(p.estimated_cost for p in session.scalars(select(Proposal).where(
            Proposal.receipt_number.in_(after), Proposal.category_id == world.categories[0])))
    assert in_capped <= 45_000_000


def test_the_memo_keeps_the_newest_and_hands_out_copies():
    import numpy as np

    from participation.review.stability import SelectionMemo

    memo, calls = SelectionMemo(size=2), []

    def compute(value):
        def run():
            calls.append(value)
            return np.array([value, False])
        return run

    memo.get("a", compute(True))[0] = False  # a caller's change does not reach the memo
    assert memo.get("a", compute(True))[0] and calls == [True]
    memo.get("b", compute(False))
    memo.get("c", compute(False))  # "a" was used least recently: dropped
    memo.get("a", compute(True))
    assert calls == [True, False, False, True]
