"""Shared statistical tests, checked against hand-computed values and by simulation under the null."""

import math

import numpy as np
import pytest
from scipy import stats

from helpers.analysis.stats import holm, pooled_rate, revenue_per_recipient_ztest, two_proportion_ztest


def test_two_proportion_ztest_matches_hand_computation():
    # 0.20 vs 0.30 on 200 each: pooled 0.25, se = sqrt(.25 * .75 * 2 / 200)
    z, p = two_proportion_ztest(40, 200, 60, 200)
    se = math.sqrt(0.25 * 0.75 * 2 / 200)
    assert float(z) == pytest.approx(-0.1 / se)
    assert float(p) == pytest.approx(stats.norm.cdf(-0.1 / se))
    assert float(p) == pytest.approx(0.01046, abs=1e-4)


def test_two_proportion_ztest_alternatives_and_vectorised():
    z, p_less = two_proportion_ztest([40, 60], [200, 200], [60, 40], [200, 200])
    _, p_greater = two_proportion_ztest([40, 60], [200, 200], [60, 40], [200, 200], alternative="greater")
    _, p_two = two_proportion_ztest([40, 60], [200, 200], [60, 40], [200, 200], alternative="two-sided")
    assert z[0] == pytest.approx(-z[1])
    assert p_less[0] < 0.05 < p_less[1]
    np.testing.assert_allclose(p_less + p_greater, 1.0)
    np.testing.assert_allclose(p_two, 2 * np.minimum(p_less, p_greater))


def test_two_proportion_ztest_degenerate_rates_give_no_evidence():
    z, p = two_proportion_ztest([0, 50], [50, 50], [0, 50], [80, 50])
    np.testing.assert_array_equal(z, [0.0, 0.0])
    np.testing.assert_array_equal(p, [1.0, 1.0])


def test_two_proportion_ztest_rejects_empty_groups_and_bad_alternative():
    with pytest.raises(ValueError, match="at least one trial"):
        two_proportion_ztest(0, 0, 5, 10)
    with pytest.raises(ValueError, match="alternative"):
        two_proportion_ztest(1, 10, 5, 10, alternative="lower")


def test_holm_matches_textbook_example():
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> running max .02 .03 .06 .06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_skips_nan():
    adjusted = holm([0.6, np.nan, 0.01])
    assert np.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2]], [0.6, 0.02])  # family of 2, not 3
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    assert holm([]).shape == (0,)


def test_pooled_rate():
    assert pooled_rate([1, 3], [10, 30]) == pytest.approx(0.1)
    assert math.isnan(pooled_rate([], []))


def test_revenue_per_recipient_ztest_matches_formula():
    # group 1: 1000 recipients, 20 orders, $1000; group 2: 3000 recipients, 90 orders, $6000
    z, p = revenue_per_recipient_ztest(1000, 20, 1000, 6000, 90, 3000, order_value_cv=1.0)
    p0, mu = 110 / 4000, 7000 / 110
    var_y = p0 * mu**2 * 2 - (p0 * mu) ** 2
    expected_z = (1.0 - 2.0) / math.sqrt(var_y * (1 / 1000 + 1 / 3000))
    assert float(z) == pytest.approx(expected_z)
    assert float(p) == pytest.approx(stats.norm.cdf(expected_z))


def test_revenue_per_recipient_ztest_no_conversions_is_no_evidence():
    z, p = revenue_per_recipient_ztest(0, 0, 500, 0, 0, 800)
    assert float(z) == 0.0 and float(p) == 1.0
    with pytest.raises(ValueError, match="order_value_cv"):
        revenue_per_recipient_ztest(1, 1, 10, 1, 1, 10, order_value_cv=-1)


def test_revenue_per_recipient_ztest_is_calibrated_under_the_null():
    """Simulated lognormal order values (cv ~ 0.95): the false-positive rate stays near alpha."""
    rng = np.random.default_rng(1)
    reps, n1, n2, p, sigma = 2000, 1500, 4000, 0.04, 0.8
    c1, c2 = rng.binomial(n1, p, reps), rng.binomial(n2, p, reps)

    def revenue(counts):
        draws = rng.lognormal(3.5, sigma, counts.sum())
        return np.add.reduceat(draws, np.r_[0, np.cumsum(counts)[:-1]]) * (counts > 0)

    _, pv = revenue_per_recipient_ztest(revenue(c1), c1, n1, revenue(c2), c2, n2, order_value_cv=1.0)
    assert 0.02 < np.mean(pv <= 0.05) < 0.07
    # and it has power against a real 40 % drop in conversion
    c1_low = rng.binomial(n1, p * 0.6, reps)
    _, pv_low = revenue_per_recipient_ztest(revenue(c1_low), c1_low, n1, revenue(c2), c2, n2)
    assert np.mean(pv_low <= 0.05) > 0.5  # ~0.69: 60 vs 36 expected orders is a hard case
