"""Statistics shared by the notebooks (flows in 02, channels in 05), on top of statsmodels and scipy.

Why a unit other than the recipient: recipients of one campaign (or one flow message) share its subject,
offer, audience and moment, so their responses are not independent. Campaigns differ from each other far
more than binomial sampling allows, and a test that counts every recipient as independent reads that
campaign-to-campaign spread as a channel (or message) effect: on simulated accounts with no channel
difference it called one "significant" in about 95 of 100 accounts. So every test here treats the
campaign (the message) as the unit and estimates the spread between them from the data:

- `random_effects_mean`: a channel's rate as the random-effects mean of its campaigns' rates (statsmodels
  `combine_effects`, Paule–Mandel between-campaign variance τ²). Each campaign weighs 1 / (its sampling
  variance + τ²): with no spread this is the pooled rate of every recipient, with a large spread every
  campaign counts about equally. Its variance is the Hartung–Knapp one (never below the plain
  random-effects variance), with k − 1 degrees of freedom.
- `difference_test`: SMS − email of two such means, Welch–Satterthwaite t.
- `between_variance`: the message-to-message spread behind a funnel plot's limits (a median estimate, so
  the messages being judged do not widen their own limits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

__all__ = [
    "Estimate",
    "difference_test",
    "between_variance",
    "holm",
    "minimum_detectable",
    "pooled_rate",
    "random_effects_mean",
]


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def pooled_rate(successes, trials) -> float:
    """Sum of successes over sum of trials (the recipient-weighted rate), NaN when there are no trials."""
    n = float(np.sum(trials))
    return float(np.sum(successes)) / n if n > 0 else float("nan")


@dataclass(frozen=True)
class Estimate:
    """One channel's value at the campaign level: `mean`, its `variance`, campaigns `k`, `tau2` (spread)."""

    mean: float
    variance: float
    k: int
    tau2: float

    @property
    def df(self) -> int:
        return max(self.k - 1, 0)


def random_effects_mean(values, within_variance) -> Estimate:
    """Random-effects mean of per-campaign `values` with their sampling variances (see the module note).

    Fewer than two campaigns give no estimate of the spread between campaigns: the variance is NaN and
    no test can use it. Sampling variances must be positive (callers floor them).
    """
    y, v = _arr(values).ravel(), _arr(within_variance).ravel()
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
    y, v = y[ok], v[ok]
    if y.size == 0:
        return Estimate(float("nan"), float("nan"), 0, float("nan"))
    if y.size == 1:
        return Estimate(float(y[0]), float("nan"), 1, float("nan"))
    with np.errstate(divide="ignore", invalid="ignore"):  # I² is undefined when campaigns agree exactly
        res = combine_effects(y, v, method_re="pm")
    # Hartung–Knapp scales the variance by the observed spread around the mean; below 1 that scale would
    # make the interval narrower than the model's own, which is known to undercover: keep the larger.
    variance = max(float(res.sd_eff_w_re) ** 2, float(res.sd_eff_w_re_hksj) ** 2)
    return Estimate(float(res.mean_effect_re), variance, int(y.size), float(res.tau2))


def difference_test(first: Estimate, second: Estimate) -> dict:
    """`second − first` with its standard error, Welch–Satterthwaite degrees of freedom and two-sided p.

    NaN p (no test) when either side has fewer than two campaigns.
    """
    diff = second.mean - first.mean
    se2 = first.variance + second.variance
    if not (np.isfinite(se2) and first.df > 0 and second.df > 0):
        return {"difference": diff, "se": float("nan"), "df": float("nan"), "t": float("nan"), "p_value": float("nan")}
    se = float(np.sqrt(se2))
    df = se2**2 / (first.variance**2 / first.df + second.variance**2 / second.df) if se > 0 else float("inf")
    t = diff / se if se > 0 else 0.0
    p = float(2 * stats.t.sf(abs(t), df)) if se > 0 else 1.0
    return {"difference": float(diff), "se": se, "df": float(df), "t": float(t), "p_value": p}


def minimum_detectable(se: float, df: float, alpha: float, power: float = 0.8) -> float:
    """The smallest true difference a two-sided level-`alpha` t-test with this `se` finds with `power`."""
    if not (np.isfinite(se) and np.isfinite(df) and df > 0):
        return float("nan")
    return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * se)


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels `multipletests`), in the input order.

    Reject H_i at family-wise level alpha exactly when `holm(p)[i] <= alpha`. NaN p-values (tests not run)
    stay NaN and do not count towards the family size.
    """
    p = _arr(p_values).ravel()
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out.reshape(np.shape(p_values))


def between_variance(deviations, sampling_variance, scale=None) -> float:
    """The spread between units (τ² ≥ 0) beyond the sampling variance of their `deviations`.

    Each deviation d_i has variance v_i + τ² × scale_i (`scale` defaults to 1). τ² is the value at which the
    median of d_i² / (v_i + τ² scale_i) is the median of χ²₁ (0.455), a median rather than a mean so that
    the units a funnel plot is meant to catch (up to half of them) do not widen the very limits that should
    catch them (the same aim as Spiegelhalter's winsorised over-dispersion, "Handling over-dispersion of
    performance indicators", 2005, but robust to more than a tenth of laggards).
    """
    d, v = _arr(deviations).ravel(), _arr(sampling_variance).ravel()
    a = np.ones_like(d) if scale is None else _arr(scale).ravel()
    ok = np.isfinite(d) & np.isfinite(v) & (v > 0) & np.isfinite(a)
    d, v, a = d[ok], v[ok], a[ok]
    if d.size < 3:
        return 0.0
    target = stats.chi2.ppf(0.5, 1)

    def excess(tau2: float) -> float:
        return float(np.median(d**2 / (v + tau2 * a))) - target

    if excess(0.0) <= 0:
        return 0.0
    high = float(np.max(d**2 / a)) + 1.0
    return float(optimize.brentq(excess, 0.0, high))
