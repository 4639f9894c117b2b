"""Shared statistics: the campaign-level estimate and test, the funnel spread, Holm; checked against
hand-computed values and by simulation."""

import math

import numpy as np
import pytest
from scipy import stats

from helpers.analysis.stats import (
    Estimate,
    between_variance,
    difference_test,
    holm,
    minimum_detectable,
    pooled_rate,
    random_effects_mean,
)


def test_random_effects_mean_is_the_pooled_rate_when_campaigns_agree():
    # identical rates: no spread between campaigns, so every campaign weighs by its audience (1 / variance)
    n = np.array([1000.0, 3000.0, 6000.0])
    est = random_effects_mean([0.02, 0.02, 0.02], 0.02 * 0.98 / n)
    assert est.mean == pytest.approx(0.02)
    assert est.tau2 == pytest.approx(0.0, abs=1e-12)
    assert est.variance == pytest.approx(0.02 * 0.98 / n.sum())
    assert est.k == 3 and est.df == 2


def test_random_effects_mean_weighs_campaigns_equally_when_they_differ_a_lot():
    n = np.array([1000.0, 100_000.0, 1000.0, 1000.0])
    rates = np.array([0.01, 0.05, 0.02, 0.03])
    est = random_effects_mean(rates, 0.03 * 0.97 / n)
    # the 100 000 campaign does not dominate as it would in a pooled rate (0.0471)
    assert abs(est.mean - rates.mean()) < abs(est.mean - np.average(rates, weights=n))
    assert est.variance >= rates.var(ddof=1) / 4 * 0.5


def test_one_campaign_gives_no_test():
    one = random_effects_mean([0.02], [1e-6])
    assert one.k == 1 and math.isnan(one.variance)
    two = random_effects_mean([0.02, 0.03], [1e-6, 1e-6])
    assert math.isnan(difference_test(one, two)["p_value"])


def test_difference_test_is_welch_on_the_means():
    a, b = Estimate(0.010, 1e-6, 10, 0.0), Estimate(0.013, 4e-6, 5, 0.0)
    out = difference_test(a, b)
    se = math.sqrt(5e-6)
    df = 5e-6**2 / ((1e-6) ** 2 / 9 + (4e-6) ** 2 / 4)
    assert out["difference"] == pytest.approx(0.003)
    assert out["se"] == pytest.approx(se)
    assert out["df"] == pytest.approx(df)
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(0.003 / se, df))


def test_difference_test_keeps_its_level_on_heterogeneous_campaigns():
    rng = np.random.default_rng(1)
    rejections = 0
    for _ in range(400):
        sides = []
        for k, size in ((30, 20_000), (12, 5_000)):
            n = rng.integers(size // 4, size * 4, k).astype(float)
            p = 0.004 * rng.lognormal(0, 0.4, k)
            x = rng.binomial(n.astype(int), p)
            pooled = x.sum() / n.sum()
            sides.append(random_effects_mean(x / n, pooled * (1 - pooled) / n))
        rejections += difference_test(*sides)["p_value"] < 0.05
    assert rejections / 400 < 0.08  # a recipient-level z-test rejects in most of these


def test_minimum_detectable_effect():
    assert minimum_detectable(0.001, 1e9, 0.05) == pytest.approx((1.959964 + 0.841621) * 0.001, rel=1e-4)
    assert math.isnan(minimum_detectable(float("nan"), 10, 0.05))


def test_between_variance_ignores_a_few_outliers_and_finds_a_real_spread():
    rng = np.random.default_rng(2)
    sampling = np.full(40, 0.01)
    none = rng.normal(0, 0.1, 40)
    none[:10] = -0.9  # a quarter of laggards must not widen everyone's limits
    assert between_variance(none, sampling) < 0.01
    spread = rng.normal(0, np.sqrt(0.01 + 0.04), 400)
    assert between_variance(spread, np.full(400, 0.01)) == pytest.approx(0.04, abs=0.015)
    assert between_variance([0.1, 0.2], [0.01, 0.01]) == 0.0


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
