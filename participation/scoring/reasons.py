"""Why an alternative is not selected: the exclusive partner, its group's cap, or the budget ceiling."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from participation.scoring.constraints import Constraints, check_constraints
from participation.scoring.selection import _check_budget, _check_costs

NOT_SELECTED_KINDS = ("exclusive", "group_cap", "ceiling", "none")


@dataclass(frozen=True)
class Exclusion:
    """Why one alternative is not selected; see `exclusion_reasons`."""

    kind: str  # one of NOT_SELECTED_KINDS
    partner: int | None = None  # kind "exclusive": the selected alternative it competes with
    group: int | None = None  # kind "group_cap": its group's label
    over: int | None = None  # kinds "group_cap" and "ceiling": Rupiah by which it would exceed the limit


def _reasons(selected: np.ndarray, cost: np.ndarray, capacity: int, constraints: Constraints) -> list:
    """`exclusion_reasons` on checked input."""
    n = cost.shape[0]
    partner = [None] * n
    for members in constraints.exclusive:
        chosen = members[selected[members]]
        if chosen.size:
            for index in members.tolist():
                if not selected[index] and partner[index] is None:
                    partner[index] = int(chosen[0])
    remaining = capacity - int(cost[selected].sum())
    groups = constraints.groups
    room = {}
    if groups is not None:
        room = {label: cap - int(cost[selected & (groups == label)].sum()) for label, cap in constraints.caps.items()}
    reasons = []
    for index in range(n):
        price = int(cost[index])
        label = int(groups[index]) if groups is not None else None
        if selected[index]:
            reasons.append(None)
        elif partner[index] is not None:
            reasons.append(Exclusion("exclusive", partner=partner[index]))
        elif label in room and price > room[label]:
            reasons.append(Exclusion("group_cap", group=label, over=price - room[label]))
        elif price > remaining:
            reasons.append(Exclusion("ceiling", over=price - remaining))
        else:
            reasons.append(Exclusion("none"))
    return reasons


def exclusion_reasons(selected, costs, budget, *, exclusive=(), groups=None, group_caps=None) -> list:
    """For each alternative, None if `selected`, else the `Exclusion` saying what keeps it out.

    The constraints are those given to `select_within_budget` (same checks). For an alternative not
    selected, the first that applies, against the selection as a whole:

    1. kind "exclusive": an exclusive list holds it and a selected alternative (`partner`: the
       lowest-numbered selected row of the first such list, in the caller's order);
    2. kind "group_cap": its group is capped and its cost would take the group over (`group`, and
       `over`: by how many Rupiah);
    3. kind "ceiling": its cost would take the selection over the budget (`over`: by how much);
    4. kind "none": it would fit under every constraint. Greedy never leaves such an alternative
       out; `optimal` does only when it adds no score (a score of 0 or less).
    """
    try:
        mask = np.asarray(selected)
    except (TypeError, ValueError) as error:
        raise ValueError(f"selected must be a bool mask: {error}") from None
    if mask.ndim != 1:
        raise ValueError(f"selected must be 1-D (one entry per alternative), got {mask.ndim}-D")
    n = mask.shape[0]
    cost = _check_costs(costs, n)
    capacity = _check_budget(budget)
    constraints = check_constraints(n, None, exclusive, groups, group_caps)
    return _reasons(_check_mask(mask), cost, capacity, constraints)


def _check_mask(mask: np.ndarray) -> np.ndarray:
    """A bool (n,) mask; 0/1 accepted, anything else named by its row."""
    if mask.dtype == bool:
        return mask
    for index, value in enumerate(mask.tolist()):
        if value not in (0, 1):
            raise ValueError(f"selected[{index}] (row {index}) is {value!r}; use True or False")
    return mask.astype(bool)
