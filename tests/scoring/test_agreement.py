"""Rater agreement (Krippendorff's alpha) and standardized aggregation against hand computations."""
from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from participation.scoring import aggregate_ratings, rater_leniency, rating_agreement

NAN = np.nan


def cube(*criteria):
    """(n, k, r) ratings from one (n, r) table per criterion."""
    return np.stack([np.asarray(table, dtype=float) for table in criteria], axis=1)


# Three proposals rated by two planners: (1, 1), (2, 3), (3, 3); a fourth rated once (5) pairs
# with no one. Pairable values 1, 1, 2, 3, 3, 3: n = 6, n_1 = 2, n_2 = 1, n_3 = 3; coincidences
# o_11 = 2, o_23 = o_32 = 1, o_33 = 2.
SMALL = [[1, 1], [2, 3], [3, 3], [5, NAN]]


def test_alpha_matches_a_hand_computation_at_every_level():
    ratings = cube(SMALL)
    # interval: D_o = 2·1²/6, D_e = (2·2·1·1 + 2·2·3·4 + 2·1·3·1)/(6·5) = 58/30: α = 1 − 10/58.
    assert rating_agreement(ratings, "interval")[0] == pytest.approx(48 / 58, abs=1e-12)
    # nominal: α = 1 − (n−1)·Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k = 1 − 5·2/(2·(2·1 + 2·3 + 1·3)) = 12/22.
    assert rating_agreement(ratings, "nominal")[0] == pytest.approx(12 / 22, abs=1e-12)
    # ordinal: δ_12 = (3 − 1.5)², δ_13 = (6 − 2.5)², δ_23 = (4 − 2)²;
    # α = 1 − 5·(2·4)/(2·(2·1·2.25 + 2·3·12.25 + 1·3·4)) = 1 − 40/180.
    assert rating_agreement(ratings)[0] == pytest.approx(7 / 9, abs=1e-12)


def test_alpha_is_per_criterion_and_nan_where_undefined():
    ratings = cube(
        SMALL,
        [[4, 4], [4, 4], [4, NAN], [1, NAN]],  # pairable ratings all 4: no variation
        [[1, NAN], [NAN, 2], [3, NAN], [NAN, NAN]],  # no proposal rated twice: nothing pairable
        [[1, 5], [NAN, NAN], [NAN, NAN], [NAN, NAN]],  # one pair, two values: total disagreement
    )
    alpha = rating_agreement(ratings, "interval")
    assert alpha[0] == pytest.approx(48 / 58, abs=1e-12)
    assert np.isnan(alpha[1]) and np.isnan(alpha[2])
    assert alpha[3] == pytest.approx(krippendorff.alpha([[1], [5]], level_of_measurement="interval"))
    assert rating_agreement(np.full((3, 2, 0), NAN)).shape == (2,)
    assert np.isnan(rating_agreement(np.full((3, 2, 0), NAN))).all()


def test_perfect_agreement_is_one():
    table = [[1, 1, 1], [3, 3, NAN], [5, 5, 5]]
    assert rating_agreement(cube(table)).tolist() == [1.0]


@pytest.mark.parametrize("level", ["ordinal", "interval", "nominal"])
@pytest.mark.parametrize("seed", range(6))
def test_alpha_equals_the_package_on_the_raw_table(level, seed):
    rng = np.random.default_rng(seed)
    n, k, r = rng.integers(2, 40), rng.integers(1, 5), rng.integers(2, 6)
    ratings = rng.integers(1, 6, size=(n, k, r)).astype(float)
    ratings[rng.random(ratings.shape) < rng.uniform(0, 0.6)] = NAN
    got = rating_agreement(ratings, level)
    for column in range(k):
        data = ratings[:, column, :].T  # the package wants raters × units
        pairs = (~np.isnan(data)).sum(axis=0) >= 2
        if not pairs.any() or np.unique(data[:, pairs][~np.isnan(data[:, pairs])]).size < 2:
            assert np.isnan(got[column])
        else:
            assert got[column] == pytest.approx(krippendorff.alpha(data, level_of_measurement=level), abs=1e-12)


