"""How robust a ranking is to the weights: random relative perturbations, seeded."""
from __future__ import annotations

import numpy as np

from participation.scoring._validate import TIE_TOLERANCE, as_matrix, check_directions, check_weights, raise_bad_cell
from participation.scoring.methods import NORMALIZATIONS, _check_max, _minmax_terms, column_extrema
from participation.scoring.constrained import optimal_constrained
from participation.scoring.constraints import Constraints, check_constraints, check_must_fits
from participation.scoring.ranking import _order
from participation.scoring.selection import _check_budget, _check_costs, _optimal, select_within_budget

METHODS = ("saw", "topsis")
SELECTIONS = ("greedy", "optimal")


def rank_stability(matrix, weights, directions, top, method="saw", spread=0.1, draws=1000, seed=0,
                   *, normalization="minmax") -> np.ndarray:
    """Share of seeded weight perturbations in which each alternative stays in the top `top` (`rank` order)."""
    # Each draw multiplies every weight by an independent factor uniform in [1 - spread, 1 + spread]
    # (numpy's default_rng(seed)) and renormalises, so the same seed gives the same answer; the top
    # `top` follow `rank`'s tie rule (ties within 1e-9 by position), so the count is always `top`.
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 0:
        raise ValueError(f"top must be a non-negative whole number, not {top!r}")
    x, scores = _perturbed_scores(matrix, weights, directions, method, spread, draws, seed, normalization)
    n = x.shape[0]
    if top >= n:
        return np.ones(n)
    inside = np.zeros(n)
    np.add.at(inside, _orders_per_draw(scores)[:, :top].ravel(), 1)
    return inside / draws


def selection_stability(matrix, weights, directions, costs, budget, method="saw", selection="greedy",
                        spread=0.1, draws=1000, seed=0, *, normalization="minmax", must=None, exclusive=(),
                        groups=None, group_caps=None) -> np.ndarray:
    """Share of `rank_stability`'s perturbations in which each alternative stays selected within `budget`.

    `must`, `exclusive`, `groups` and `group_caps` are the planner's constraints, checked as
    `select_within_budget` checks them (a must-fund set that cannot fit raises ValueError): each
    draw's set is the one it would choose under the same constraints.
    """
    # In each draw the set is chosen as select_within_budget(scores, costs, budget, selection, ...)
    # would; greedy follows `rank`'s tie rule.
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be 'greedy' or 'optimal', not {selection!r}")
    x, scores = _perturbed_scores(matrix, weights, directions, method, spread, draws, seed, normalization)
    n = x.shape[0]
    cost = _check_costs(costs, n)
    capacity = _check_budget(budget)
    constraints = check_constraints(n, must, exclusive, groups, group_caps)
    check_must_fits(constraints, cost, capacity)
    if constraints.active(cost):
        if selection == "optimal":
            chosen = np.zeros(n)
            for draw in range(draws):
                column = np.ascontiguousarray(scores[:, draw])
                chosen += optimal_constrained(column, cost, capacity, _order(column, []), constraints)
            return chosen / draws
        return _greedy_constrained_per_draw(_orders_per_draw(scores), cost, capacity, constraints) / draws
    if selection == "optimal":
        # Every draw is solved exactly; the unperturbed optimum, feasible in every draw, is handed
        # to the solver as a first lower bound, which prunes most of the search.
        base = select_within_budget(_base_scores(x, weights, directions, method, normalization), cost,
                                    capacity, "optimal")
        chosen = np.zeros(n)
        for draw in range(draws):
            column = np.ascontiguousarray(scores[:, draw])
            chosen += _optimal(column, cost, capacity, _order(column, []), known=base)
        return chosen / draws
    # Greedy in every draw at once: walk the rank positions, one vector step per position.
    orders = _orders_per_draw(scores)
    remaining = np.full(draws, capacity, dtype=np.int64)
    chosen = np.zeros(n)
    for position in range(n):
        index = orders[:, position]
        price = cost[index]
        take = price <= remaining
        remaining -= np.where(take, price, 0)
        np.add.at(chosen, index[take], 1)
    return chosen / draws


