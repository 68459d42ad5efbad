"""Choosing proposals within a budget ceiling: greedy by rank, or an exact 0/1 knapsack.

With a planner's constraints (must-fund, exclusive lists, group caps) the choice is made by
`constrained`; this module's own solver is the unconstrained `optimal`:

`optimal` is exact (no heuristic): proposals whose cost exceeds the budget, or whose score is not
positive, can never improve a set and are left out; proposals that cost nothing and score are
always in. The rest is a 0/1 knapsack on integer Rupiah costs, solved by

1. dynamic programming over capacity, after dividing costs and budget by the costs' greatest
   common divisor (Rupiah amounts are usually round, so the table is small), when the table has
   at most DP_CELLS cells; otherwise
2. fixing variables by linear-programming bounds against the best greedy set (the classic
   reduction of Martello and Toth), then dynamic programming on what is left if it is small
   enough, else depth-first branch and bound with the Dantzig bound.

Every step is deterministic: the same input gives the same set. When several sets reach the same
total score, the one that keeps the better-ranked proposals is preferred by the dynamic program
(it adds proposals best-ranked first and replaces a set only for a strictly higher total).
"""
from __future__ import annotations

import math
from bisect import bisect_right
from functools import reduce
from itertools import accumulate

import numpy as np

from participation.scoring._validate import check_vector, describe
from participation.scoring.constrained import greedy_constrained, optimal_constrained
from participation.scoring.constraints import _per_row, check_constraints, check_must_fits
from participation.scoring.ranking import _order

DP_CELLS = 40_000_000
METHODS = ("greedy", "optimal")


def _check_costs(costs, n: int) -> np.ndarray:
    """Costs as int64 whole Rupiah, one per score; a bad entry is named by its row."""
    array = _per_row(costs, "costs", "cost", n)
    for index, value in enumerate(array.tolist()):
        if not np.isfinite(value):
            raise ValueError(f"costs[{index}] (row {index}) is {describe(value)}")
        if value < 0:
            raise ValueError(f"costs[{index}] (row {index}) is negative: {value!r}")
        if value != math.floor(value):
            raise ValueError(f"costs[{index}] (row {index}) is {value!r}; costs are whole Rupiah")
        if value > 2**62:
            raise ValueError(f"costs[{index}] (row {index}) is {value!r}, above the largest supported cost 2**62")
    return np.asarray(costs, dtype=np.float64).astype(np.int64)


def _check_budget(budget) -> int:
    """The budget as a non-negative whole number of Rupiah."""
    try:
        value = float(budget)
    except (TypeError, ValueError):
        raise ValueError(f"budget must be a whole number of Rupiah, not {budget!r}") from None
    if not np.isfinite(value) or value < 0 or value != math.floor(value) or value > 2**62:
        raise ValueError(f"budget must be a non-negative whole number of Rupiah, not {budget!r}")
    return int(value)


