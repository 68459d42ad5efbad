"""AHP weights from a pairwise-comparison matrix (Saaty), with the consistency ratio."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from participation.scoring._validate import describe

# Saaty's random consistency index by matrix size.
RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49}
RECIPROCAL_TOLERANCE = 1e-6
CR_LIMIT = 0.10  # Saaty's rule of thumb for an acceptable consistency ratio


@dataclass(frozen=True)
class AhpResult:
    """Weights (summing to 1), principal eigenvalue, consistency index and ratio."""

    weights: np.ndarray
    lambda_max: float
    ci: float
    cr: float
    most_inconsistent_pair: tuple[int, int] | None

    @property
    def consistent(self) -> bool:
        """Saaty's rule of thumb: a consistency ratio of at most 0.10 is acceptable."""
        return self.cr <= CR_LIMIT


def _check(pairwise) -> np.ndarray:
    """A positive, reciprocal, square float64 matrix of at most 10 criteria."""
    try:
        a = np.asarray(pairwise, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"pairwise must be a square table of numbers: {error}") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"pairwise must be a non-empty square matrix, got shape {a.shape}")
    n = a.shape[0]
    if n > max(RANDOM_INDEX):
        raise ValueError(f"AHP supports at most {max(RANDOM_INDEX)} criteria (Saaty's random index), got {n}")
    for (row, column), value in np.ndenumerate(a):
        value = float(value)
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"pairwise cell (row {row}, column {column}) is {describe(value)}; "
                             "comparisons must be positive numbers")
    for row in range(n):
        if abs(a[row, row] - 1.0) > RECIPROCAL_TOLERANCE:
            raise ValueError(f"pairwise cell (row {row}, column {row}) is {float(a[row, row])!r}; "
                             "the diagonal must be 1")
        for column in range(row + 1, n):
            if abs(a[row, column] * a[column, row] - 1.0) > RECIPROCAL_TOLERANCE:
                raise ValueError(
                    f"pairwise cell (row {column}, column {row}) is {float(a[column, row])!r} but must be "
                    f"1/{float(a[row, column])!r}, the reciprocal of cell (row {row}, column {column})")
    return a


def ahp_weights(pairwise) -> AhpResult:
    """Principal-eigenvector weights, λmax, CI and CR (Saaty's RI; CR is 0 for n ≤ 2)."""
    a = _check(pairwise)
    n = a.shape[0]
    values, vectors = np.linalg.eig(a)
    principal = int(np.argmax(values.real))
    lambda_max = float(values[principal].real)
    vector = np.abs(vectors[:, principal].real)
    weights = vector / vector.sum()
    ci = (lambda_max - n) / (n - 1) if n > 2 else 0.0
    cr = ci / RANDOM_INDEX[n] if n > 2 else 0.0
    return AhpResult(weights=weights, lambda_max=lambda_max, ci=ci, cr=cr,
                     most_inconsistent_pair=_most_inconsistent(a, weights))


def _most_inconsistent(a: np.ndarray, weights: np.ndarray) -> tuple[int, int] | None:
    """The comparison (i, j), i < j, that disagrees most with the weights; None for n < 3."""
    # Disagreement is |ln(a_ij · w_j / w_i)|; ties go to the first pair in row-major order. Below
    # three criteria every reciprocal matrix is consistent.
    n = a.shape[0]
    if n < 3:
        return None
    deviation = np.abs(np.log(a * weights[None, :] / weights[:, None]))
    upper = np.triu(deviation, k=1)
    row, column = np.unravel_index(int(np.argmax(upper)), upper.shape)
    return int(row), int(column)
