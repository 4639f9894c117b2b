"""A simulated shop with known buy-till-you-die parameters, for the CLV model's tests (independent of the sandbox).

Modified BG/NBD purchases (Poisson rate Gamma(r, alpha) per day while alive; after every order the customer
leaves with probability p ~ Beta(a, b)) and Gamma-Gamma order values (value ~ Gamma(p_shape, rate nu),
nu ~ Gamma(q, rate gamma)). Customers are born (first order) uniformly over ``history_days`` before ``as_of``;
the history goes on for ``future_days`` after it, so tests can compare predictions with what happened.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2026-01-01", tz="UTC")


def simulate(n: int, seed: int, *, r=0.9, alpha=25.0, a=0.9, b=4.0, p_shape=6.0, q=4.0, gamma=15.0,
             history_days=365.0, future_days=365.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders before as_of, per customer: orders and spend in the next ``future_days``)."""
    rng = np.random.default_rng(seed)
    birth = -history_days * rng.random(n)  # days relative to as_of
    lam = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    nu = rng.gamma(q, 1 / gamma, n)
    span = future_days - birth
    possible = rng.poisson(lam * span)
    made = np.minimum(possible, rng.geometric(drop) - 1)  # repeat orders until leaving or the end
    rows, truth = [], []
    for i in range(n):
        times = np.sort(birth[i] + rng.random(possible[i]) * span[i])[: made[i]]
        times = np.concatenate([[birth[i]], times])
        values = rng.gamma(p_shape, 1 / nu[i], len(times))
        before = times < 0
        pid = f"c{i:06d}"
        rows += [(pid, t, v) for t, v in zip(times[before], values[before], strict=True)]
        truth.append((pid, int((~before).sum()), float(values[~before].sum())))
    orders = pd.DataFrame(rows, columns=["profile_id", "day", "value"])
    orders["datetime"] = AS_OF + pd.to_timedelta(orders["day"], unit="D")
    future = pd.DataFrame(truth, columns=["profile_id", "future_orders", "future_spend"]).set_index("profile_id")
    return orders[["profile_id", "datetime", "value"]], future
