"""How far planners agree: Krippendorff's alpha per criterion, computed by the `krippendorff` package.

The package takes, per criterion, the number of raters who gave each value to each unit; that
table is built here in one pass (values located in the sorted domain with `searchsorted`, counted
with `bincount`), over the units with at least two ratings only. Units rated once pair with no one:
they add nothing to the coincidence matrix, from which alpha (every level, including the ordinal
distances) is computed, so leaving them out changes no value and keeps the package's
units × values × values work small. It is meant for rating scales: with V distinct values the
package holds an array of units × V × V floats.
"""
from __future__ import annotations

import krippendorff
import numpy as np

LEVELS = ("ordinal", "interval", "nominal")


def check_ratings(ratings) -> np.ndarray:
    """An (n, k, r) float64 array, NaN = not rated; an infinite cell is named."""
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
    return values


def rating_agreement(ratings, level="ordinal") -> np.ndarray:
    """Krippendorff's alpha per criterion of (n, k, r) ratings (NaN = not rated).

    `level` is "ordinal" (the default: rating scales are ordered, their steps not necessarily
    equal), "interval" or "nominal". NaN where alpha is undefined: fewer than two pairable ratings
    (ratings of a proposal that at least one other planner also rated on that criterion), or no
    variation among the pairable ratings (every one the same value). 1 is perfect agreement, 0 is
    what chance gives, below 0 is systematic disagreement.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    values = check_ratings(ratings)
    n, k, r = values.shape
    result = np.full(k, np.nan)
    for column in range(k):
        cube = values[:, column, :]  # (units, raters)
        rated = ~np.isnan(cube)
        pairable = rated.sum(axis=1) >= 2
        if not pairable.any():
            continue
        units = cube[pairable]
        domain = np.unique(units[~np.isnan(units)])
        if domain.shape[0] < 2:
            continue  # no variation: alpha is 0/0
        result[column] = krippendorff.alpha(value_counts=_value_counts(units, domain), value_domain=domain,
                                            level_of_measurement=level)
    return result


def _value_counts(units: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """(units, values) table: how many raters gave each domain value to each unit."""
    m, v = units.shape[0], domain.shape[0]
    unit, rater = np.nonzero(~np.isnan(units))
    position = np.searchsorted(domain, units[unit, rater])
    return np.bincount(unit * v + position, minlength=m * v).reshape(m, v)


def rater_leniency(ratings) -> np.ndarray:
    """(k, r): each rater's mean offset from the others, per criterion, on the proposals both rated.

    For rater a and criterion j, over the proposals that a and at least one other rater rated on j:
    the mean of (a's rating − the mean of the other raters' ratings). Positive is lenient, negative
    strict; NaN where the rater shares no rated proposal with anyone on that criterion.
    """
    values = check_ratings(ratings)
    rated = ~np.isnan(values)
    zeroed = np.where(rated, values, 0.0)
    count = rated.sum(axis=2, keepdims=True)  # (n, k, 1)
    others = count - rated  # how many others rated each cell
    shared = rated & (others > 0)
    others_mean = np.divide(zeroed.sum(axis=2, keepdims=True) - zeroed, others, out=np.zeros(values.shape),
                            where=shared)
    offsets = np.where(shared, zeroed - others_mean, 0.0).sum(axis=0)  # (k, r)
    pairs = shared.sum(axis=0)
    return np.divide(offsets, pairs, out=np.full(offsets.shape, np.nan), where=pairs > 0)
