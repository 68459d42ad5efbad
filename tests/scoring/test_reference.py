"""The scoring library against values computed by established MCDA libraries (pymcdm 1.4.0)."""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from participation.scoring import ahp_weights, contributions, rank, rank_stability, saw, topsis

DATA = Path(__file__).parent / "data" / "mcda_reference.json"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "mcda_reference.json"
REFERENCE = json.loads(DATA.read_text())
CASES = REFERENCE["cases"]
ROOT = Path(__file__).resolve().parents[2]


def test_the_in_repo_copy_matches_the_shared_reference():
    """The repo carries its own copy so that a clean clone can run; it must not drift."""
    assert REFERENCE["cases"] and REFERENCE["ahp"]["examples"]
    if SHARED.exists():
        assert json.loads(SHARED.read_text()) == REFERENCE


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_topsis_matches_pymcdm_vector_normalisation(case):
    expected = case["pymcdm"]["TOPSIS_vector"]["pref"]
    got = topsis(case["matrix"], case["weights"], case["types"])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_saw_minmax_matches_pymcdm_wsm_minmax(case):
    expected = case["pymcdm"]["WSM_minmax"]["pref"]
    got = saw(case["matrix"], case["weights"], case["types"], "minmax")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_saw_max_matches_the_indonesian_saw(case):
    expected = case["pymcdm"]["WSM_linear_SAW_id"]["pref"]
    got = saw(case["matrix"], case["weights"], case["types"], "max")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.parametrize("normalization", ["minmax", "max"])
def test_contributions_rows_sum_to_the_reference_scores(case, normalization):
    key = {"minmax": "WSM_minmax", "max": "WSM_linear_SAW_id"}[normalization]
    parts = contributions(case["matrix"], case["weights"], case["types"], normalization)
    np.testing.assert_allclose(parts.sum(axis=1), case["pymcdm"][key]["pref"], rtol=0, atol=1e-12)


def exact_minmax_contributions(matrix, weights, directions) -> np.ndarray:
    """Weighted min–max values and their row sums in exact rational arithmetic, each rounded once."""
    columns = [[Fraction(float(v)) for v in column] for column in np.asarray(matrix, dtype=float).T]
    total = sum(Fraction(float(w)) for w in weights)
    out = []
    for column, weight, direction in zip(columns, weights, directions):
        lo, hi = min(column), max(column)
        share = Fraction(float(weight)) / total
        if hi == lo:
            out.append([share] * len(column))
        else:
            out.append([share * ((v - lo) if direction > 0 else (hi - v)) / (hi - lo) for v in column])
    return np.array([[float(v) for v in row] for row in zip(*out)]), [float(sum(row)) for row in zip(*out)]


def test_minmax_keeps_precision_for_large_values_with_a_tiny_range():
    # x·scale + offset cancels catastrophically here (0.29999995); (x − min)·(w / range) does not.
    tiny = [1e6 + 0.001, 1e6 + 0.0013, 1e6 + 0.002]
    assert saw(np.array(tiny)[:, None], [1.0], [1])[1] == pytest.approx(0.299999976716934, abs=1e-12)
    matrix = np.array([tiny, tiny[::-1], [1.0, 2.0, 4.0], [7.0, 7.0, 7.0]]).T
    weights, directions = [0.4, 0.3, 0.2, 0.1], [1, -1, 1, -1]
    expected_parts, expected_scores = exact_minmax_contributions(matrix, weights, directions)
    np.testing.assert_allclose(contributions(matrix, weights, directions), expected_parts, rtol=0, atol=1e-12)
    np.testing.assert_allclose(saw(matrix, weights, directions), expected_scores, rtol=0, atol=1e-12)
    # Many rows go through the blocked path; each row is the same problem.
    many = np.tile(matrix, (10_000, 1))
    np.testing.assert_allclose(saw(many, weights, directions), np.tile(expected_scores, 10_000), rtol=0, atol=1e-12)
    # rank_stability normalises the same way: with no spread it keeps the exact order.
    top = rank_stability(matrix, weights, directions, 1, spread=0.0, draws=2)
    assert top.tolist() == [1.0 if i == int(np.argmax(expected_scores)) else 0.0 for i in range(3)]


@pytest.mark.parametrize("example", REFERENCE["ahp"]["examples"], ids=lambda e: e["name"])
def test_ahp_matches_the_eigenvector_reference(example):
    result = ahp_weights(example["matrix"])
    expected = example["own_numpy"]
    np.testing.assert_allclose(result.weights, expected["weights_eigenvector"], rtol=0, atol=1e-12)
    assert result.lambda_max == pytest.approx(expected["lambda_max"], abs=1e-12)
    assert result.ci == pytest.approx(expected["CI"], abs=1e-12)
    assert result.cr == pytest.approx(expected["CR_saaty"], abs=1e-12)
    assert result.consistent is expected["consistent_CR_le_0.1"]
    # pyDecision's principal-eigenvector weights agree as well.
    np.testing.assert_allclose(result.weights, example["pydecision_ahp_method"]["me"]["weights"], atol=1e-12)


def test_rank_breaks_ties_stably_as_the_reference_says():
    conventions = REFERENCE["rank_tie_conventions"]
    assert rank(conventions["scores"]).tolist() == conventions["correct_stable_untie"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_rank_orders_like_pymcdm_where_there_are_no_ties(case):
    for method, key in ((lambda *a: topsis(*a), "TOPSIS_vector"), (lambda *a: saw(*a), "WSM_minmax")):
        scores = method(case["matrix"], case["weights"], case["types"])
        reference = np.asarray(case["pymcdm"][key]["rank"])
        untied = np.array([np.sum(reference == value) == 1 for value in reference])
        assert (rank(scores)[untied] == reference[untied]).all()


def test_importing_the_library_loads_neither_flask_nor_sqlalchemy():
    code = ("import sys; import participation.scoring as s; "
            "assert callable(s.saw); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'sqlalchemy', 'flask_sqlalchemy'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