def test_bad_ratings_and_levels_are_refused():
    with pytest.raises(ValueError, match="level must be one of"):
        rating_agreement(cube(SMALL), "ratio")
    with pytest.raises(ValueError, match=r"ratings cell \(row 1, column 0, rater 1\) is infinite"):
        rating_agreement(cube([[1, 2], [3, np.inf]]))
    with pytest.raises(ValueError, match="ratings must be 3-D"):
        rating_agreement([[1, 2], [3, 4]])


def test_standardized_matches_a_hand_computation():
    ratings = cube(
        # criterion 0: planner A rates 1 and 3 (mean 2, SD 1: z −1, +1), planner B 4, 4, 4 (no
        # spread: z 0); the fourth proposal is rated by nobody.
        [[1, 4], [3, 4], [NAN, 4], [NAN, NAN]],
        # criterion 1: planner A rates once (z 0), planner B 2 and 4 (z −1, +1).
        [[5, 2], [NAN, 4], [NAN, NAN], [NAN, NAN]],
    )
    got = aggregate_ratings(ratings, "standardized")
    # Pooled over 1, 3, 4, 4, 4: mean 3.2, population variance (4.84 + 0.04 + 3·0.64)/5 = 1.36.
    mean0, sd0 = 3.2, math.sqrt(1.36)
    # Pooled over 5, 2, 4: mean 11/3, population variance ((4/3)² + (5/3)² + (1/3)²)/3 = 14/9.
    mean1, sd1 = 11 / 3, math.sqrt(14 / 9)
    expected = [
        [((mean0 - sd0) + mean0) / 2, (mean1 + (mean1 - sd1)) / 2],
        [((mean0 + sd0) + mean0) / 2, mean1 + sd1],
        [mean0, NAN],
        [NAN, NAN],
    ]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_standardized_removes_a_lenient_raters_offset():
    # Planner A rates proposals 0-3, planner L (two points lenient) proposals 4-7 of the same quality.
    table = [[1, NAN], [2, NAN], [3, NAN], [4, NAN], [NAN, 3], [NAN, 4], [NAN, 5], [NAN, 6]]
    ratings = cube(table)
    mean = aggregate_ratings(ratings)[:, 0]
    standardized = aggregate_ratings(ratings, "standardized")[:, 0]
    np.testing.assert_allclose(mean[4:] - mean[:4], 2.0)  # the mean favours L's proposals
    np.testing.assert_allclose(standardized[4:], standardized[:4], rtol=0, atol=1e-12)  # this does not
    # ... and keeps them on the scale: the pooled mean 3.5 and SD sqrt(2.25) of all eight ratings.
    z = (np.arange(1, 5) - 2.5) / math.sqrt(1.25)
    np.testing.assert_allclose(standardized[:4], 3.5 + 1.5 * z, rtol=0, atol=1e-12)


def test_mean_and_median_are_unchanged():
    ratings = cube([[1, 2, 6], [NAN, 3, NAN], [NAN, NAN, NAN]])
    np.testing.assert_array_equal(aggregate_ratings(ratings), [[3.0], [3.0], [NAN]])
    np.testing.assert_array_equal(aggregate_ratings(ratings, "median"), [[2.0], [3.0], [NAN]])
    with pytest.raises(ValueError, match="method must be one of"):
        aggregate_ratings(ratings, "zscore")


def test_leniency_is_the_mean_offset_from_the_others_on_shared_proposals():
    ratings = cube(
        # planner 0 rates 1 above planner 1 on both shared proposals; planner 2 shares only row 2.
        [[4, 3, NAN], [5, 4, NAN], [2, NAN, 4], [NAN, NAN, 5]],
        [[1, NAN, NAN], [NAN, 2, NAN], [NAN, NAN, NAN], [NAN, NAN, 3]],  # nobody shares a proposal
    )
    got = rater_leniency(ratings)
    # Criterion 0: planner 0 on rows 0, 1 (+1, +1) and 2 (2 − 4 = −2): 0; planner 1: −1, −1;
    # planner 2 on row 2: 4 − 2 = +2 (row 3 has no one else).
    np.testing.assert_allclose(got[0], [0.0, -1.0, 2.0], rtol=0, atol=1e-12)
    assert np.isnan(got[1]).all()
    three = cube([[2, 4, 6]])  # against the mean of the other two
    np.testing.assert_allclose(rater_leniency(three)[0], [-3.0, 0.0, 3.0], rtol=0, atol=1e-12)
