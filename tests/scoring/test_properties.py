"""Properties that must hold for any input (hypothesis), plus brute force for `optimal`."""
from __future__ import annotations

import itertools

import pytest

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from participation.scoring import contributions, rank, rank_stability, saw, select_within_budget, topsis

settings.register_profile("ci", max_examples=150, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")

values = st.floats(min_value=0.5, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw, min_rows=1, max_rows=12):
    n = draw(st.integers(min_rows, max_rows))
    k = draw(st.integers(1, 6))
    matrix = draw(arrays(np.float64, (n, k), elements=values))
    weights = draw(arrays(np.float64, (k,), elements=st.floats(0.0, 10.0)).filter(lambda w: w.sum() > 0.01))
    directions = draw(arrays(np.int64, (k,), elements=st.sampled_from([1, -1])))
    return matrix, weights, directions


METHODS = [
    lambda m, w, d: saw(m, w, d, "minmax"),
    lambda m, w, d: saw(m, w, d, "max"),
    lambda m, w, d: topsis(m, w, d),
]


@given(problems(), st.randoms(use_true_random=False))
def test_permuting_alternatives_permutes_the_scores(problem, random):
    matrix, weights, directions = problem
    permutation = np.array(random.sample(range(matrix.shape[0]), matrix.shape[0]))
    for method in METHODS:
        np.testing.assert_allclose(method(matrix[permutation], weights, directions),
                                   method(matrix, weights, directions)[permutation], rtol=0, atol=1e-12)


@given(problems(), st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_all_weights_changes_nothing(problem, factor):
    matrix, weights, directions = problem
    for method in METHODS:
        np.testing.assert_allclose(method(matrix, weights * factor, directions),
                                   method(matrix, weights, directions), rtol=0, atol=1e-12)


@given(problems())
def test_scores_stay_in_the_unit_interval(problem):
    for method in METHODS:
        scores = method(*problem)
        assert np.all((scores >= 0) & (scores <= 1))


@given(problems(min_rows=2))
def test_under_saw_a_dominating_alternative_never_ranks_below(problem):
    matrix, weights, directions = problem
    # Make row 0 dominate row 1: at least as good on every criterion.
    better = np.where(directions > 0, np.maximum(matrix[0], matrix[1]), np.minimum(matrix[0], matrix[1]))
    matrix = matrix.copy()
    matrix[0] = better
    for normalization in ("minmax", "max"):
        scores = saw(matrix, weights, directions, normalization)
        assert scores[0] >= scores[1] - 1e-12
        ranks = rank(scores)
        assert ranks[0] < ranks[1] or abs(scores[0] - scores[1]) <= 1e-9


@given(problems())
def test_contributions_rows_sum_to_saw(problem):
    for normalization in ("minmax", "max"):
        parts = contributions(*problem, normalization)
        assert parts.shape == problem[0].shape
        np.testing.assert_allclose(parts.sum(axis=1), saw(*problem, normalization), rtol=0, atol=1e-12)


@given(arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1, allow_nan=False)),
       st.randoms(use_true_random=False))
def test_rank_is_a_permutation_ordering_scores_best_first(scores, random):
    scores = np.round(scores, random.choice([2, 12]))  # rounding makes ties likely
    ranks = rank(scores)
    assert sorted(ranks.tolist()) == list(range(1, scores.shape[0] + 1))
    by_rank = scores[np.argsort(ranks)]
    assert np.all(np.diff(by_rank) <= 1e-9)
    # Exact ties are ordered by position.
    for i, j in itertools.combinations(range(scores.shape[0]), 2):
        if scores[i] == scores[j]:
            assert ranks[i] < ranks[j]


def test_rank_uses_tiebreak_keys_before_position():
    scores = [0.5, 0.8, 0.5, 0.5 + 5e-10, 0.1]
    cost = [300, 100, 100, 200, 50]
    # 0.5, 0.5 and 0.5+5e-10 are one tie group: by position without keys ...
    assert rank(scores).tolist() == [2, 1, 3, 4, 5]
    # ... and by cost ascending with them: rows 2 (100), 3 (200), 0 (300).
    assert rank(scores, cost).tolist() == [4, 1, 2, 3, 5]
    # A second key only decides where the first is equal.
    assert rank([0.5, 0.5, 0.5], [1, 1, 0], [9, 3, 5]).tolist() == [3, 2, 1]


def test_chained_ties_form_one_group():
    scores = [0.3 + 1.2e-9, 0.3 + 0.6e-9, 0.3]
    assert rank(scores).tolist() == [1, 2, 3]  # one group: by position
    assert rank([0.3, 0.3 + 2e-9]).tolist() == [2, 1]  # further apart than 1e-9: no tie


@st.composite
def budgets(draw, max_items=10):
    n = draw(st.integers(1, max_items))
    scores = draw(arrays(np.float64, (n,), elements=st.floats(0, 1, allow_nan=False)))
    unit = draw(st.sampled_from([1, 7, 1_000_000, 999_983]))
    costs = draw(arrays(np.int64, (n,), elements=st.integers(0, 40))) * unit
    budget = draw(st.integers(0, int(costs.sum()) + unit))
    return scores, costs, budget


def brute_force(scores, costs, budget) -> float:
    best = 0.0
    for mask in itertools.product([False, True], repeat=scores.shape[0]):
        chosen = np.array(mask, dtype=bool)
        if costs[chosen].sum() <= budget:
            best = max(best, float(scores[chosen].sum()))
    return best


