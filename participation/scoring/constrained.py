"""Selection under a planner's constraints: greedy by rank, or exact through HiGHS.

`optimal` is a 0/1 integer program solved by HiGHS (`scipy.optimize.milp`, mip_rel_gap=0):
maximise the total score subject to the budget, each binding group cap, and at most one of each
exclusive list, with the must-fund alternatives fixed in. Alternatives that cannot improve a set
(score ≤ 0, or costing more than the budget or their group's cap) are fixed out unless they are
must-fund, as the unconstrained solver leaves them out.

Where the budget cannot bind (every selectable alternative in a capped group, the caps within the
budget), the program is a set of knapsacks joined only by the exclusive lists, solved exactly
without HiGHS (`_groups.solve_by_groups`). Otherwise, before HiGHS sees it, the program is made small without changing its optimum: the LP relaxation
gives row prices and, rounded down and filled greedily, a feasible selection; alternatives whose
other value provably cannot reach that selection's total are fixed, first by the LP's own bound,
then by the tighter bound of `_fixing` (exact knapsacks per group). When many are still free, a
first small program (the 60 least certain and the exclusive lists free, the rest as the knapsacks
chose) finds a better selection to fix by. HiGHS then solves what is left, exactly.

HiGHS works in floating point with its default absolute gap (1e-6 of total score) and feasibility
tolerances, so the returned set is checked in exact integer Rupiah; a row found over its limit
(possible only through rounding of costs near 2**53) is tightened by the excess and the program
solved again. Same input, same set: every step, HiGHS included, is deterministic. Among sets of
equal total score it is HiGHS's choice, not necessarily the one keeping better-ranked proposals
(the variables are passed in rank order).
"""
from __future__ import annotations

import math
from dataclasses import replace
from functools import reduce

import numpy as np

from participation.scoring._fixing import knapsack_bound
from participation.scoring._groups import solve_by_groups
from participation.scoring.constraints import Constraints

REPAIRS = 5
CORE = 60  # alternatives left free in the first, small program
TRIAL_ABOVE = 200  # ... which is run only when more than this many are free after fixing


def greedy_constrained(order: np.ndarray, cost: np.ndarray, capacity: int, constraints: Constraints) -> np.ndarray:
    """The must set, then each alternative in `order` that keeps every constraint."""
    n = cost.shape[0]
    selected = constraints.must.copy()
    cost_list = cost.tolist()
    remaining = capacity - int(cost[selected].sum())
    labels = constraints.groups.tolist() if constraints.groups is not None else [None] * n
    room = {label: cap - sum(cost_list[i] for i in np.flatnonzero(selected).tolist() if labels[i] == label)
            for label, cap in constraints.caps.items()}
    lists_of = [[] for _ in range(n)]
    for members in constraints.exclusive:
        for index in members.tolist():
            lists_of[index].append(members)
    blocked = np.zeros(n, dtype=bool)
    for index in np.flatnonzero(selected).tolist():
        for members in lists_of[index]:
            blocked[members] = True
    for index in order.tolist():
        if selected[index] or blocked[index]:
            continue
        price, label = cost_list[index], labels[index]
        if price > remaining or (label in room and price > room[label]):
            continue
        selected[index] = True
        remaining -= price
        if label in room:
            room[label] -= price
        for members in lists_of[index]:
            blocked[members] = True
    return selected


def optimal_constrained(values: np.ndarray, cost: np.ndarray, capacity: int, order: np.ndarray,
                        constraints: Constraints) -> np.ndarray:
    """The exact maximum-score selection under every constraint (HiGHS)."""
    # scipy is imported here, not at module level: only constrained `optimal` needs it, and
    # importing scipy.optimize costs a few hundred milliseconds at start-up.
    from scipy.optimize import linprog

    model = _Model(values, cost, capacity, order, constraints)
    v = values[order]
    lower, upper = model.lower.copy(), model.upper.copy()  # rank order, as HiGHS sees them
    incumbent = greedy_constrained(order, cost, capacity, constraints)
    low, high = np.empty_like(lower), np.empty_like(upper)  # by alternative
    low[order], high[order] = lower, upper
    by_groups = solve_by_groups(values, cost, capacity, order, constraints, low, high, incumbent)
    if by_groups is not None:  # the budget cannot bind: exact knapsacks per capped group
        return by_groups
    relaxation = linprog(-v, A_ub=model.matrix, b_ub=model.rhs, bounds=np.column_stack((lower, upper)),
                         method="highs")
    if relaxation.status == 0:
        start = constraints.must.copy()
        start[order[relaxation.x > 1 - 1e-9]] = True
        rounded = _completed(start, order, cost, capacity, constraints, model)
        if rounded is not None and values[rounded].sum() > values[incumbent].sum():
            incumbent = rounded
        duals = -relaxation.ineqlin.marginals
        _fix(v, model, lower, upper, duals, float(values[incumbent].sum()))
        low, high = np.empty_like(lower), np.empty_like(upper)  # by alternative
        low[order], high[order] = lower, upper
        # The LP duals of scaled cost rows are prices per scaled unit: per Rupiah, divide by the scale.
        bound = knapsack_bound(values, cost, capacity, constraints.groups, model.caps, constraints.exclusive,
                               low, high, duals[0] / model.unit[0], duals[model.costed:], incumbent,
                               lambda mask: _completed(mask, order, cost, capacity, constraints, model))
        if bound is not None:
            free = low < high
            if free.sum() > TRIAL_ABOVE:
                # First a small program: free are the CORE alternatives whose other value lowers
                # the bound least and the members of exclusive lists (which the bound prices
                # instead of keeping); the rest are kept as the knapsacks chose them. Its answer,
                # if it has one, is feasible and usually optimal: a better incumbent fixes far more.
                cut = np.sort(bound.penalty[free])[min(CORE, int(free.sum())) - 1]
                core = free & (bound.penalty <= cut)
                for members in constraints.exclusive:
                    core[members] |= free[members]
                kept = free & ~core
                trial_low, trial_high = low.copy(), high.copy()
                trial_low[kept] = trial_high[kept] = bound.prefer[kept]
                trial = _solve(model, v, order, cost, trial_low[order], trial_high[order], strict=False)
                if trial is not None and values[trial].sum() > values[bound.incumbent].sum():
                    bound.incumbent = trial
            bound.fix(values, low, high)
            lower, upper = low[order], high[order]
    return _solve(model, v, order, cost, lower, upper)


