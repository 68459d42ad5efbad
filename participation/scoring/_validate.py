"""Input checks shared by the scoring functions; every message names the offending cell."""
from __future__ import annotations

import numpy as np

TIE_TOLERANCE = 1e-9


def as_matrix(matrix, name: str = "matrix") -> np.ndarray:
    """A C-contiguous float64 (n, k) array with at least one row and one column (no copy if it is one)."""
    try:
        array = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a 2-D table of numbers: {error}") from None
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (alternatives × criteria), got {array.ndim}-D")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {array.shape}")
    return np.ascontiguousarray(array)


def first_bad_cell(array: np.ndarray) -> tuple:
    """Index of the first NaN or infinite cell (only called once a problem is known to exist)."""
    return tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])


def describe(value: float) -> str:
    return "NaN" if np.isnan(value) else ("infinite" if np.isinf(value) else repr(float(value)))


def raise_bad_cell(array: np.ndarray, name: str = "matrix") -> None:
    """Raise for the first non-finite cell of `array`, naming its row and column."""
    row, column = first_bad_cell(array)[:2]
    raise ValueError(f"{name} cell (row {row}, column {column}) is {describe(float(array[row, column]))}")


def check_weights(weights, k: int) -> np.ndarray:
    """Non-negative finite weights, one per criterion, normalised to sum to 1."""
    array = np.asarray(weights, dtype=np.float64).reshape(-1) if np.ndim(weights) <= 1 else None
    if array is None:
        raise ValueError(f"weights must be 1-D, got {np.ndim(weights)}-D")
    if array.shape[0] != k:
        raise ValueError(f"weights has {array.shape[0]} entries but the matrix has {k} columns")
    for column, value in enumerate(array.tolist()):
        if not np.isfinite(value):
            raise ValueError(f"weights[{column}] (column {column}) is {describe(value)}")
        if value < 0:
            raise ValueError(f"weights[{column}] (column {column}) is negative: {value!r}")
    total = array.sum()
    if total <= 0:
        raise ValueError("weights are all zero; at least one criterion needs a positive weight")
    return array / total


def check_directions(directions, k: int) -> np.ndarray:
    """Directions as float64 ±1, one per criterion."""
    array = np.asarray(directions).reshape(-1) if np.ndim(directions) <= 1 else None
    if array is None:
        raise ValueError(f"directions must be 1-D, got {np.ndim(directions)}-D")
    if array.shape[0] != k:
        raise ValueError(f"directions has {array.shape[0]} entries but the matrix has {k} columns")
    for column, value in enumerate(array.tolist()):
        if value not in (1, -1):
            raise ValueError(f"directions[{column}] (column {column}) is {value!r}; use 1 (benefit) or -1 (cost)")
    return array.astype(np.float64)


def check_vector(values, name: str, n: int | None = None) -> np.ndarray:
    """A finite float64 vector (of length n, when given)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers: {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got {array.ndim}-D")
    if n is not None and array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} entries, expected {n}")
    bad = ~np.isfinite(array)
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"{name}[{index}] (row {index}) is {describe(float(array[index]))}")
    return array