@given(budgets())
def test_optimal_is_exact_never_worse_than_greedy_and_within_budget(problem):
    scores, costs, budget = problem
    optimal = select_within_budget(scores, costs, budget, "optimal")
    greedy = select_within_budget(scores, costs, budget, "greedy")
    assert costs[optimal].sum() <= budget and costs[greedy].sum() <= budget
    assert scores[optimal].sum() >= scores[greedy].sum() - 1e-9
    assert abs(scores[optimal].sum() - brute_force(scores, costs, budget)) <= 1e-9


def test_optimal_is_exact_on_large_arbitrary_costs_against_brute_force_on_small_cores():
    """Costs with no common divisor force the reduction + branch-and-bound path."""
    from participation.scoring import selection

    rng = np.random.default_rng(7)
    for _ in range(30):
        n = int(rng.integers(2, 15))
        scores = rng.random(n)
        costs = rng.integers(10**8, 10**9, n) + 1  # gcd 1 in practice: a huge DP table
        budget = int(costs.sum() * rng.uniform(0.2, 0.8))
        assert selection._dp_cells(costs, budget) > selection.DP_CELLS or n < 3
        optimal = select_within_budget(scores, costs, budget, "optimal")
        assert costs[optimal].sum() <= budget
        assert abs(scores[optimal].sum() - brute_force(scores, costs, budget)) <= 1e-9


def test_optimal_matches_an_independent_milp_solver_at_n_2000():
    from scipy.optimize import Bounds, LinearConstraint, milp

    rng = np.random.default_rng(11)
    scores = rng.random(2000)
    for costs in (rng.integers(5, 500, 2000) * 1_000_000, rng.integers(5_000_000, 500_000_000, 2000)):
        budget = int(costs.sum() // 3)
        ours = select_within_budget(scores, costs, budget, "optimal")
        result = milp(-scores, constraints=LinearConstraint(costs[None, :].astype(float), 0, budget),
                      integrality=np.ones(2000), bounds=Bounds(0, 1),
                      options={"mip_rel_gap": 0, "time_limit": 60})
        assert costs[ours].sum() <= budget
        assert scores[ours].sum() >= -result.fun - 1e-7


def test_greedy_takes_the_best_first_and_skips_what_does_not_fit():
    scores = [0.9, 0.8, 0.7, 0.6]
    costs = [60, 50, 30, 10]
    assert select_within_budget(scores, costs, 100, "greedy").tolist() == [True, False, True, True]
    assert select_within_budget(scores, costs, 100, "optimal").tolist() == [True, False, True, True]
    assert select_within_budget(scores, costs, 0, "optimal").tolist() == [False] * 4
    assert select_within_budget([0.5, 0.4], [0, 10], 5, "optimal").tolist() == [True, False]


def test_rank_stability_is_seeded_and_bounded():
    rng = np.random.default_rng(3)
    matrix, weights, directions = rng.random((40, 5)) + 0.1, rng.random(5) + 0.1, [1, -1, 1, 1, -1]
    for method in ("saw", "topsis"):
        first = rank_stability(matrix, weights, directions, 10, method=method, draws=200, seed=5)
        assert np.array_equal(first, rank_stability(matrix, weights, directions, 10, method=method,
                                                    draws=200, seed=5))
        assert np.all((first >= 0) & (first <= 1))
        assert first.sum() == 10  # exactly `top` alternatives are in the top in every draw
        # With no spread the answer is the unperturbed top 10.
        still = rank_stability(matrix, weights, directions, 10, method=method, spread=0.0, draws=3)
        scores = saw(matrix, weights, directions) if method == "saw" else topsis(matrix, weights, directions)
        assert set(np.flatnonzero(still == 1)) == set(np.flatnonzero(rank(scores) <= 10))


def test_a_clear_winner_is_perfectly_stable():
    matrix = np.array([[10.0, 10.0], [1.0, 2.0], [2.0, 1.0], [1.5, 1.5]])
    stability = rank_stability(matrix, [0.5, 0.5], [1, 1], 1, draws=100)
    assert stability.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert rank_stability(matrix, [0.5, 0.5], [1, 1], 4).tolist() == [1.0] * 4


def test_a_hint_speeds_the_exact_search_but_never_changes_its_value():
    from participation.scoring import selection

    rng = np.random.default_rng(13)
    for _ in range(40):
        n = int(rng.integers(5, 60))
        scores = rng.random(n)
        costs = rng.integers(10**8, 10**9, n) + 1  # no common divisor: reduction and branch and bound
        budget = int(costs.sum() * rng.uniform(0.2, 0.7))
        plain = select_within_budget(scores, costs, budget, "optimal")
        # Any feasible set may be the hint, including a poor one.
        hint = select_within_budget(rng.random(n), costs, budget, "greedy")
        order = np.argsort(-scores, kind="stable")
        hinted = selection._optimal(scores, costs, budget, order, known=hint)
        assert costs[hinted].sum() <= budget
        assert scores[hinted].sum() == pytest.approx(scores[plain].sum(), abs=1e-9)


def test_selection_stability_with_optimal_selection():
    from participation.scoring import selection_stability

    rng = np.random.default_rng(5)
    matrix, weights, directions = rng.random((30, 4)) + 0.1, [0.4, 0.3, 0.2, 0.1], [1, 1, -1, 1]
    costs = rng.integers(1, 50, 30) * 1_000_003
    budget = int(costs.sum() // 3)
    still = selection_stability(matrix, weights, directions, costs, budget, selection="optimal", spread=0.0, draws=3)
    base = select_within_budget(saw(matrix, weights, directions), costs, budget, "optimal")
    assert np.array_equal(still == 1, base)
    shares = selection_stability(matrix, weights, directions, costs, budget, selection="optimal", draws=25, seed=9)
    assert np.all((shares >= 0) & (shares <= 1)) and shares[base].mean() > shares[~base].mean()
