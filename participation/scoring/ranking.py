"""Ranks from scores, with a written-down tie rule."""
from __future__ import annotations

import numpy as np

from participation.scoring._validate import TIE_TOLERANCE, check_vector, entries


def _order(scores: np.ndarray, tiebreak_keys) -> np.ndarray:
    """Alternative indices best first, following `rank`'s tie rule."""
    order = np.argsort(-scores)  # fast, not stable: ties are put right below
    if order.shape[0] < 2:
        return order
    ordered = np.take(scores, order)
    tied = (ordered[:-1] - ordered[1:]) <= TIE_TOLERANCE  # sorted position p ties with p + 1
    gaps = np.flatnonzero(tied)
    if gaps.size == 0:
        return order
    members = np.union1d(gaps, gaps + 1)
    # Tie groups are runs of sorted positions with consecutive gaps ≤ the tolerance: a member
    # starts a new group unless it ties with the position before it.
    group = np.cumsum((members == 0) | ~tied[np.maximum(members - 1, 0)])
    indices = order[members]
    sort_keys = [indices]  # last resort: original position, ascending
    for key in reversed(tiebreak_keys):
        sort_keys.append(key[indices])
    sort_keys.append(group)  # primary: keep each group where it is
    order[members] = indices[np.lexsort(sort_keys)]
    return order


def rank(scores, *tiebreak_keys) -> np.ndarray:
    """Ranks 1..n, 1 = best, each used once: higher score first.

    Ties: consecutive sorted scores within 1e-9 form one group (chained), ordered by each
    tie-break key ascending, the first key first, then by input position.
    """
    values = check_vector(scores, "scores")
    keys = []
    for number, key in enumerate(tiebreak_keys):
        array = np.asarray(key)
        if array.ndim != 1:
            raise ValueError(f"tie-break key {number} must be 1-D (one entry per score), got {array.ndim}-D")
        m, n = array.shape[0], values.shape[0]
        if m != n:
            unmatched = f"row {m} has no key value" if m < n else f"its entry {n} has no score"
            raise ValueError(f"tie-break key {number} has {entries(m)} but there are {n} scores ({unmatched})")
        if array.dtype.kind == "f" and np.isnan(array).any():
            index = int(np.argmax(np.isnan(array)))
            raise ValueError(f"tie-break key {number}[{index}] (row {index}) is NaN")
        keys.append(array)
    order = _order(values, keys)
    ranks = np.empty(values.shape[0], dtype=np.int64)
    ranks[order] = np.arange(1, values.shape[0] + 1)
    return ranks
