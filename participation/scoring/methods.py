"""SAW (min–max or max normalisation), TOPSIS (vector normalisation) and per-criterion contributions.

Speed: the column statistics are separate reductions, each one read of the matrix: a min and a
max (NaN and ±inf propagate into them, so they also reveal bad cells without a separate check)
and, for TOPSIS, a sum of squares. The scores are then computed in row blocks small enough to stay
in the CPU cache, so no temporary the size of the matrix exists: SAW (min–max) subtracts each
column's origin into one reused buffer and takes a matrix–vector product per block; TOPSIS takes
the squared distances to the ideal and anti-ideal the same way.
"""
from __future__ import annotations

import numpy as np

from participation.scoring._validate import CellError, as_matrix, check_directions, check_weights, raise_bad_cell

BLOCK_ROWS = 8192
NORMALIZATIONS = ("minmax", "max")


def column_extrema(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column min and max of a C-contiguous (n, k) array: two reductions over a folded view."""
    # A plain reduction over axis 0 runs its inner loop over only k values; folding f consecutive
    # rows into one (a free reshape) gives it f·k values and makes it several times faster.
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
    """The checked matrix, weights and directions, and the column minima and maxima."""
    x = as_matrix(matrix)
    k = x.shape[1]
    w = check_weights(weights, k)
    d = check_directions(directions, k)
    lo, hi = column_extrema(x)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):  # NaN and ±inf propagate to min/max
        raise_bad_cell(x)
    return x, w, d, lo, hi


def _minmax_terms(w, d, lo, hi):
    """Per-column (origin, factor, constant) with weighted normalised value = (x - origin) * factor."""
    # Benefit (x − min)/(max − min) has origin min; cost (max − x)/(max − min) has origin max and a
    # negative factor. Subtracting before scaling keeps full precision for large values with a tiny
    # range, where x·scale + offset cancels (1e6 + 0.0013 in [1e6 + 0.001, 1e6 + 0.002] came out
    # 0.29999995 instead of 0.29999998). A constant column normalises to 1.0: its weight.
    span = hi - lo
    constant = span == 0
    origin = np.where(d > 0, lo, hi)
    factor = np.where(constant, 0.0, d * w / np.where(constant, 1.0, span))
    return origin, factor, constant


def _shifted_products(x, origin, factor) -> np.ndarray:
    """(x - origin) @ factor, computed in row blocks through one reused buffer."""
    n = x.shape[0]
    out = np.empty(n)
    buffer = np.empty((min(n, BLOCK_ROWS), x.shape[1]))
    for start in range(0, n, BLOCK_ROWS):
        block = x[start:start + BLOCK_ROWS]
        shifted = np.subtract(block, origin, out=buffer[:block.shape[0]])
        np.matmul(shifted, factor, out=out[start:start + BLOCK_ROWS])
    return out


def _check_max(x, d, lo, hi):
    """`max` normalisation divides by the column maximum (benefit) or by each value (cost)."""
    for column in np.flatnonzero((d < 0) & (lo <= 0)).tolist():
        row = int(np.argmax(x[:, column] <= 0))
        raise CellError(f"matrix cell (row {row}, column {column}) is {float(x[row, column])!r} in cost column "
                        f"{column}; max normalisation needs positive costs (min/x)", row, column)
    for column in np.flatnonzero((d > 0) & (lo < 0)).tolist():
        row = int(np.argmax(x[:, column] < 0))
        raise CellError(f"matrix cell (row {row}, column {column}) is {float(x[row, column])!r} in benefit column "
                        f"{column}; max normalisation (x/max) needs non-negative values", row, column)


def saw(matrix, weights, directions, normalization="minmax") -> np.ndarray:
    """Simple additive weighting scores in [0, 1]; a constant column normalises to 1.0."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, not {normalization!r}")
    x, w, d, lo, hi = _prepare(matrix, weights, directions)
    if normalization == "minmax":
        origin, factor, constant = _minmax_terms(w, d, lo, hi)
        scores = _shifted_products(x, origin, factor)
        scores += w[constant].sum()
    else:
        scores = _saw_max(x, w, d, lo, hi)
    return np.clip(scores, 0.0, 1.0, out=scores)


def _saw_max(x, w, d, lo, hi):
    """SAW scores under `max` normalisation (benefit x/max, cost min/x)."""
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
        origin, factor, constant = _minmax_terms(w, d, lo, hi)
        out = np.subtract(x, origin)
        out *= factor
        out[:, constant] = w[constant]
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