def select_within_budget(scores, costs, budget, method="greedy", *, must=None, exclusive=(), groups=None,
                         group_caps=None) -> np.ndarray:
    """Mask of the alternatives chosen within `budget` and the planner's constraints.

    `greedy`: the `must` set, then best first in `rank` order (ties within 1e-9 by position),
    taking each alternative that keeps every constraint. `optimal`: the largest total score under
    every constraint; without any constraint that can bind (no must-fund, no exclusive list of two
    or more, no cap below its group's total cost) it is the exact knapsack solver of this module,
    otherwise a MILP through HiGHS (see `constrained`). The constraints, and what is refused, are
    described in `constraints`; a must-fund set that cannot fit raises ValueError saying why.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    values = check_vector(scores, "scores")
    cost = _check_costs(costs, values.shape[0])
    capacity = _check_budget(budget)
    constraints = check_constraints(values.shape[0], must, exclusive, groups, group_caps)
    check_must_fits(constraints, cost, capacity)
    order = _order(values, [])
    if not constraints.active(cost):
        if method == "greedy":
            return _greedy(order, cost, capacity)
        return _optimal(values, cost, capacity, order)
    if method == "greedy":
        return greedy_constrained(order, cost, capacity, constraints)
    return optimal_constrained(values, cost, capacity, order, constraints)


def _greedy(order: np.ndarray, cost: np.ndarray, capacity: int) -> np.ndarray:
    """Take each alternative in `order` that still fits."""
    selected = np.zeros(cost.shape[0], dtype=bool)
    remaining = capacity
    cost_list = cost.tolist()
    for index in order.tolist():
        if cost_list[index] <= remaining:
            selected[index] = True
            remaining -= cost_list[index]
    return selected


def _optimal(values, cost, capacity, order, known=None) -> np.ndarray:
    """The exact selection; `known`, a feasible selection (mask), only speeds the search up."""
    selected = np.zeros(values.shape[0], dtype=bool)
    free = (cost == 0) & (values > 0)
    selected[free] = True
    # Candidates in rank order, so that ties favour better-ranked proposals.
    candidates = np.array([i for i in order.tolist() if 0 < cost[i] <= capacity and values[i] > 0],
                          dtype=np.int64)
    if candidates.size == 0:
        return selected
    hint = None if known is None else known[candidates]
    chosen = _knapsack(values[candidates], cost[candidates], capacity, hint)
    selected[candidates[chosen]] = True
    return selected


def _knapsack(v: np.ndarray, c: np.ndarray, capacity: int, hint=None) -> np.ndarray:
    """Exact 0/1 knapsack over items in preference order; returns the chosen positions."""
    # `hint`, a feasible set (mask), gives the first lower bound: it lets the reduction fix more
    # items and the branch and bound prune sooner, and never changes the answer.
    if int(c.sum()) <= capacity:
        return np.arange(v.shape[0])
    if _dp_cells(c, capacity) <= DP_CELLS:
        return _dynamic_programming(v, c, capacity)
    if hint is not None and int(c[hint].sum()) > capacity:
        hint = None
    known_value = float(v[hint].sum()) if hint is not None else 0.0
    fixed_in, free = _reduce(v, c, capacity, known_value)
    remaining = capacity - int(c[fixed_in].sum())
    core_v, core_c = v[free], c[free]
    if free.size == 0:
        core = np.empty(0, dtype=np.int64)
    elif _dp_cells(core_c, remaining) <= DP_CELLS:
        core = _dynamic_programming(core_v, core_c, remaining)
    else:
        start = None
        if hint is not None and hint[fixed_in].all():
            start = np.flatnonzero(hint[free])  # the hint within the core; feasible there
        core = _branch_and_bound(core_v, core_c, remaining, start)
    return np.sort(np.concatenate((fixed_in, free[core])))


def _dp_cells(c: np.ndarray, capacity: int) -> int:
    """Size of the dynamic-programming table in units of the costs' greatest common divisor."""
    if c.size == 0:
        return 0
    divisor = reduce(math.gcd, c.tolist())
    return c.size * (capacity // divisor + 1)


def _dynamic_programming(v: np.ndarray, c: np.ndarray, capacity: int) -> np.ndarray:
    """best[u] = largest total with cost ≤ u units; keep[t, u] records whether item t was taken."""
    divisor = reduce(math.gcd, c.tolist())
    units = (c // divisor).astype(np.int64)
    size = capacity // divisor
    best = np.zeros(size + 1)
    keep = np.zeros((v.shape[0], size + 1), dtype=bool)
    for item in range(v.shape[0]):
        weight = int(units[item])
        if weight > size:
            continue
        with_item = best[: size + 1 - weight] + v[item]
        better = with_item > best[weight:]  # strictly: an equal total keeps the earlier choice
        keep[item, weight:] = better
        np.copyto(best[weight:], with_item, where=better)
    chosen, room = [], size
    for item in range(v.shape[0] - 1, -1, -1):
        if keep[item, room]:
            chosen.append(item)
            room -= int(units[item])
    return np.array(sorted(chosen), dtype=np.int64)


def _efficiency_order(v, c):
    """Positions by score per Rupiah, highest first (ties keep the preference order)."""
    return np.lexsort((np.arange(v.shape[0]), -(v / c)))


def _reduce(v, c, capacity, known_value: float = 0.0):
    """Fix items whose opposite choice provably cannot beat the best known set."""
    order = _efficiency_order(v, c)
    sv, sc = v[order], c[order].astype(np.float64)
    efficiency = sv / sc
    prefix_c = np.concatenate(([0.0], np.cumsum(sc)))
    prefix_v = np.concatenate(([0.0], np.cumsum(sv)))
    incumbent = max(_greedy_value(sv, sc, capacity), _greedy_value(v, c.astype(np.float64), capacity),
                    known_value)
    tolerance = 1e-9 * (1.0 + abs(incumbent))
    m = sv.shape[0]
    positions = np.arange(m)

    def bound_without(k_cap):
        """LP bound over all items except j (vectorised over j), with capacity k_cap[j]."""
        before = prefix_c[positions] > k_cap  # the break falls before j
        target = np.where(before, k_cap, k_cap + sc)
        b = np.searchsorted(prefix_c, target, side="right") - 1
        b = np.minimum(b, m)
        value = prefix_v[b] - np.where(before, 0.0, sv)
        # The break item b (never j itself) is taken in the fraction that still fits.
        partial = np.where(b < m, (target - prefix_c[b]) * efficiency[np.minimum(b, m - 1)], 0.0)
        return value + np.maximum(partial, 0.0)

    cap = np.full(m, float(capacity))
    upper_out = bound_without(cap)  # x_j = 0
    room = cap - sc
    upper_in = bound_without(np.maximum(room, 0.0))
    upper_in = np.where(room >= 0, upper_in + sv, -np.inf)  # x_j = 1
    fixed_out = upper_in < incumbent - tolerance
    fixed_in = (upper_out < incumbent - tolerance) & ~fixed_out
    free = ~(fixed_in | fixed_out)
    return np.sort(order[fixed_in]), np.sort(order[free])


def _greedy_value(v, c, capacity) -> float:
    """Value of taking items by efficiency while they fit (a lower bound)."""
    total, room = 0.0, float(capacity)
    for index in _efficiency_order(v, c).tolist():
        if c[index] <= room:
            room -= c[index]
            total += v[index]
    return total


def _branch_and_bound(v, c, capacity, start=None) -> np.ndarray:
    """Exact depth-first branch and bound (include first) with the Dantzig bound."""
    # Plain Python numbers with `bisect`: each node's bound is one binary search in the prefix
    # costs, and numpy's per-call overhead would dominate at this scale.
    order = _efficiency_order(v, c)
    sv, sc = v[order].tolist(), c[order].tolist()
    m = len(sv)
    prefix_c = [0] + list(accumulate(sc))
    prefix_v = [0.0] + list(accumulate(sv))

    def bound(position, room, value):
        """Dantzig bound: `value` plus the LP relaxation of the items from `position` on."""
        limit = prefix_c[position] + room
        b = bisect_right(prefix_c, limit) - 1
        total = value + prefix_v[b] - prefix_v[position]
        if b < m:
            total += (limit - prefix_c[b]) * sv[b] / sc[b]
        return total

    # Start from the given feasible set, if any: the search then only looks for strictly better.
    best_value, best = -1.0, np.empty(0, dtype=np.int64)
    if start is not None and start.size:
        best_value, best = float(v[start].sum()), np.sort(start)
    stack = [(0, capacity, 0.0, ())]
    while stack:
        position, room, value, taken = stack.pop()
        if value > best_value + 1e-12:
            best_value, best = value, np.sort(order[list(taken)])
        if position == m or bound(position, room, value) <= best_value + 1e-12:
            continue
        stack.append((position + 1, room, value, taken))  # exclude (explored second)
        if sc[position] <= room:
            stack.append((position + 1, room - sc[position], value + sv[position], taken + (position,)))
    return best.astype(np.int64)