def _greedy_constrained_per_draw(orders: np.ndarray, cost: np.ndarray, capacity: int,
                                 constraints: Constraints) -> np.ndarray:
    """How often each alternative is chosen by `greedy_constrained`, over every draw's order at once."""
    # The must set is in every draw; then one vector step per rank position, as the unconstrained
    # walk, with each draw's room per capped group and the exclusive lists it has used.
    draws, n = orders.shape
    must = constraints.must
    caps = sorted(constraints.caps)
    column = np.full(n, len(caps), dtype=np.int64)  # the room column of each alternative's group
    if constraints.groups is not None:
        for number, label in enumerate(caps):
            column[constraints.groups == label] = number
    room = np.full((draws, len(caps) + 1), np.iinfo(np.int64).max, dtype=np.int64)
    for number, label in enumerate(caps):
        room[:, number] = constraints.caps[label] - int(cost[must & (column == number)].sum())
    membership = np.zeros((n, len(constraints.exclusive)), dtype=bool)
    for number, members in enumerate(constraints.exclusive):
        membership[members, number] = True
    listed = membership.any(axis=1)
    used = np.zeros((draws, membership.shape[1]), dtype=bool)
    used[:] = (membership & must[:, None]).any(axis=0)
    remaining = np.full(draws, capacity - int(cost[must].sum()), dtype=np.int64)
    chosen = must.astype(np.float64) * draws
    every = np.arange(draws)
    for position in range(n):
        index = orders[:, position]
        price = cost[index]
        group = column[index]
        take = ~must[index] & (price <= remaining) & (price <= room[every, group])
        listed_here = take & listed[index]
        if listed_here.any():
            rows = np.flatnonzero(listed_here)
            blocked = (used[rows] & membership[index[rows]]).any(axis=1)
            take[rows[blocked]] = False
            kept = rows[~blocked]
            used[kept] |= membership[index[kept]]
        remaining -= np.where(take, price, 0)
        room[every, group] -= np.where(take & (group < len(caps)), price, 0)
        np.add.at(chosen, index[take], 1)
    return chosen


def _base_scores(x, weights, directions, method, normalization) -> np.ndarray:
    """The scores with the unperturbed weights."""
    w = check_weights(weights, x.shape[1])
    d = check_directions(directions, x.shape[1])
    lo, hi = column_extrema(x)
    return _scores_per_draw(x, d, lo, hi, w[None, :], method, normalization)[:, 0]


def _orders_per_draw(scores: np.ndarray) -> np.ndarray:
    """Best-first order of the alternatives in each draw, (draws, n), by `rank`'s tie rule."""
    # A stable sort of all draws at once is the rule already wherever no two scores are within
    # 1e-9 without being equal; only draws with such near-ties go through `rank`'s own ordering.
    by_draw = np.ascontiguousarray(scores.T)  # (draws, n): each draw's scores contiguous to sort
    orders = np.argsort(-by_draw, axis=1, kind="stable")
    ordered = np.take_along_axis(by_draw, orders, axis=1)
    gaps = ordered[:, :-1] - ordered[:, 1:]
    near = np.flatnonzero(((gaps <= TIE_TOLERANCE) & (gaps > 0)).any(axis=1))
    for draw in near.tolist():
        orders[draw] = _order(by_draw[draw], [])
    return orders


def _perturbed_scores(matrix, weights, directions, method, spread, draws, seed, normalization):
    """The checked matrix and the scores of every alternative under every perturbed weight vector."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, not {normalization!r}")
    x = as_matrix(matrix)
    k = x.shape[1]
    w = check_weights(weights, k)
    d = check_directions(directions, k)
    if isinstance(draws, bool) or not (isinstance(draws, (int, np.integer)) and draws >= 1):
        raise ValueError(f"draws must be a positive whole number, not {draws!r}")
    if not (np.isfinite(spread) and 0 <= spread < 1):
        raise ValueError(f"spread must be in [0, 1), not {spread!r}")
    lo, hi = column_extrema(x)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise_bad_cell(x)
    rng = np.random.default_rng(seed)
    factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(draws, k))
    perturbed = w * factors
    perturbed /= perturbed.sum(axis=1, keepdims=True)
    return x, _scores_per_draw(x, d, lo, hi, perturbed, method, normalization)  # (n, draws)


def _scores_per_draw(x, d, lo, hi, perturbed, method, normalization) -> np.ndarray:
    """Scores of every alternative under every weight vector, (n, draws)."""
    if method == "saw":
        if normalization == "minmax":
            # Unit weights give the normalised matrix itself.
            origin, factor, constant = _minmax_terms(np.ones(x.shape[1]), d, lo, hi)
            normalised = np.subtract(x, origin)
            normalised *= factor
            normalised[:, constant] = 1.0
        else:
            _check_max(x, d, lo, hi)
            normalised = np.where(d > 0, x / np.where(hi == 0, 1.0, hi), lo / np.where(x == 0, 1.0, x))
            normalised[:, (d > 0) & (hi == 0)] = 1.0
        return np.clip(normalised @ perturbed.T, 0.0, 1.0)
    norms = np.sqrt(np.einsum("ij,ij->j", x, x))
    r = x / np.where(norms == 0, 1.0, norms)
    ideal = np.where(d > 0, r.max(axis=0), r.min(axis=0))
    anti = np.where(d > 0, r.min(axis=0), r.max(axis=0))
    squared = perturbed.T ** 2  # (k, draws): distances are sqrt(sum_j w_j^2 (r_ij - p_j)^2)
    plus = np.sqrt((r - ideal) ** 2 @ squared)
    minus = np.sqrt((r - anti) ** 2 @ squared)
    total = plus + minus
    return np.divide(minus, total, out=np.full_like(total, 0.5), where=total > 0)
