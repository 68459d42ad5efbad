"""Every refusal names the offending cell."""
from __future__ import annotations

import numpy as np
import pytest

from participation.scoring import (
    aggregate_ratings,
    ahp_weights,
    contributions,
    rank,
    rank_stability,
    saw,
    select_within_budget,
    selection_stability,
    topsis,
)

GOOD = [[5.0, 450.0, 350.0], [4.0, 1200.0, 500.0], [3.0, 300.0, 75.0]]
W = [0.5, 0.3, 0.2]
D = [1, 1, -1]
SCORERS = [
    saw,
    topsis,
    contributions,
    lambda m, w, d: rank_stability(m, w, d, 1, draws=5),
    lambda m, w, d: selection_stability(m, w, d, [1, 1, 1], 2, draws=5),
]


def cell(matrix, row, column, value):
    changed = np.array(matrix, dtype=float)
    changed[row, column] = value
    return changed


@pytest.mark.parametrize("scorer", SCORERS)
@pytest.mark.parametrize("value,word", [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")])
def test_non_finite_cells_are_named(scorer, value, word):
    with pytest.raises(ValueError, match=rf"matrix cell \(row 2, column 1\) is {word}"):
        scorer(cell(GOOD, 2, 1, value), W, D)


@pytest.mark.parametrize("scorer", SCORERS)
@pytest.mark.parametrize("weights,message", [
    ([0.5, -0.1, 0.6], r"weights\[1\] \(column 1\) is negative"),
    ([0.5, np.nan, 0.5], r"weights\[1\] \(column 1\) is NaN"),
    ([0.5, np.inf, 0.5], r"weights\[1\] \(column 1\) is infinite"),
    ([0.5, 0.5, -np.inf], r"weights\[2\] \(column 2\) is infinite"),
    ([0, 0, 0], r"weights are all zero \(columns 0 to 2\); at least one criterion needs a positive weight"),
    ([0.5, 0.5], r"weights has 2 entries but the matrix has 3 columns \(column 2 has no weight\)"),
    ([0.5], r"weights has 1 entry but the matrix has 3 columns \(columns 1 to 2 have no weight\)"),
    ([0.4, 0.3, 0.2, 0.1], r"weights has 4 entries but the matrix has 3 columns \(weights\[3\] has no column\)"),
    ([[0.5, 0.3, 0.2]], "weights must be 1-D"),
    (["a", "b", "c"], "weights must be numbers"),
])
def test_bad_weights_are_named(scorer, weights, message):
    with pytest.raises(ValueError, match=message):
        scorer(GOOD, weights, D)


@pytest.mark.parametrize("scorer", SCORERS)
@pytest.mark.parametrize("directions,message", [
    ([1, 0, -1], r"directions\[1\] \(column 1\) is 0; use 1 \(benefit\) or -1 \(cost\)"),
    ([1, 2, -1], r"directions\[1\] \(column 1\) is 2"),
    ([1, -1], r"directions has 2 entries but the matrix has 3 columns \(column 2 has no direction\)"),
    ([1, 1, -1, 1, 1], r"directions has 5 entries but the matrix has 3 columns "
                       r"\(directions\[3\] to directions\[4\] have no column\)"),
    ([[1, 1, -1]], "directions must be 1-D"),
])
def test_bad_directions_are_named(scorer, directions, message):
    with pytest.raises(ValueError, match=message):
        scorer(GOOD, W, directions)


@pytest.mark.parametrize("scorer", SCORERS)
@pytest.mark.parametrize("matrix,message", [
    ([1.0, 2.0, 3.0], "matrix must be 2-D"),
    (np.zeros((0, 3)), "matrix is empty"),
    ([["a", "b", "c"]], "matrix must be a 2-D table of numbers"),
])
def test_bad_shapes(scorer, matrix, message):
    with pytest.raises(ValueError, match=message):
        scorer(matrix, W, D)


@pytest.mark.parametrize("value", [0.0, -5.0])
def test_max_normalisation_refuses_non_positive_costs_naming_the_cell(value):
    for function in (saw, contributions):
        with pytest.raises(ValueError, match=r"matrix cell \(row 1, column 2\) is .* in cost column 2"):
            function(cell(GOOD, 1, 2, value), W, D, "max")
    assert saw(cell(GOOD, 1, 2, value), W, D, "minmax").shape == (3,)  # min–max copes


def test_max_normalisation_refuses_negative_benefits_naming_the_cell():
    with pytest.raises(ValueError, match=r"matrix cell \(row 0, column 0\) is -1.0 in benefit column 0"):
        saw(cell(GOOD, 0, 0, -1.0), W, D, "max")


@pytest.mark.parametrize("stability", [
    lambda m, normalization: rank_stability(m, W, D, 1, draws=5, normalization=normalization),
    lambda m, normalization: selection_stability(m, W, D, [1, 1, 1], 2, draws=5, normalization=normalization),
])
def test_stability_under_max_refuses_a_zero_cost_naming_the_cell(stability):
    with pytest.raises(ValueError, match=r"matrix cell \(row 1, column 2\) is 0.0 in cost column 2"):
        stability(cell(GOOD, 1, 2, 0.0), "max")
    assert stability(cell(GOOD, 1, 2, 0.0), "minmax").shape == (3,)


def test_unknown_normalisation_or_method():
    for function in (saw, contributions):
        with pytest.raises(ValueError, match=r"normalization must be one of \('minmax', 'max'\), not 'sum'"):
            function(GOOD, W, D, "sum")
    with pytest.raises(ValueError, match=r"normalization must be one of \('minmax', 'max'\), not 'vector'"):
        rank_stability(GOOD, W, D, 1, normalization="vector")
    with pytest.raises(ValueError, match=r"selection must be 'greedy' or 'optimal', not 'random'"):
        selection_stability(GOOD, W, D, [1, 1, 1], 2, selection="random")
    with pytest.raises(ValueError, match="method must be one of"):
        rank_stability(GOOD, W, D, 1, method="vikor")
    with pytest.raises(ValueError, match="method must be one of"):
        select_within_budget([1.0], [1], 1, method="random")


SCORE_USERS = [rank, lambda scores: select_within_budget(scores, [1] * np.size(scores), 3, "optimal")]


@pytest.mark.parametrize("user", SCORE_USERS)
@pytest.mark.parametrize("scores,message", [
    ([0.1, 0.2, np.nan], r"scores\[2\] \(row 2\) is NaN"),
    ([0.1, np.inf, 0.3], r"scores\[1\] \(row 1\) is infinite"),
    ([-np.inf, 0.2, 0.3], r"scores\[0\] \(row 0\) is infinite"),
    ([[0.1, 0.2, 0.3]], "scores must be 1-D, got 2-D"),
    (["high", "low", "mid"], "scores must be numbers"),
])
def test_bad_scores_are_named(user, scores, message):
    with pytest.raises(ValueError, match=message):
        user(scores)


def test_rank_refuses_misshapen_keys_naming_the_row():
    longer = r"tie-break key 0 has 3 entries but there are 2 scores \(its entry 2 has no score\)"
    with pytest.raises(ValueError, match=longer):
        rank([0.1, 0.2], [1, 2, 3])
    shorter = r"tie-break key 1 has 1 entry but there are 2 scores \(row 1 has no key value\)"
    with pytest.raises(ValueError, match=shorter):
        rank([0.1, 0.2], [1, 2], [1])
    with pytest.raises(ValueError, match="tie-break key 0 must be 1-D"):
        rank([0.1, 0.2], [[1, 2]])
    with pytest.raises(ValueError, match=r"tie-break key 0\[1\] \(row 1\) is NaN"):
        rank([0.1, 0.2], [1.0, np.nan])


@pytest.mark.parametrize("costs,budget,message", [
    ([10, -1, 5], 10, r"costs\[1\] \(row 1\) is negative"),
    ([10, 1.5, 5], 10, r"costs\[1\] \(row 1\) is 1.5; costs are whole Rupiah"),
    ([10, np.nan, 5], 10, r"costs\[1\] \(row 1\) is NaN"),
    ([10, np.inf, 5], 10, r"costs\[1\] \(row 1\) is infinite"),
    ([10, 5, -np.inf], 10, r"costs\[2\] \(row 2\) is infinite"),
    ([10, 2.0**63, 5], 10, r"costs\[1\] \(row 1\) is 9.223372036854776e\+18, above the largest supported cost 2\*\*62"),
    ([10, "murah", 5], 10, "costs must be numbers"),
    ([[10, 1, 5]], 10, "costs must be 1-D"),
    ([10, 5], 10, r"costs has 2 entries but there are 3 scores \(row 2 has no cost\)"),
    ([10, 5, 1, 1, 1], 10, r"costs has 5 entries but there are 3 scores \(costs\[3\] to costs\[4\] have no score\)"),
    ([10, 1, 5], -1, "budget must be a non-negative whole number"),
    ([10, 1, 5], 2.5, "budget must be a non-negative whole number"),
    ([10, 1, 5], "banyak", "budget must be a whole number"),
])
def test_selection_refusals(costs, budget, message):
    with pytest.raises(ValueError, match=message):
        select_within_budget([0.3, 0.2, 0.1], costs, budget, "optimal")
    with pytest.raises(ValueError, match=r"scores\[0\] \(row 0\) is NaN"):
        select_within_budget([np.nan, 0.2, 0.1], [1, 1, 1], 3)


@pytest.mark.parametrize("matrix,message", [
    ([[1, 3], [0.5, 1]], r"pairwise cell \(row 1, column 0\) is 0.5 but must be 1/3.0"),
    ([[1, -3], [-1 / 3, 1]], r"pairwise cell \(row 0, column 1\) is -3.0; comparisons must be positive"),
    ([[1, np.nan], [1, 1]], r"pairwise cell \(row 0, column 1\) is NaN"),
    ([[2, 1], [1, 1]], r"pairwise cell \(row 0, column 0\) is 2.0; the diagonal must be 1"),
    ([[1, 2, 3]], "pairwise must be a non-empty square matrix"),
    ([[1, "x"], ["y", 1]], "pairwise must be a square table of numbers"),
    ([[1, 2], [0.5]], "pairwise must be a square table of numbers"),
    ([[1, np.inf], [0.0, 1]], r"pairwise cell \(row 0, column 1\) is infinite"),
    (np.ones((11, 11)), "AHP supports at most 10 criteria"),
])
def test_ahp_refusals_name_the_cell(matrix, message):
    with pytest.raises(ValueError, match=message):
        ahp_weights(matrix)


def test_ahp_small_matrices_are_consistent_by_definition():
    result = ahp_weights([[1, 3], [1 / 3, 1]])
    assert result.cr == 0 and result.ci == 0 and result.most_inconsistent_pair is None
    np.testing.assert_allclose(result.weights, [0.75, 0.25])


def test_ahp_names_the_most_inconsistent_comparison():
    # Perfectly consistent (a_ij = w_i / w_j) except that 0 vs 3 was entered the wrong way round.
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    matrix = weights[:, None] / weights[None, :]
    matrix[0, 3], matrix[3, 0] = 1 / 4, 4
    result = ahp_weights(matrix)
    assert result.cr > 0.10 and not result.consistent
    assert result.most_inconsistent_pair == (0, 3)
    # Before the mistake the same matrix is consistent.
    assert ahp_weights(weights[:, None] / weights[None, :]).cr == pytest.approx(0, abs=1e-12)


def test_aggregate_ratings_refusals_and_results():
    with pytest.raises(ValueError, match=r"ratings cell \(row 0, column 1, rater 1\) is infinite"):
        aggregate_ratings([[[1, 2], [3, np.inf]]])
    with pytest.raises(ValueError, match="ratings must be 3-D"):
        aggregate_ratings([[1, 2]])
    with pytest.raises(ValueError, match="ratings must be numbers or NaN"):
        aggregate_ratings([[[1, "baik"]]])
    with pytest.raises(ValueError, match="ratings must be numbers or NaN"):
        aggregate_ratings([[[1, 2], [3]]])
    with pytest.raises(ValueError, match="method must be one of"):
        aggregate_ratings([[[1]]], "mode")
    ratings = [[[4, 5, np.nan], [np.nan, np.nan, np.nan]], [[1, 2, 5], [3, np.nan, 4]]]
    np.testing.assert_allclose(aggregate_ratings(ratings, "mean"), [[4.5, np.nan], [8 / 3, 3.5]])
    np.testing.assert_allclose(aggregate_ratings(ratings, "median"), [[4.5, np.nan], [2.0, 3.5]])
    assert np.isnan(aggregate_ratings(np.zeros((2, 2, 0)))).all()


@pytest.mark.parametrize("top,draws,spread,message", [
    (-1, 10, 0.1, "top must be a non-negative whole number"),
    (1.5, 10, 0.1, "top must be a non-negative whole number"),
    (1, 0, 0.1, "draws must be a positive whole number"),
    (1, 10, 1.5, "spread must be in"),
])
def test_rank_stability_refusals(top, draws, spread, message):
    with pytest.raises(ValueError, match=message):
        rank_stability(GOOD, W, D, top, draws=draws, spread=spread)


def test_edge_policies():
    """Constant columns, all alternatives equal, a single alternative (module docstring)."""
    equal = [[3.0, 300.0, 75.0]] * 5
    for normalization in ("minmax", "max"):
        assert saw(equal, W, D, normalization).tolist() == [1.0] * 5
        assert saw([[3.0, 300.0, 75.0]], W, D, normalization).tolist() == [1.0]
    assert topsis(equal, W, D).tolist() == [0.5] * 5
    assert topsis([[3.0, 300.0, 75.0]], W, D).tolist() == [0.5]
    constant = np.array(GOOD)
    constant[:, 0] = 3.0
    parts = contributions(constant, W, D)
    assert parts[:, 0].tolist() == [0.5] * 3  # normalised to 1.0, times its weight
    zeros = np.array(GOOD)
    zeros[:, 1] = 0.0
    np.testing.assert_allclose(topsis(zeros, W, D), topsis(np.delete(zeros, 1, axis=1), [0.5, 0.2], [1, -1]))
