"""Properties of constrained selection for any input (hypothesis, few examples to keep the suite fast)."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from participation.scoring import exclusion_reasons, select_within_budget
from tests.scoring.test_constrained import brute_force, feasible

FEW = settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw):
    n = draw(st.integers(1, 9))
    scores = np.array(draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n)))
    unit = draw(st.sampled_from([1, 1_000_000, 999_983]))
    costs = np.array(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)), dtype=np.int64) * unit
    budget = draw(st.integers(0, int(costs.sum()) + unit))
    must = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    must &= np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))  # about a quarter
    rows = st.integers(0, n - 1)
    exclusive = draw(st.lists(st.lists(rows, min_size=1, max_size=4), max_size=3))
    groups = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    caps = draw(st.dictionaries(st.integers(0, 3), st.integers(0, int(costs.sum()) + 1), max_size=3))
    return scores, costs, budget, dict(must=must, exclusive=exclusive, groups=groups, group_caps=caps)


def solve(scores, costs, budget, constraints):
    """Both selections, or None when the must-fund set cannot fit (then both methods refuse)."""
    try:
        greedy = select_within_budget(scores, costs, budget, "greedy", **constraints)
    except ValueError as error:
        assert "must-fund" in str(error)
        return None
    return greedy, select_within_budget(scores, costs, budget, "optimal", **constraints)


@FEW
@given(problems())
def test_constraints_are_never_violated_and_must_is_always_selected(problem):
    scores, costs, budget, constraints = problem
    solved = solve(scores, costs, budget, constraints)
    if solved is None:
        # Refused exactly when the must-fund set itself breaks a constraint.
        assert not feasible(constraints["must"][None, :], costs, budget, **constraints)[0]
        return
    for chosen in solved:
        assert feasible(chosen[None, :], costs, budget, **constraints)[0]
        assert chosen[constraints["must"]].all()


@FEW
@given(problems())
def test_optimal_is_exact_and_never_below_greedy(problem):
    scores, costs, budget, constraints = problem
    solved = solve(scores, costs, budget, constraints)
    if solved is None:
        return
    greedy, optimal = solved
    assert scores[optimal].sum() >= scores[greedy].sum() - 1e-6
    assert abs(scores[optimal].sum() - brute_force(scores, costs, budget, **constraints)) <= 1e-6


@FEW
@given(problems())
def test_every_alternative_left_out_by_greedy_has_a_reason_that_holds(problem):
    scores, costs, budget, constraints = problem
    solved = solve(scores, costs, budget, constraints)
    if solved is None:
        return
    greedy = solved[0]
    keep = {key: constraints[key] for key in ("exclusive", "groups", "group_caps")}
    reasons = exclusion_reasons(greedy, costs, budget, **keep)
    for index, reason in enumerate(reasons):
        if greedy[index]:
            assert reason is None
            continue
        assert reason.kind != "none"  # greedy leaves nothing out that would still fit
        trial = greedy.copy()
        trial[index] = True
        assert not feasible(trial[None, :], costs, budget, **keep)[0]
        if reason.kind == "exclusive":
            assert greedy[reason.partner]
            assert any(index in members and reason.partner in members for members in keep["exclusive"])
        elif reason.kind == "group_cap":
            group = np.asarray(keep["groups"]) == reason.group
            cap = keep["group_caps"][reason.group]
            assert int(costs[greedy & group].sum()) + int(costs[index]) - cap == reason.over
        else:
            assert int(costs[greedy].sum()) + int(costs[index]) - budget == reason.over
