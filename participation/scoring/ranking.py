"""Ranks from scores, with a written-down tie rule."""
from __future__ import annotations

import numpy as np

from participation.scoring._validate import TIE_TOLERANCE, check_vector


def _order(scores: np.ndarray, tiebreak_keys) -> np.ndarray:
    """Alternative indices best first, following `rank`'s tie rule."""
    n = scores.shape[0]
    order = np.argsort(-scores)  # fast, not stable: ties are put right below
    if n < 2:
        return order
    ordered = scores[order]
    tied = (ordered[:-1] - ordered[1:]) <= TIE_TOLERANCE
    if not tied.any():
        return order
    # Tie groups: runs of sorted positions whose consecutive gaps are ≤ the tolerance.
    group = np.concatenate(([0], np.cumsum(~tied)))
    members = np.flatnonzero(np.concatenate((tied, [False])) | np.concatenate(([False], tied)))
    indices = order[members]
    sort_keys = [indices]  # last resort: original position, ascending
    for key in reversed(tiebreak_keys):
        sort_keys.append(key[indices])
    sort_keys.append(group[members])  # primary: keep each group where it is
    order[members] = indices[np.lexsort(sort_keys)]
    return order


def rank(scores, *tiebreak_keys) -> np.ndarray:
    """Ranks 1..n, 1 = best, each used once: higher score first.

    Tie rule: scores are sorted from high to low, and consecutive sorted scores that differ by at
    most 1e-9 form one tie group (chained: 0.3, 0.3 + 0.6e-9 and 0.3 + 1.2e-9 are one group).
    Within a group, alternatives are ordered by each tie-break key in turn, ascending (the first
    key decides first), and finally by their position in the input, ascending.
    """
    values = check_vector(scores, "scores")
    keys = []
    for number, key in enumerate(tiebreak_keys):
        array = np.asarray(key)
        if array.ndim != 1 or array.shape[0] != values.shape[0]:
            raise ValueError(f"tie-break key {number} must have one entry per score ({values.shape[0]}), "
                             f"got shape {array.shape}")
        if array.dtype.kind == "f" and np.isnan(array).any():
            index = int(np.argmax(np.isnan(array)))
            raise ValueError(f"tie-break key {number}[{index}] (row {index}) is NaN")
        keys.append(array)
    order = _order(values, keys)
    ranks = np.empty(values.shape[0], dtype=np.int64)
    ranks[order] = np.arange(1, values.shape[0] + 1)
    return ranks
