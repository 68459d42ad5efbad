"""SAW (min–max or max normalisation), TOPSIS (vector normalisation) and per-criterion contributions.

Speed: one pass over the matrix for the column statistics (min, max and, for TOPSIS, the sum of
squares), which also reveals NaN or infinite cells without a separate check; then SAW is a single
matrix–vector product because min–max normalisation is affine per column, and TOPSIS works in
row blocks small enough to stay in the CPU cache, so no temporary the size of the matrix exists.
"""
from __future__ import annotations

import numpy as np

from participation.scoring._validate import as_matrix, check_directions, check_weights, raise_bad_cell

BLOCK_ROWS = 8192
NORMALIZATIONS = ("minmax", "max")


def column_extrema(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column min and max of a C-contiguous (n, k) array.

    A plain reduction over axis 0 runs its inner loop over only k values; folding f consecutive
    rows into one (a free reshape) gives it f·k values and makes it several times faster.
    """
    n, k = x.shape
    fold = max(1, min(32, 384 // k, n))
    rows = (n // fold) * fold
    wide = x[:rows].reshape(-1, fold * k)
    lo = wide.min(axis=0).reshape(fold, k).min(axis=0)
    hi = wide.max(axis=0).reshape(fold, k).max(axis=0)
    if rows < n:
        np.minimum(lo, x[rows:].min(axis=0), out=lo)
        np.maximum(hi, x[rows:].max(axis=0), out=hi)
    return lo, hi


def _prepare(matrix, weights, directions):
    x = as_matrix(matrix)
    k = x.shape[1]
    w = check_weights(weights, k)
    d = check_directions(directions, k)
    lo, hi = column_extrema(x)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):  # NaN and ±inf propagate to min/max
        raise_bad_cell(x)
    return x, w, d, lo, hi


def _minmax_affine(w, d, lo, hi):
    """Per-column (scale, offset) such that weighted normalised value = x * scale + offset."""
    span = hi - lo
    constant = span == 0
    safe = np.where(constant, 1.0, span)
    scale = np.where(constant, 0.0, d * w / safe)
    # benefit: (x - lo) / span → offset -lo/span; cost: (hi - x) / span → offset hi/span
    offset = np.where(constant, w, np.where(d > 0, -lo, hi) * w / safe)
    return scale, offset


def _check_max(x, d, lo, hi):
    """`max` normalisation divides by the column maximum (benefit) or by each value (cost)."""
    for column in np.flatnonzero((d < 0) & (lo <= 0)).tolist():
        row = int(np.argmax(x[:, column] <= 0))
        raise ValueError(f"matrix cell (row {row}, column {column}) is {float(x[row, column])!r} in cost column "
                         f"{column}; max normalisation needs positive costs (min/x)")
    for column in np.flatnonzero((d > 0) & (lo < 0)).tolist():
        row = int(np.argmax(x[:, column] < 0))
        raise ValueError(f"matrix cell (row {row}, column {column}) is {float(x[row, column])!r} in benefit column "
                         f"{column}; max normalisation (x/max) needs non-negative values")


def saw(matrix, weights, directions, normalization="minmax") -> np.ndarray:
    """Simple additive weighting scores in [0, 1]; a constant column normalises to 1.0."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, not {normalization!r}")
    x, w, d, lo, hi = _prepare(matrix, weights, directions)
    if normalization == "minmax":
        scale, offset = _minmax_affine(w, d, lo, hi)
        scores = x @ scale
        scores += offset.sum()
    else:
        scores = _saw_max(x, w, d, lo, hi)
    return np.clip(scores, 0.0, 1.0, out=scores)


def _saw_max(x, w, d, lo, hi):
    _check_max(x, d, lo, hi)
    benefit = d > 0
    # benefit x/max (a column of zeros is constant: 1.0); cost min/x.
    zero_benefit = benefit & (hi == 0)
    scale = np.where(benefit & ~zero_benefit, w / np.where(hi == 0, 1.0, hi), 0.0)
    scores = x @ scale
    scores += w[zero_benefit].sum()
    cost_columns = np.flatnonzero(~benefit)
    if cost_columns.size:
        cost_weights = w[cost_columns] * lo[cost_columns]
        for start in range(0, x.shape[0], BLOCK_ROWS):
            block = x[start:start + BLOCK_ROWS, cost_columns]
            scores[start:start + BLOCK_ROWS] += np.reciprocal(block) @ cost_weights
    return scores


def contributions(matrix, weights, directions, normalization="minmax") -> np.ndarray:
    """Each criterion's weighted normalised value, (n, k); rows sum to `saw(...)`."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, not {normalization!r}")
    x, w, d, lo, hi = _prepare(matrix, weights, directions)
    if normalization == "minmax":
        scale, offset = _minmax_affine(w, d, lo, hi)
        out = x * scale
        out += offset
    else:
        _check_max(x, d, lo, hi)
        out = np.empty_like(x)
        for column in range(x.shape[1]):
            if d[column] > 0:
                out[:, column] = w[column] if hi[column] == 0 else x[:, column] * (w[column] / hi[column])
            else:
                np.divide(w[column] * lo[column], x[:, column], out=out[:, column])
    return np.clip(out, 0.0, w, out=out)


def topsis(matrix, weights, directions) -> np.ndarray:
    """TOPSIS closeness in [0, 1] with vector normalisation; 0.5 where both distances are 0."""
    x, w, d, lo, hi = _prepare(matrix, weights, directions)
    norms = np.sqrt(np.einsum("ij,ij->j", x, x))
    c = np.where(norms == 0, 0.0, w / np.where(norms == 0, 1.0, norms))
    # Weighted normalised values are x·c with c ≥ 0, so the ideal is c·max for a benefit and
    # c·min for a cost, and (x·c − t·c)² = c²·(x − t)²: the squared distances are
    # matrix–vector products of (x − t)² with c², with no division and no per-cell weighting.
    ideal = np.where(d > 0, hi, lo)
    anti = np.where(d > 0, lo, hi)
    c2 = c * c
    n = x.shape[0]
    closeness = np.empty(n)
    for start in range(0, n, BLOCK_ROWS):
        block = x[start:start + BLOCK_ROWS]
        gap = np.subtract(block, ideal)
        plus = np.sqrt(np.square(gap, out=gap) @ c2)
        gap = np.subtract(block, anti, out=gap)
        minus = np.sqrt(np.square(gap, out=gap) @ c2)
        plus += minus
        out = closeness[start:start + BLOCK_ROWS]
        np.divide(minus, plus, out=out, where=plus > 0)
        out[plus == 0] = 0.5
    return np.clip(closeness, 0.0, 1.0, out=closeness)
