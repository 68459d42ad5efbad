"""Exact selection by knapsacks per capped group where the budget cannot bind (scoring/_groups.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from participation.scoring import _groups, constrained, select_within_budget
from tests.scoring.test_constrained import brute_force, feasible


@pytest.fixture
def no_highs(monkeypatch):
    """HiGHS may not be called: a call fails the test (the knapsacks must have solved it)."""
    def refuse(*args, **kwargs):
        raise AssertionError("HiGHS was called where the knapsacks per group apply")

    monkeypatch.setattr(constrained, "_solve", refuse)


@st.composite
def slack_budget_problems(draw):
    """Every alternative in a capped group (three groups), the caps within the budget; lists and must-fund."""
    n = draw(st.integers(1, 11))
    scores = np.array(draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.5, 0.75, 1.0, 0.3333, 0.6667]),
                                    min_size=n, max_size=n)))
    unit = draw(st.sampled_from([1, 1_000_000, 999_983]))
    costs = np.array(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)), dtype=np.int64) * unit
    groups = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    caps = {label: draw(st.integers(0, int(costs[groups == label].sum()) + unit)) for label in range(3)}
    budget = sum(min(cap, int(costs[groups == label].sum())) for label, cap in caps.items())
    budget += draw(st.integers(0, 3)) * unit
    exclusive = draw(st.lists(st.lists(st.integers(0, n - 1), min_size=2, max_size=3, unique=True),
                              max_size=4)) if n > 1 else []
    must = np.zeros(n, dtype=bool)
    for index in draw(st.lists(st.integers(0, n - 1), max_size=2, unique=True)):
        label = groups[index]
        room = caps[label] - int(costs[must & (groups == label)].sum())
        clash = any(index in members and must[members].any() for members in exclusive)
        if costs[index] <= room and not clash:
            must[index] = True
    return scores, costs, budget, dict(must=must, exclusive=exclusive, groups=groups, group_caps=caps)


@settings(max_examples=150, deadline=None)
@given(slack_budget_problems())
def test_the_knapsacks_per_group_equal_brute_force(problem):
    scores, costs, budget, constraints = problem
    with pytest.MonkeyPatch.context() as patch:  # solved by the knapsacks, never by HiGHS
        patch.setattr(constrained, "_solve", lambda *a, **k: pytest.fail("HiGHS was called"))
        chosen = select_within_budget(scores, costs, budget, "optimal", **constraints)
    assert feasible(chosen[None, :], costs, budget, **constraints)[0]
    assert chosen[constraints["must"]].all()
    assert float(scores[chosen].sum()) == pytest.approx(brute_force(scores, costs, budget, **constraints), abs=1e-9)


def planning_case(seed: int):
    """2,000 proposals, 8 categories each capped at a quarter of what it asks, rating-like scores, 50 pairs."""
    from participation.scoring import saw

    rng = np.random.default_rng(seed)
    n = 2000
    weights = rng.random(7)
    scores = saw(rng.integers(3, 16, size=(n, 7)) / 3.0, weights / weights.sum(), np.ones(7))
    costs = rng.integers(5, 501, n) * 1_000_000
    groups = rng.integers(0, 8, n)
    caps = {label: int(costs[groups == label].sum() // 4) for label in range(8)}
    chosen = rng.permutation(n)
    must = np.zeros(n, dtype=bool)
    must[chosen[100:110]] = True
    exclusive = [chosen[2 * i: 2 * i + 2].tolist() for i in range(50)]
    return scores, costs, int(costs.sum() // 3), dict(must=must, exclusive=exclusive, groups=groups, group_caps=caps)


def test_a_large_session_with_every_category_capped_is_solved_without_highs_and_as_highs_solves_it(monkeypatch):
    scores, costs, budget, constraints = planning_case(1)
    ours = select_within_budget(scores, costs, budget, "optimal", **constraints)
    monkeypatch.setattr(constrained, "solve_by_groups", lambda *args, **kwargs: None)
    highs = select_within_budget(scores, costs, budget, "optimal", **constraints)
    assert float(scores[ours].sum()) == pytest.approx(float(scores[highs].sum()), abs=1e-9)
    assert feasible(ours[None, :], costs, budget, **constraints)[0] and ours[constraints["must"]].all()
    monkeypatch.undo()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constrained, "_solve", lambda *a, **k: pytest.fail("HiGHS was called"))
        assert (select_within_budget(scores, costs, budget, "optimal", **constraints) == ours).all()


def test_where_the_budget_can_bind_or_a_category_is_uncapped_highs_solves_it(no_highs):
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    costs = np.array([4, 4, 4, 4])
    groups = np.array([0, 0, 1, 1])
    with pytest.raises(AssertionError, match="HiGHS was called"):  # caps 8 + 8 > the budget of 12
        select_within_budget(scores, costs, 12, "optimal", groups=groups, group_caps={0: 8, 1: 8}, exclusive=[[0, 2]])
    with pytest.raises(AssertionError, match="HiGHS was called"):  # group 1 has no cap
        select_within_budget(scores, costs, 16, "optimal", groups=groups, group_caps={0: 4}, exclusive=[[0, 2]])
    chosen = select_within_budget(scores, costs, 16, "optimal", groups=groups, group_caps={0: 4, 1: 8},
                                  exclusive=[[0, 2]])
    # The pair keeps 0 or 2: 1, 2 and 3 (2.1) beat 0 and 3 (1.5).
    assert chosen.tolist() == [False, True, True, True]


def test_a_search_that_grows_too_large_gives_way_to_highs(monkeypatch):
    scores, costs, budget, constraints = planning_case(2)
    expected = select_within_budget(scores, costs, budget, "optimal", **constraints)
    monkeypatch.setattr(_groups, "MAX_WORK", 0)
    called = []
    real = constrained._solve
    monkeypatch.setattr(constrained, "_solve", lambda *a, **k: called.append(1) or real(*a, **k))
    fallback = select_within_budget(scores, costs, budget, "optimal", **constraints)
    assert called and float(scores[fallback].sum()) == pytest.approx(float(scores[expected].sum()), abs=1e-9)


def test_ties_lean_to_the_better_ranked_alternative(no_highs):
    # Two equal scores and costs in one capped group with room for one: the first by rank (the
    # lower row, at equal score and cost) is kept.
    chosen = select_within_budget(np.array([0.5, 0.5]), np.array([3, 3]), 10, "optimal",
                                  groups=np.array([0, 0]), group_caps={0: 3}, exclusive=[[0, 1]])
    assert chosen.tolist() == [True, False]
