"""Combining several planners' ratings into one value per proposal and criterion."""
from __future__ import annotations

import numpy as np

from participation.scoring.agreement import check_ratings

METHODS = ("mean", "median", "standardized")


def aggregate_ratings(ratings, method="mean") -> np.ndarray:
    """Mean, median or standardized mean over raters of an (n, k, r) array; NaN = not rated.

    NaN where nobody rated. `standardized` corrects lenient and strict raters: each rater's ratings
    of a criterion become z-scores over that rater's own ratings of it (population SD; a rater
    with no spread, or with a single rating, gets z = 0), are mapped onto the criterion's pooled
    mean and population SD over all its ratings, and are then averaged over raters.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    values = check_ratings(ratings)
    rated = ~np.isnan(values)
    counts = rated.sum(axis=2)
    result = np.full(values.shape[:2], np.nan)
    if values.shape[2] == 0:
        return result
    has = counts > 0
    if method == "standardized":
        values = _standardized(values, rated)
        method = "mean"
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


def _standardized(values: np.ndarray, rated: np.ndarray) -> np.ndarray:
    """Each rating as pooled mean + pooled SD · (its z-score within its rater and criterion)."""
    zeroed = np.where(rated, values, 0.0)
    # Per rater and criterion (k, r): over the proposals (axis 0).
    count = rated.sum(axis=0)
    mean = np.divide(zeroed.sum(axis=0), count, out=np.zeros(count.shape), where=count > 0)
    deviation = np.where(rated, values - mean, 0.0)
    spread = np.sqrt(np.divide((deviation ** 2).sum(axis=0), count, out=np.zeros(count.shape), where=count > 0))
    # A spread that is rounding noise (all ratings equal up to ~1 ulp) is no spread.
    flat = spread <= 1e-12 * np.maximum(1.0, np.abs(mean))
    z = np.divide(deviation, spread, out=np.zeros(values.shape), where=~flat)
    # Per criterion (k,): over every rating of it.
    pooled_count = count.sum(axis=1)
    pooled_mean = np.divide(zeroed.sum(axis=(0, 2)), pooled_count, out=np.zeros(pooled_count.shape),
                            where=pooled_count > 0)
    pooled_deviation = np.where(rated, values - pooled_mean[None, :, None], 0.0)
    pooled_sd = np.sqrt(np.divide((pooled_deviation ** 2).sum(axis=(0, 2)), pooled_count,
                                  out=np.zeros(pooled_count.shape), where=pooled_count > 0))
    return np.where(rated, pooled_mean[None, :, None] + pooled_sd[None, :, None] * z, np.nan)
