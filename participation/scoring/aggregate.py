"""Combining several planners' ratings into one value per proposal and criterion."""
from __future__ import annotations

import numpy as np

METHODS = ("mean", "median")


def aggregate_ratings(ratings, method="mean") -> np.ndarray:
    """Mean or median over raters of an (n, k, r) array; NaN = not rated; NaN where nobody rated."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    try:
        values = np.asarray(ratings, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"ratings must be numbers or NaN: {error}") from None
    if values.ndim != 3:
        raise ValueError(f"ratings must be 3-D (proposals × criteria × raters), got {values.ndim}-D")
    infinite = np.isinf(values)
    if infinite.any():
        row, column, rater = (int(i) for i in np.argwhere(infinite)[0])
        raise ValueError(f"ratings cell (row {row}, column {column}, rater {rater}) is infinite")
    rated = ~np.isnan(values)
    counts = rated.sum(axis=2)
    result = np.full(values.shape[:2], np.nan)
    if values.shape[2] == 0:
        return result
    has = counts > 0
    if method == "mean":
        totals = np.where(rated, values, 0.0).sum(axis=2)
        np.divide(totals, counts, out=result, where=has)
        return result
    # NaN sorts last, so the c ratings of a cell are its first c sorted entries.
    ordered = np.sort(values, axis=2)
    low = np.take_along_axis(ordered, np.maximum(counts - 1, 0)[..., None] // 2, axis=2)[..., 0]
    high = np.take_along_axis(ordered, np.minimum(counts // 2, values.shape[2] - 1)[..., None], axis=2)[..., 0]
    np.copyto(result, (low + high) / 2, where=has)
    return result
