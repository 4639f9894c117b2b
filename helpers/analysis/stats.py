"""Statistical tests shared by the notebooks (flows in 02, channels in 05).

Every function is vectorised over numpy arrays so a notebook can test hundreds of messages at once, and
each returns plain arrays so callers decide how to present them. One-sided tests here ask "is the first
group *below* the second?", the question an analyst asks of a lagging message or channel.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "holm",
    "pooled_rate",
    "revenue_per_recipient_ztest",
    "two_proportion_ztest",
]


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def pooled_rate(successes, trials) -> float:
    """Sum of successes over sum of trials (the recipient-weighted rate), NaN when there are no trials."""
    n = float(np.sum(trials))
    return float(np.sum(successes)) / n if n > 0 else float("nan")


def two_proportion_ztest(x1, n1, x2, n2, alternative: str = "less") -> tuple[np.ndarray, np.ndarray]:
    """Two-proportion z-test with the pooled-variance standard error.

    `alternative="less"` tests H1: p1 < p2 (one-sided), `"greater"` H1: p1 > p2, `"two-sided"` either.
    Returns `(z, p_value)` as arrays (scalars in, 0-d arrays out). Where the pooled rate is 0 or 1 there is
    no evidence either way: z = 0 and p = 1 — never a division by zero.
    """
    x1, n1, x2, n2 = map(_arr, (x1, n1, x2, n2))
    if np.any(n1 <= 0) or np.any(n2 <= 0):
        raise ValueError("two_proportion_ztest needs at least one trial in each group; drop empty groups first.")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p1 - p2) / se, 0.0)
    return z, np.where(se > 0, _p_from_z(z, alternative), 1.0)


def revenue_per_recipient_ztest(
    revenue1, conversions1, n1, revenue2, conversions2, n2, order_value_cv: float = 1.0, alternative: str = "less"
) -> tuple[np.ndarray, np.ndarray]:
    """z-test on revenue per recipient under a compound binomial model, pooled under H0.

    Reports give totals only (revenue, converting recipients, recipients), not per-order values, so the
    per-recipient variance is modelled: each recipient converts with probability p and then spends V with
    mean mu and coefficient of variation `order_value_cv` (1.0 is a conservative choice for order values,
    which are roughly lognormal with cv 0.6-1.0 in retail). Then for one recipient's revenue Y
        E[Y] = p*mu,  Var[Y] = p*mu**2*(1 + cv**2) - (p*mu)**2,
    and the difference of the two means has variance Var[Y] * (1/n1 + 1/n2) with p and mu pooled over both
    groups (the null hypothesis: same revenue process). By the CLT the standardised difference is normal for
    the hundreds of recipients a message needs before it is tested at all. Returns `(z, p_value)`; with no
    conversions anywhere there is no evidence: z = 0, p = 1.
    """
    if order_value_cv < 0:
        raise ValueError(f"order_value_cv must be >= 0, got {order_value_cv}.")
    r1, c1, n1, r2, c2, n2 = map(_arr, (revenue1, conversions1, n1, revenue2, conversions2, n2))
    if np.any(n1 <= 0) or np.any(n2 <= 0):
        raise ValueError("revenue_per_recipient_ztest needs at least one recipient in each group.")
    conversions = c1 + c2
    with np.errstate(divide="ignore", invalid="ignore"):
        p = conversions / (n1 + n2)
        mu = np.where(conversions > 0, (r1 + r2) / conversions, 0.0)
        var_y = np.clip(p * mu**2 * (1 + order_value_cv**2) - (p * mu) ** 2, 0.0, None)
        se = np.sqrt(var_y * (1 / n1 + 1 / n2))
        z = np.where(se > 0, (r1 / n1 - r2 / n2) / se, 0.0)
    return z, np.where(se > 0, _p_from_z(z, alternative), 1.0)


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order.

    Reject H_i at family-wise level alpha exactly when `holm(p)[i] <= alpha`. NaN p-values (tests not run)
    stay NaN and do not count towards the family size.
    """
    p = _arr(p_values).ravel()
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out.reshape(np.shape(p_values))
    idx = np.flatnonzero(ok)
    order = np.argsort(p[ok], kind="stable")
    ranked = p[ok][order] * (m - np.arange(m))
    adjusted = np.minimum(np.maximum.accumulate(ranked), 1.0)
    out[idx[order]] = adjusted
    return out.reshape(np.shape(p_values))


def _p_from_z(z: np.ndarray, alternative: str) -> np.ndarray:
    if alternative == "less":
        return stats.norm.cdf(z)
    if alternative == "greater":
        return stats.norm.sf(z)
    if alternative == "two-sided":
        return 2 * stats.norm.sf(np.abs(z))
    raise ValueError(f"alternative must be 'less', 'greater' or 'two-sided', got {alternative!r}.")
