"""Variable fixing for the constrained program: a Lagrangian bound with exact knapsacks per group.

For row prices λ ≥ 0 (budget) and μ ≥ 0 (exclusive lists), no selection scores more than

    L = λ·budget + Σ μ + Σ_fixed-in r_j + Σ_g K_g,   r_j = v_j − λ·c_j − Σ_{lists ∋ j} μ,

where K_g is the best total of r over the free alternatives of group g within the group's room
(its cap, or the budget, less the costs of its alternatives fixed in: must-fund or fixed before):
the budget and the lists are priced instead of kept, each group's own cost limit is kept exactly (a 0/1 knapsack, solved by dynamic programming
over whole units of the group's costs' gcd). Alternatives outside any binding cap form one group
limited by the budget. The knapsack tables, run forwards and backwards, also give each group's
best total with an alternative forced in or out; where forcing it lowers L below a known feasible
selection's total, that alternative is fixed. This is exact for any prices; the LP duals are only a
good choice. It closes the integrality gap within each group, which the LP bound leaves open, and
typically leaves HiGHS a few dozen alternatives instead of a thousand.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce

import numpy as np

TABLE_CELLS = 4_000_000  # per table (two per group, float64): 32 MB each at most


@dataclass
class KnapsackBound:
    """The Lagrangian bound, and per free alternative its preferred value and the cost of the other."""

    bound: float
    prefer: np.ndarray  # bool by alternative: its value in the knapsacks' best choice (traced back)
    better_in: np.ndarray  # bool by alternative: forced in, the bound is higher than forced out
    penalty: np.ndarray  # by alternative: how far forcing the other value lowers the bound; NaN if not free
    incumbent: np.ndarray  # the best feasible selection known (mask)

    def fix(self, v, lower, upper) -> None:
        """Fix (in place) every free alternative whose other value cannot reach the incumbent's total."""
        value = float(v[self.incumbent].sum())
        settled = self.bound - self.penalty < value - 1e-9 * (1.0 + abs(value))  # False where NaN
        lower[settled & self.better_in] = 1.0
        upper[settled & ~self.better_in] = 0.0


def knapsack_bound(v, cost, capacity, groups, caps, exclusive, lower, upper, y_budget, y_lists,
                   incumbent: np.ndarray, complete) -> KnapsackBound | None:
    """The bound at prices λ = `y_budget`, μ = `y_lists` over the alternatives free in `lower`/`upper`.

    `incumbent` is a feasible selection; `complete(mask)` makes a feasible selection of a
    candidate (or returns None): the knapsacks' own choice, with the lists repaired, is tried as a
    better one. None if a table would be too large.
    """
    n = v.shape[0]
    lam = max(float(y_budget), 0.0)
    mu = np.maximum(np.asarray(y_lists, dtype=np.float64), 0.0)
    r = v - lam * cost
    for price, members in zip(mu.tolist(), exclusive):
        r[members] -= price
    free = lower < upper
    fixed_in = lower >= 1  # the must-fund, and any fixed in before
    label = np.full(n, -1, dtype=np.int64)  # -1: the pool limited by the budget alone
    rooms = {-1: capacity}
    if groups is not None:
        for key, cap in caps.items():
            label[groups == key] = key
            rooms[key] = min(cap, capacity)
    plans = []
    for key, room in rooms.items():
        inside = label == key
        room -= int(cost[inside & fixed_in].sum())
        members = np.flatnonzero(inside & free)
        weights = cost[members]
        unit = reduce(math.gcd, weights.tolist(), 0) or 1
        size = min(room // unit, int(weights.sum()) // unit)  # more room than all of them need is no limit
        if (members.shape[0] + 1) * (size + 1) > TABLE_CELLS:
            return None
        plans.append((members, (weights // unit).astype(np.int64), size))
    constant = lam * capacity + float(mu.sum()) + float(r[fixed_in].sum())
    results = [_forced(r[members], weights, size) for members, weights, size in plans]
    prefer = np.zeros(n, dtype=bool)
    better_in = np.zeros(n, dtype=bool)
    penalty = np.full(n, np.nan)
    for (members, _, _), (_, with_in, with_out, chosen) in zip(plans, results):
        prefer[members] = chosen
        better_in[members] = with_in > with_out
        penalty[members] = np.abs(with_in - with_out)
    candidate = fixed_in | prefer
    for members in exclusive:  # the priced lists may be broken: keep each list's best-scoring member
        inside = members[candidate[members]]
        if inside.size > 1:
            keep = inside[fixed_in[inside]] if fixed_in[inside].any() else inside[[int(np.argmax(v[inside]))]]
            candidate[inside] = False
            candidate[keep] = True
    completed = complete(candidate)
    if completed is not None and v[completed].sum() > v[incumbent].sum():
        incumbent = completed
    return KnapsackBound(constant + sum(result[0] for result in results), prefer, better_in, penalty, incumbent)


def _forced(r: np.ndarray, w: np.ndarray, size: int):
    """Best knapsack total, each item's best total forced in and forced out, and the best choice (mask)."""
    m = r.shape[0]
    forward = _table(r, w, size)
    backward = _table(r[::-1], w[::-1], size)[::-1]  # backward[i]: items i.. only
    best = float(forward[m, size])
    with_in = np.full(m, -np.inf)
    with_out = np.empty(m)
    for item in range(m):
        before, after = forward[item], backward[item + 1]
        with_out[item] = float(np.max(before + after[::-1]))  # weights w and size − w
        room = size - int(w[item])
        if room >= 0:
            with_in[item] = r[item] + float(np.max(before[: room + 1] + after[room::-1]))
    chosen = np.zeros(m, dtype=bool)
    left = size
    for item in range(m - 1, -1, -1):  # trace the forward table back
        if forward[item + 1, left] != forward[item, left]:
            chosen[item] = True
            left -= int(w[item])
    return best, with_in, with_out, chosen


def _table(r: np.ndarray, w: np.ndarray, size: int) -> np.ndarray:
    """table[i, u]: best total of the first i items with total weight at most u."""
    m = r.shape[0]
    table = np.zeros((m + 1, size + 1))
    for item in range(m):
        row, weight, gain = table[item], int(w[item]), float(r[item])
        nxt = table[item + 1]
        nxt[:] = row
        if gain <= 0 or weight > size:
            continue
        if weight == 0:
            nxt += gain
        else:
            np.maximum(row[weight:], row[:-weight] + gain, out=nxt[weight:])
    return table
