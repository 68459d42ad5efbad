"""Exact constrained selection when the budget cannot bind: one knapsack per capped group.

When every alternative that may be selected lies in a capped group, and the caps (each at most
what its group can spend) add up to no more than the budget, the budget is implied by the caps:
the program falls apart into one 0/1 knapsack per group, joined only by the exclusive lists.
Each knapsack is solved exactly by dynamic programming over whole units of its costs' gcd; a
depth-first branch-and-bound over the lists that the knapsacks' choice breaks then finds the
optimum: a list with several chosen members S branches into "only s of S may stay" for each s,
and "none of S", which together hold every selection that keeps the list. The sum of the groups'
knapsacks, with the members forced out so far, bounds each branch from above.

This is the case HiGHS finds hardest (every category capped, near-equal scores: seconds to
prove a zero gap), and the knapsacks' bound is exact but for the lists. Where it does not apply
(the budget can bind, a table would be too large, or the search fills more than MAX_WORK table
cells), `solve_by_groups` returns None and the caller solves the program with HiGHS.
Among selections of equal total score the choice leans to the better-ranked alternatives: each
table takes an alternative only where it strictly improves the total, considering the
better-ranked first.
"""
from __future__ import annotations

import math
from functools import reduce

import numpy as np

from participation.scoring.constraints import Constraints

MAX_CELLS = 40_000_000  # per group: the table of take-or-not, one byte per cell (40 MB)
MAX_WORK = 600_000_000  # table cells filled in one search (about a second) before it gives way to HiGHS
TOLERANCE = 1e-9  # relative: a branch is pruned unless it can beat the incumbent by more


def solve_by_groups(values: np.ndarray, cost: np.ndarray, capacity: int, order: np.ndarray,
                    constraints: Constraints, low: np.ndarray, high: np.ndarray,
                    incumbent: np.ndarray) -> np.ndarray | None:
    """The exact selection (mask by alternative), or None where this method does not apply.

    `low`/`high` are 0/1 bounds by alternative (must-fund fixed in, alternatives that cannot
    improve a set fixed out); `incumbent` is a feasible selection; `order` is the rank order.
    """
    groups = constraints.groups
    if groups is None or not constraints.caps:
        return None
    selectable = high > 0
    capped = np.isin(groups, np.fromiter(constraints.caps, dtype=np.int64))
    if (selectable & ~capped).any():
        return None
    fixed_in = low > 0
    spend = 0
    for label, cap in constraints.caps.items():
        spend += min(cap, int(cost[selectable & (groups == label)].sum()))
    if spend > capacity:
        return None  # the budget may bind: not a set of separate knapsacks
    rank = np.empty(values.shape[0], dtype=np.int64)
    rank[order] = np.arange(values.shape[0])
    knapsacks = {}
    for label, cap in constraints.caps.items():
        inside = groups == label
        room = cap - int(cost[inside & fixed_in].sum())
        free = np.flatnonzero(inside & selectable & ~fixed_in)
        if room < 0:
            return None  # the must-fund overrun a cap: the caller's checks say so
        free = free[np.argsort(rank[free], kind="stable")]  # better-ranked first: a later one must do better
        knapsack = _Knapsack(free, values[free], cost[free], room)
        if knapsack.cells > MAX_CELLS:
            return None
        knapsacks[label] = knapsack
    lists = [members for members in constraints.exclusive]
    start = frozenset()
    for members in lists:  # a fixed-in member of a list keeps every other member out
        inside = members[fixed_in[members]]
        if inside.size > 1:
            return None
        if inside.size == 1:
            start |= frozenset(members[~fixed_in[members]].tolist())
    best = incumbent.copy()
    best_value = float(values[best].sum())
    base = float(values[fixed_in].sum())
    stack = [start]
    work = 0
    while stack:
        out = stack.pop()
        selection = fixed_in.copy()
        total = base
        for knapsack in knapsacks.values():
            value, chosen, fresh = knapsack.solve(out)
            work += fresh * knapsack.cells
            total += value
            selection[chosen] = True
        if work > MAX_WORK:
            return None
        if total <= best_value + TOLERANCE * (1.0 + abs(best_value)):
            continue
        broken = next((members for members in lists if selection[members].sum() > 1), None)
        if broken is None:
            best, best_value = selection, total
            continue
        chosen = broken[selection[broken]]
        keep = chosen[~fixed_in[chosen]]
        stack.append(out | frozenset(keep.tolist()))  # none of them (explored last)
        for member in keep[np.argsort(values[keep], kind="stable")].tolist():  # the best-scoring first
            others = [i for i in chosen.tolist() if i != member]
            if not fixed_in[others].any():
                stack.append(out | frozenset(others))
    return best


class _Knapsack:
    """One group's 0/1 knapsack over its free alternatives, solved per set of members forced out."""

    def __init__(self, members: np.ndarray, values: np.ndarray, cost: np.ndarray, room: int):
        self.members = members
        self.values = values
        unit = reduce(math.gcd, cost.tolist(), 0) or 1
        self.weights = (cost // unit).astype(np.int64)
        self.size = int(min(room, int(cost.sum())) // unit)
        self.cells = members.shape[0] * (self.size + 1)
        self.position = {int(member): i for i, member in enumerate(members.tolist())}
        self.solved: dict[frozenset, tuple[float, np.ndarray]] = {}

    def solve(self, out: frozenset) -> tuple[float, np.ndarray, int]:
        """Best total, the chosen alternatives, and 1 if it was solved now (0 if known)."""
        key = frozenset(i for i in (self.position.get(member) for member in out) if i is not None)
        if key in self.solved:
            value, chosen = self.solved[key]
            return value, chosen, 0
        size = self.size
        best = np.zeros(size + 1)
        take = np.zeros((self.members.shape[0], size + 1), dtype=bool)
        for i, (value, weight) in enumerate(zip(self.values.tolist(), self.weights.tolist())):
            if i in key or value <= 0 or weight > size:
                continue
            candidate = best[: size + 1 - weight] + value
            better = candidate > best[weight:]
            take[i, weight:] = better
            best[weight:][better] = candidate[better]
        picked, left = [], size
        for i in range(self.members.shape[0] - 1, -1, -1):
            if take[i, left]:
                picked.append(i)
                left -= int(self.weights[i])
        chosen = self.members[picked]
        result = (float(self.values[picked].sum()), chosen)
        self.solved[key] = result
        return result[0], result[1], 1
