"""Selection under must-fund, exclusive lists and group caps: against brute force, step by step."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from participation.scoring import Exclusion, exclusion_reasons, rank, select_within_budget


def all_subsets(n: int) -> np.ndarray:
    """Every subset of n alternatives as a (2**n, n) bool matrix."""
    return np.array(list(itertools.product([False, True], repeat=n)), dtype=bool)


def feasible(masks, costs, budget, must=None, exclusive=(), groups=None, group_caps=None) -> np.ndarray:
    """Which rows of `masks` keep every constraint (exact integer arithmetic)."""
    costs = np.asarray(costs, dtype=np.int64)
    ok = (masks.astype(np.int64) @ costs) <= budget
    if must is not None:
        ok &= (masks | ~np.asarray(must, dtype=bool)).all(axis=1)
    for members in exclusive:
        ok &= masks[:, sorted(set(members))].sum(axis=1) <= 1
    for label, cap in (group_caps or {}).items():
        inside = np.asarray(groups) == label
        ok &= (masks[:, inside].astype(np.int64) @ costs[inside]) <= cap
    return ok


def brute_force(scores, costs, budget, **constraints) -> float | None:
    """The largest total score of a feasible subset; None if there is none."""
    masks = all_subsets(len(scores))
    ok = feasible(masks, costs, budget, **constraints)
    if not ok.any():
        return None
    return float((masks[ok].astype(float) @ np.asarray(scores)).max())


def random_case(seed: int, kinds: str):
    """A random problem of at most 12 alternatives with the constraint kinds in `kinds`."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 13))
    scores = np.round(rng.random(n), int(rng.choice([2, 6])))  # rounding makes ties likely
    unit = int(rng.choice([1, 1_000_000, 999_983]))
    costs = rng.integers(0, 40, n) * unit
    budget = int(rng.integers(0, int(costs.sum()) + unit + 1))
    constraints = {}
    if "m" in kinds:
        # Random rows (often ones the unconstrained optimum leaves out), kept affordable together.
        must, spent = np.zeros(n, dtype=bool), 0
        for index in rng.permutation(n).tolist():
            if rng.random() < 0.35 and spent + costs[index] <= budget:
                must[index], spent = True, spent + int(costs[index])
        constraints["must"] = must
    if "e" in kinds:
        constraints["exclusive"] = [rng.choice(n, size=int(rng.integers(1, min(n, 4) + 1)), replace=False).tolist()
                                    for _ in range(int(rng.integers(1, 4)))]
        if "m" in kinds:  # at most one must-fund per exclusive list
            for members in constraints["exclusive"]:
                chosen = [i for i in members if constraints["must"][i]]
                for extra in chosen[1:]:
                    constraints["must"][extra] = False
    if "g" in kinds:
        groups = rng.integers(0, 3, n)
        constraints["groups"] = groups
        caps = {}
        for label in range(3):
            if rng.random() < 0.7:
                total = int(costs[groups == label].sum())
                caps[label] = int(rng.integers(0, total + 2)) if total else 0
                if "m" in kinds:
                    caps[label] = max(caps[label], int(costs[constraints["must"] & (groups == label)].sum()))
        constraints["group_caps"] = caps
    return scores, costs, budget, constraints


KINDS = ["m", "e", "g", "meg", "eg"]


@pytest.mark.parametrize("kinds", KINDS)
@pytest.mark.parametrize("seed", range(12))
def test_optimal_equals_brute_force_under_every_constraint_kind(kinds, seed):
    scores, costs, budget, constraints = random_case(seed, kinds)
    chosen = select_within_budget(scores, costs, budget, "optimal", **constraints)
    assert feasible(chosen[None, :], costs, budget, **constraints)[0]
    assert float(scores[chosen].sum()) == pytest.approx(brute_force(scores, costs, budget, **constraints), abs=1e-6)


@pytest.mark.parametrize("kinds", KINDS)
@pytest.mark.parametrize("seed", range(12))
def test_greedy_takes_each_in_rank_order_that_keeps_every_constraint(kinds, seed):
    scores, costs, budget, constraints = random_case(seed, kinds)
    chosen = select_within_budget(scores, costs, budget, "greedy", **constraints)
    n = len(scores)
    must = np.asarray(constraints.get("must", np.zeros(n, dtype=bool)))
    state = must.copy()
    assert feasible(state[None, :], costs, budget, **constraints)[0]
    # Walk the rank order: each alternative is taken exactly when adding it keeps every constraint.
    for index in np.argsort(rank(scores)).tolist():
        if must[index]:
            assert chosen[index]
            continue
        trial = state.copy()
        trial[index] = True
        fits = bool(feasible(trial[None, :], costs, budget, **constraints)[0])
        assert bool(chosen[index]) == fits, f"row {index}"
        if fits:
            state = trial
    assert np.array_equal(state, chosen)


