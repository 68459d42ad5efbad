"""A planner's constraints on a selection: must-fund, mutually exclusive lists, per-group caps.

Decisions on what is accepted (each refusal is a ValueError naming the row, list or label):

- `must`: None, or a bool (n,) mask (0/1 also accepted); must-fund alternatives that cannot all be
  selected together (over the budget, over a group's cap, or two in one exclusive list) are refused
  with the reason.
- `exclusive`: a list of lists of 0-based row indices, at most one of each list selected. An index
  out of range, negative, fractional or a bool is refused; a bare index where a list belongs
  (exclusive=[1, 2] for [[1, 2]]) is refused; an index repeated within a list counts once; a list of
  fewer than two distinct rows constrains nothing; a row may be in several lists.
- `groups`: None, or one whole-number label per alternative; `group_caps`: {label: cap}, caps
  non-negative whole Rupiah. A label without a cap is uncapped; a cap for a label that no
  alternative carries is accepted and has no effect (a category may have no proposals yet);
  `group_caps` without `groups` is refused.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from participation.scoring._validate import describe, entries

MAX_RUPIAH = 2**62


@dataclass(frozen=True)
class Constraints:
    """Checked constraints over n alternatives."""

    must: np.ndarray  # bool (n,)
    exclusive: tuple[np.ndarray, ...]  # int64 index arrays, each of at least two distinct rows
    exclusive_numbers: tuple[int, ...]  # each kept list's position in the caller's `exclusive`
    groups: np.ndarray | None  # int64 labels (n,), or None
    caps: dict[int, int]  # label -> cap, for labels that some alternative carries

    def binding_caps(self, cost: np.ndarray) -> dict[int, int]:
        """The caps below their group's total cost: the only ones that can refuse anything."""
        if self.groups is None:
            return {}
        return {label: cap for label, cap in self.caps.items()
                if cap < int(cost[self.groups == label].sum())}

    def active(self, cost: np.ndarray) -> bool:
        """Whether anything beyond the budget ceiling can change the selection."""
        return bool(self.must.any()) or bool(self.exclusive) or bool(self.binding_caps(cost))


def rows(indices) -> str:
    """'row 3', 'rows 1 and 4', 'rows 0, 3 and 5' (at most ten named)."""
    listed = [int(i) for i in indices]
    if len(listed) == 1:
        return f"row {listed[0]}"
    shown = [str(i) for i in listed[:10]]
    if len(listed) > 10:
        return f"rows {', '.join(shown)} and {len(listed) - 10} more"
    return f"rows {', '.join(shown[:-1])} and {shown[-1]}"


