"""Input checks shared by the scoring functions; every message names the offending cell."""
from __future__ import annotations

import numpy as np

TIE_TOLERANCE = 1e-9


class CellError(ValueError):
    """A refused matrix cell; `row` and `column` (0-based) say which, as the message does."""

    def __init__(self, message: str, row: int, column: int):
        super().__init__(message)
        self.row, self.column = row, column


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
    """'NaN', 'infinite' or the number's repr, for messages."""
    return "NaN" if np.isnan(value) else ("infinite" if np.isinf(value) else repr(float(value)))


def raise_bad_cell(array: np.ndarray, name: str = "matrix") -> None:
    """Raise for the first non-finite cell of `array`, naming its row and column."""
    row, column = first_bad_cell(array)[:2]
    raise CellError(f"{name} cell (row {row}, column {column}) is {describe(float(array[row, column]))}", row, column)


def entries(m: int) -> str:
    """'1 entry' or 'm entries', for messages."""
    return "1 entry" if m == 1 else f"{m} entries"


def _per_column(values, name: str, entry: str, k: int, dtype=None) -> np.ndarray:
    """A 1-D array with one entry per matrix column; a length mismatch names the unmatched column."""
    try:
        array = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers: {error}") from None
    if array.ndim > 1:
        raise ValueError(f"{name} must be 1-D (one entry per column), got {array.ndim}-D")
    array = array.reshape(-1)
    m = array.shape[0]
    if m < k:
        missing = f"column {m} has" if m == k - 1 else f"columns {m} to {k - 1} have"
        raise ValueError(f"{name} has {entries(m)} but the matrix has {k} columns ({missing} no {entry})")
    if m > k:
        extra = f"{name}[{k}] has" if m == k + 1 else f"{name}[{k}] to {name}[{m - 1}] have"
        raise ValueError(f"{name} has {entries(m)} but the matrix has {k} columns ({extra} no column)")
    return array


def check_weights(weights, k: int) -> np.ndarray:
    """Non-negative finite weights, one per criterion, normalised to sum to 1."""
    array = _per_column(weights, "weights", "weight", k, np.float64)
    for column, value in enumerate(array.tolist()):
        if not np.isfinite(value):
            raise ValueError(f"weights[{column}] (column {column}) is {describe(value)}")
        if value < 0:
            raise ValueError(f"weights[{column}] (column {column}) is negative: {value!r}")
    total = array.sum()
    if total <= 0:
        columns = "column 0" if k == 1 else f"columns 0 to {k - 1}"
        raise ValueError(f"weights are all zero ({columns}); at least one criterion needs a positive weight")
    return array / total


def check_directions(directions, k: int) -> np.ndarray:
    """Directions as float64 ±1, one per criterion."""
    array = _per_column(directions, "directions", "direction", k)
    for column, value in enumerate(array.tolist()):
        if value not in (1, -1):
            raise ValueError(f"directions[{column}] (column {column}) is {value!r}; use 1 (benefit) or -1 (cost)")
    return array.astype(np.float64)


def check_vector(values, name: str) -> np.ndarray:
    """A finite 1-D float64 vector; a bad entry is named by its row."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers: {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got {array.ndim}-D")
    bad = ~np.isfinite(array)
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"{name}[{index}] (row {index}) is {describe(float(array[index]))}")
    return array
