"""Selection stability under a planner's constraints: each draw chooses as select_within_budget would."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from participation.scoring import select_within_budget, selection_stability
from participation.scoring.stability import _perturbed_scores
from tests.scoring.test_constrained_properties import FEW, problems


def draw_by_draw(matrix, costs, budget, selection, draws, constraints):
    """The shares computed the slow way: one select_within_budget call per perturbed draw."""
    _, scores = _perturbed_scores(matrix, np.ones(matrix.shape[1]), np.ones(matrix.shape[1]), "saw", 0.3, draws, 5,
                                  "minmax")
    chosen = sum(select_within_budget(scores[:, d], costs, budget, selection, **constraints).astype(float)
                 for d in range(draws))
    return chosen / draws


@FEW
@given(problems())
def test_constrained_stability_matches_each_draws_selection(problem):
    scores, costs, budget, constraints = problem
    matrix = np.column_stack((scores, scores[::-1], np.arange(scores.shape[0], dtype=float)))
    for selection in ("greedy", "optimal"):
        try:
            expected = draw_by_draw(matrix, costs, budget, selection, 6, constraints)
        except ValueError as error:
            assert "must-fund" in str(error)
            with pytest.raises(ValueError, match="must-fund"):
                selection_stability(matrix, np.ones(3), np.ones(3), costs, budget, selection=selection,
                                    spread=0.3, draws=6, seed=5, **constraints)
            return
        shares = selection_stability(matrix, np.ones(3), np.ones(3), costs, budget, selection=selection,
                                     spread=0.3, draws=6, seed=5, **constraints)
        np.testing.assert_allclose(shares, expected)
        assert (shares[constraints["must"]] == 1).all()


def test_a_capped_group_and_a_pair_lower_the_shares_they_bind():
    matrix = np.array([[9.0], [8.0], [7.0], [6.0]])
    costs, budget = [10, 10, 10, 10], 40
    free = selection_stability(matrix, [1], [1], costs, budget, draws=20)
    bound = selection_stability(matrix, [1], [1], costs, budget, draws=20, exclusive=[[0, 1]],
                                groups=[0, 0, 1, 1], group_caps={1: 10}, must=[False, True, False, False])
    assert free.tolist() == [1, 1, 1, 1]
    assert bound.tolist() == [0, 1, 1, 0]  # the pair keeps 0 out for the must-fund 1; the cap keeps 3 out


def test_the_old_positional_call_still_works():
    matrix = np.array([[3.0], [2.0], [1.0]])
    assert selection_stability(matrix, [1], [1], [1, 1, 1], 2, "saw", "greedy", 0.1, 10, 0).tolist() == [1, 1, 0]