def test_constraints_that_cannot_bind_keep_the_unconstrained_answer():
    rng = np.random.default_rng(5)
    scores, costs = rng.random(40), rng.integers(1, 50, 40) * 1000
    budget = int(costs.sum() // 3)
    groups = np.arange(40) % 4
    loose = {label: int(costs[groups == label].sum()) for label in range(4)}
    for method in ("greedy", "optimal"):
        plain = select_within_budget(scores, costs, budget, method)
        same = select_within_budget(scores, costs, budget, method, must=np.zeros(40, dtype=bool),
                                    exclusive=[[3], [7, 7]], groups=groups, group_caps=loose)
        assert np.array_equal(plain, same)


def test_a_worked_example_with_every_constraint_and_its_reasons():
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.1]
    costs = [50, 40, 30, 30, 20, 10]
    groups = [0, 0, 1, 1, 1, 2]
    must = [False, False, False, False, False, True]  # row 5, the weakest, is must-fund
    exclusive = [[0, 2]]  # rows 0 and 2 are alternatives to each other
    caps = {0: 60, 1: 50}
    kwargs = dict(must=must, exclusive=exclusive, groups=groups, group_caps=caps)
    greedy = select_within_budget(scores, costs, 100, "greedy", **kwargs)
    # Row 5 first (must, 10); row 0 (50, group 0 at 50); row 1 would take group 0 to 90 > 60; row 2
    # competes with row 0; row 3 (30, total 90); row 4 would take the total to 110 > 100.
    assert greedy.tolist() == [True, False, False, True, False, True]
    reasons = exclusion_reasons(greedy, costs, 100, exclusive=exclusive, groups=groups, group_caps=caps)
    assert reasons == [None, Exclusion("group_cap", group=0, over=30), Exclusion("exclusive", partner=0), None,
                       Exclusion("ceiling", over=10), None]
    optimal = select_within_budget(scores, costs, 100, "optimal", **kwargs)
    # Rows 1, 2, 4 and 5 score 2.1 for a cost of 100; greedy's rows 0, 3, 5 only 1.6.
    assert optimal.tolist() == [False, True, True, False, True, True]
    assert exclusion_reasons(optimal, costs, 100, exclusive=exclusive, groups=groups, group_caps=caps) == [
        Exclusion("exclusive", partner=2), None, None, Exclusion("group_cap", group=1, over=30), None, None]


def test_an_alternative_that_adds_no_score_is_left_out_for_no_constraint():
    chosen = select_within_budget([0.5, 0.0], [10, 10], 100, "optimal", must=[True, False])
    assert chosen.tolist() == [True, False]
    assert exclusion_reasons(chosen, [10, 10], 100) == [None, Exclusion("none")]


def test_large_arbitrary_rupiah_costs_stay_within_every_limit():
    rng = np.random.default_rng(11)
    n = 300
    scores = rng.random(n)
    costs = rng.integers(5_000_000_000, 500_000_000_001, n)  # gcd 1, up to Rp500 billion
    groups = rng.integers(0, 4, n)
    caps = {label: int(costs[groups == label].sum() // 5) for label in range(4)}
    budget = int(costs.sum() // 6)
    exclusive = [[int(a), int(b)] for a, b in rng.choice(n, size=(20, 2), replace=False)]
    must = np.zeros(n, dtype=bool)
    must[int(np.argmin(costs))] = True
    for method in ("greedy", "optimal"):
        chosen = select_within_budget(scores, costs, budget, method, must=must, exclusive=exclusive, groups=groups,
                                      group_caps=caps)
        assert chosen[must].all()
        assert int(costs[chosen].sum()) <= budget
        for label, cap in caps.items():
            assert int(costs[chosen & (groups == label)].sum()) <= cap
        assert all(chosen[pair].sum() <= 1 for pair in exclusive)


@pytest.mark.parametrize("seed", range(12))
def test_optimal_stays_exact_through_the_first_small_program(monkeypatch, seed):
    # At this size the small program that improves the incumbent never runs; here it always does.
    monkeypatch.setattr("participation.scoring.constrained.CORE", 2)
    monkeypatch.setattr("participation.scoring.constrained.TRIAL_ABOVE", 0)
    scores, costs, budget, constraints = random_case(seed, "meg")
    chosen = select_within_budget(scores, costs, budget, "optimal", **constraints)
    assert feasible(chosen[None, :], costs, budget, **constraints)[0]
    assert float(scores[chosen].sum()) == pytest.approx(brute_force(scores, costs, budget, **constraints), abs=1e-6)


def test_optimal_matches_highs_on_the_plain_program_at_200_proposals():
    from scipy.optimize import Bounds, LinearConstraint, milp

    rng = np.random.default_rng(8)
    n = 200
    scores, costs, groups = rng.random(n), rng.integers(5, 501, n) * 1_000_000, rng.integers(0, 4, n)
    budget = int(costs.sum() // 3)
    # Every cap binds, the budget does not: four knapsacks coupled by the pairs, the harder case.
    group_caps = {label: int(costs[groups == label].sum() // 4) for label in range(4)}
    pairs = rng.permutation(n)[:40].reshape(20, 2).tolist()
    must = np.zeros(n, dtype=bool)
    must[rng.permutation(n)[:5]] = True
    rows = [costs / 1e6] + [np.where(groups == label, costs / 1e6, 0) for label in range(4)]
    rows += [np.isin(np.arange(n), pair).astype(float) for pair in pairs]
    limits = [budget / 1e6] + [group_caps[label] / 1e6 for label in range(4)] + [1] * len(pairs)
    plain = milp(-scores, integrality=np.ones(n), bounds=Bounds(must.astype(float), np.ones(n)),
                 constraints=LinearConstraint(np.array(rows), -np.inf, limits), options={"mip_rel_gap": 0})
    chosen = select_within_budget(scores, costs, budget, "optimal", must=must, exclusive=pairs, groups=groups,
                                  group_caps=group_caps)
    assert feasible(chosen[None, :], costs, budget, must=must, exclusive=pairs, groups=groups,
                    group_caps=group_caps)[0]
    assert float(scores[chosen].sum()) == pytest.approx(-plain.fun, abs=1e-6)