def _solve(model: _Model, v, order, cost, lower, upper, strict=True) -> np.ndarray | None:
    """HiGHS on the program with these bounds (rank order); the selection, checked in whole Rupiah.

    Without a selection HiGHS's failure is raised, or None returned if not `strict`.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    rhs = model.rhs.copy()
    for _ in range(REPAIRS):
        result = milp(-v, integrality=np.ones(v.shape[0]), bounds=Bounds(lower, upper),
                      constraints=LinearConstraint(model.matrix, -np.inf, rhs), options={"mip_rel_gap": 0})
        if result.x is None:
            if strict:
                raise RuntimeError(f"HiGHS found no selection: {result.message}")
            return None
        selected = np.zeros(v.shape[0], dtype=bool)
        selected[order] = result.x > 0.5
        excess = model.excess(selected, cost)
        if max(excess, default=0) <= 0:
            return selected
        for row, over in enumerate(excess):
            if over > 0:
                rhs[row] -= over / model.unit[row]
    if strict:
        raise RuntimeError("HiGHS kept returning selections over a cost limit")
    return None


def _fix(v, model, lower, upper, duals, incumbent: float) -> None:
    """Fix the variables whose other value provably cannot reach the incumbent (in place)."""
    # Lagrangian bound: for any row prices y ≥ 0, no selection scores more than
    # y·rhs + Σ_fixed r_j x_j + Σ_free max(0, r_j) with r = v − Aᵀy. Forcing a free x_j against the
    # sign of r_j lowers that bound by |r_j|; where it then falls below the incumbent (a feasible
    # selection that obeys every fixing), x_j is fixed: exact for any y, the LP duals are only a
    # good choice. HiGHS then solves a far smaller program.
    y = np.maximum(duals, 0.0)
    reduced = v - model.matrix.T @ y
    free = lower < upper
    bound = float(y @ model.rhs + (reduced * lower)[~free].sum() + np.maximum(reduced[free], 0.0).sum())
    margin = bound - np.abs(reduced)
    settled = free & (margin < incumbent - 1e-9 * (1.0 + abs(incumbent)))
    take = settled & (reduced > 0)
    lower[take] = 1.0
    upper[settled & ~take] = 0.0


class _Model:
    """The program's rows in rank-ordered variables: the budget, the binding caps, the exclusive lists."""

    def __init__(self, values, cost, capacity, order, constraints: Constraints):
        from scipy.sparse import csr_array

        n = cost.shape[0]
        must, groups = constraints.must, constraints.groups
        caps = self.caps = constraints.binding_caps(cost)
        limit = np.full(n, capacity, dtype=np.int64)
        if groups is not None:
            for label, cap in caps.items():
                limit[groups == label] = min(cap, capacity)
        # Alternatives that cannot improve a set are fixed out, as the unconstrained solver does.
        useful = (values > 0) & (cost <= limit)
        self.lower = must[order].astype(np.float64)
        self.upper = (must | useful)[order].astype(np.float64)
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        self.members = [np.arange(n)] + [np.flatnonzero(groups == label) for label in sorted(caps)]
        self.limits = [capacity] + [caps[label] for label in sorted(caps)]
        self.costed = len(self.members)
        weights, rhs, self.unit = [], [], []
        for members, limit_value in zip(self.members, self.limits):
            # Costs in units of their gcd, scaled by a power of two to about a thousand, so that
            # HiGHS's absolute tolerances mean something for amounts of 10^11 Rupiah.
            row = cost[members]
            divisor = reduce(math.gcd, row.tolist(), 0) or 1
            scale = divisor * 2.0 ** max(0, math.ceil(math.log2(max(1, int(row.max(initial=0)) // divisor) / 1024)))
            weights.append(row / scale)
            rhs.append((limit_value // divisor) * divisor / scale)
            self.unit.append(scale)
        for members in constraints.exclusive:
            self.members.append(members)
            weights.append(np.ones(members.shape[0]))
            rhs.append(1.0)
        indptr = np.concatenate(([0], np.cumsum([m.shape[0] for m in self.members])))
        self.matrix = csr_array((np.concatenate(weights), position[np.concatenate(self.members)], indptr),
                                shape=(len(self.members), n))
        self.rhs = np.array(rhs)

    def excess(self, selected, cost) -> list:
        """Whole Rupiah by which `selected` exceeds each cost row's limit (exact integers)."""
        return [int(cost[m[selected[m]]].sum()) - limit for m, limit in zip(self.members, self.limits)]


def _completed(start, order, cost, capacity, constraints: Constraints, model: _Model):
    """`start` with the must-fund, filled greedily in rank order; None if `start` breaks a constraint."""
    # Used on the relaxation rounded down (which keeps every row, all coefficients being
    # non-negative, up to HiGHS's tolerance) and on the knapsacks' choice; the check is exact.
    start = start | constraints.must
    if max(model.excess(start, cost)) > 0 or any(start[m].sum() > 1 for m in constraints.exclusive):
        return None
    return greedy_constrained(order, cost, capacity, replace(constraints, must=start))