def _per_row(values, name: str, entry: str, n: int) -> np.ndarray:
    """A 1-D array with one entry per alternative; a length mismatch names the unmatched rows."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers: {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one entry per score), got {array.ndim}-D")
    m = array.shape[0]
    if m < n:
        missing = f"row {m} has" if m == n - 1 else f"rows {m} to {n - 1} have"
        raise ValueError(f"{name} has {entries(m)} but there are {n} scores ({missing} no {entry})")
    if m > n:
        extra = f"{name}[{n}] has" if m == n + 1 else f"{name}[{n}] to {name}[{m - 1}] have"
        raise ValueError(f"{name} has {entries(m)} but there are {n} scores ({extra} no score)")
    return array


def _check_must(must, n: int) -> np.ndarray:
    if must is None:
        return np.zeros(n, dtype=bool)
    array = _per_row(must, "must", "entry", n)
    for index, value in enumerate(array.tolist()):
        if value not in (0.0, 1.0):
            raise ValueError(f"must[{index}] (row {index}) is {describe(value)}; use True or False")
    return array.astype(bool)


def _check_index(value, n: int, where: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise ValueError(f"{where} is {value!r}; use a row index (a whole number from 0 to {n - 1})")
    if not (math.isfinite(value) and value == math.floor(value)):
        raise ValueError(f"{where} is {value!r}; row indices are whole numbers")
    index = int(value)
    if index < 0:
        raise ValueError(f"{where} is {index}; row indices count from 0")
    if index >= n:
        raise ValueError(f"{where} is {index} but there are only {n} alternatives (rows 0 to {n - 1})")
    return index


def _check_exclusive(exclusive, n: int) -> tuple[tuple[np.ndarray, ...], tuple[int, ...]]:
    if exclusive is None:
        return (), ()
    if isinstance(exclusive, (str, bytes, Mapping)) or not isinstance(exclusive, Iterable):
        raise ValueError(f"exclusive must be a list of lists of row indices, not {exclusive!r}")
    lists, numbers = [], []
    for number, members in enumerate(exclusive):
        if isinstance(members, (str, bytes, Mapping)) or not isinstance(members, Iterable):
            raise ValueError(f"exclusive[{number}] is {members!r}, not a list of row indices "
                             "(one list of rows 1 and 2 is exclusive=[[1, 2]])")
        indices = sorted({_check_index(value, n, f"exclusive[{number}][{position}]")
                          for position, value in enumerate(members)})
        if len(indices) >= 2:
            lists.append(np.array(indices, dtype=np.int64))
            numbers.append(number)
    return tuple(lists), tuple(numbers)


def _check_groups(groups, group_caps, n: int) -> tuple[np.ndarray | None, dict[int, int]]:
    if groups is None:
        if group_caps:
            raise ValueError("group_caps needs groups: pass groups=, one label per alternative")
        return None, {}
    array = _per_row(groups, "groups", "group", n)
    for index, value in enumerate(array.tolist()):
        if not (math.isfinite(value) and value == math.floor(value)):
            raise ValueError(f"groups[{index}] (row {index}) is {describe(value)}; group labels are whole numbers")
    labels = array.astype(np.int64)
    if group_caps is None:
        return labels, {}
    if not isinstance(group_caps, Mapping):
        raise ValueError(f"group_caps must be a mapping {{group label: cap}}, not {group_caps!r}")
    present = set(labels.tolist())
    caps = {}
    for key, cap in group_caps.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
            raise ValueError(f"group_caps key {key!r} is not a whole-number group label")
        try:
            value = float(cap)
        except (TypeError, ValueError):
            raise ValueError(f"group_caps[{key}] is {cap!r}; caps are non-negative whole Rupiah") from None
        if not math.isfinite(value) or value < 0 or value != math.floor(value) or value > MAX_RUPIAH:
            raise ValueError(f"group_caps[{key}] is {cap!r}; caps are non-negative whole Rupiah")
        if int(key) in present:
            caps[int(key)] = int(value)
    return labels, caps


def check_constraints(n: int, must=None, exclusive=(), groups=None, group_caps=None) -> Constraints:
    """The constraints checked for shape and range (not yet for whether `must` fits)."""
    labels, caps = _check_groups(groups, group_caps, n)
    lists, numbers = _check_exclusive(exclusive, n)
    return Constraints(must=_check_must(must, n), exclusive=lists, exclusive_numbers=numbers, groups=labels,
                       caps=caps)


def check_must_fits(constraints: Constraints, cost: np.ndarray, capacity: int) -> None:
    """Refuse a must-fund set that cannot be selected as a whole, saying why."""
    must = constraints.must
    if not must.any():
        return
    chosen = np.flatnonzero(must)
    total = int(cost[must].sum())
    if total > capacity:
        raise ValueError(f"the must-fund alternatives cannot all fit: {rows(chosen)} cost {total} "
                         f"together, over the budget of {capacity}")
    for label, cap in sorted(constraints.caps.items()):
        inside = must & (constraints.groups == label)
        spent = int(cost[inside].sum())
        if spent > cap:
            raise ValueError(f"the must-fund alternatives cannot all fit: {rows(np.flatnonzero(inside))} in "
                             f"group {label} cost {spent} together, over the group's cap of {cap}")
    for number, members in zip(constraints.exclusive_numbers, constraints.exclusive):
        both = members[must[members]]
        if both.size >= 2:
            raise ValueError(f"the must-fund alternatives cannot all be selected: exclusive[{number}] "
                             f"holds {rows(both)}, and at most one of them may be selected")
