"""Churn and CLV from order history where Klaviyo gives no predictions (notebook 01).

Klaviyo's predictive analytics come from a buy-till-you-die model of each customer's orders; an account
that is not eligible (fewer than 500 buyers, under 180 days of orders...) or a profile Klaviyo left blank
gets nothing. :func:`predict` fits the same kind of model to the Placed Order history and returns
Klaviyo's field names, so tiers, churn bands and value at risk work alike from either source.

The models are PyMC-Marketing's (the maintained successor of ``lifetimes``), fitted by maximum a
posteriori with flat priors, i.e. maximum likelihood, not by sampling:

- purchases: the **modified BG/NBD** (Batislam et al. 2007). While alive a customer orders at a
  Poisson rate (Gamma across customers); after every order, the first included, they may leave for good
  (Beta across customers). Unlike the plain BG/NBD, a customer who ordered once a year ago is not
  "certainly alive": their chance of having left is what the model says it is.
- spend: the **Gamma-Gamma** model of order values, fitted on repeat buyers (it assumes order value
  does not depend on how often a customer orders); a one-time buyer gets the population's mean.

Time is in days, continuous: recency and age are measured to the second, not rounded to days.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["FIELDS", "MAX_FIT_CUSTOMERS", "MIN_REPEAT_BUYERS", "Fit", "ModelError", "fit", "holdout", "predict",
           "summarise"]

# What predict returns, in Klaviyo's names (profile predictive_analytics).
FIELDS = ["churn_probability", "predicted_number_of_orders", "predicted_clv", "historic_clv",
          "historic_number_of_orders"]
# A MAP fit of the modified BG/NBD on 1,000,000 customers took 25 s and 0.75 GB here; beyond that a random
# sample of this size is fitted (the parameters describe the population) and every customer is scored.
MAX_FIT_CUSTOMERS = 1_000_000
# Below this many customers with a second order the drop-out and spend parameters are guesses.
MIN_REPEAT_BUYERS = 30
DAY = pd.Timedelta(days=1)


class ModelError(ValueError):
    """The order history cannot support the model (one sentence saying why)."""


@dataclass
class Fit:
    """A fitted purchase and spend model, and what it was fitted on."""

    purchase: object  # pymc_marketing.clv.ModifiedBetaGeoModel
    spend: object | None  # pymc_marketing.clv.GammaGammaModel; None without repeat buyers with a value
    customers: int  # customers in the order history
    fitted_on: int  # customers the purchase model was fitted on (a sample above MAX_FIT_CUSTOMERS)
    repeat_buyers: int
    params: dict[str, float] = field(default_factory=dict)  # r, alpha (days), a, b; p, q, v of the spend model


def summarise(orders: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """One row per profile from its orders before ``as_of``: the model's inputs and the historic fields.

    ``frequency`` (repeat orders), ``recency`` (days from first to last order), ``T`` (days from first
    order to ``as_of``), ``mean_repeat_value`` (mean value of the repeat orders; NaN without one),
    ``historic_clv`` (sum of values), ``historic_number_of_orders``. Indexed by ``profile_id``.
    """
    as_of = _utc(as_of)
    o = pd.DataFrame({"profile_id": orders["profile_id"].astype(str),
                      "datetime": pd.to_datetime(orders["datetime"], utc=True),
                      "value": pd.to_numeric(orders["value"], errors="coerce").fillna(0.0)})
    o = o[o["datetime"] < as_of].sort_values(["profile_id", "datetime"], kind="stable")
    g = o.groupby("profile_id", sort=True)
    first, last = g["datetime"].min(), g["datetime"].max()
    count, total = g.size(), g["value"].sum()
    first_value = g["value"].first()
    repeats = count - 1
    out = pd.DataFrame({
        "frequency": repeats.astype(float),
        "recency": (last - first) / DAY,
        "T": (as_of - first) / DAY,
        "mean_repeat_value": ((total - first_value) / repeats).where(repeats > 0),
        "historic_clv": total,
        "historic_number_of_orders": count.astype(int),
    })
    out.index.name = "profile_id"
    return out


def fit(summary: pd.DataFrame, *, seed: int = 0) -> Fit:
    """Fit the modified BG/NBD (and Gamma-Gamma where repeat buyers have values) to :func:`summarise`'s rows.

    Raises :class:`ModelError` when the history holds fewer than ``MIN_REPEAT_BUYERS`` repeat buyers.
    """
    with _quiet():  # importing ArviZ logs which of its optional parts are missing
        from pymc_marketing.clv import GammaGammaModel, ModifiedBetaGeoModel

    repeat = int((summary["frequency"] > 0).sum())
    if repeat < MIN_REPEAT_BUYERS:
        raise ModelError(f"the order history has {repeat} customers with a second order; the churn model needs at "
                         f"least {MIN_REPEAT_BUYERS} (widen the order history).")
    sample = summary
    if len(summary) > MAX_FIT_CUSTOMERS:
        sample = summary.sample(MAX_FIT_CUSTOMERS, random_state=seed)
    with _quiet():
        purchase = ModifiedBetaGeoModel(data=_rfm(sample))
        purchase.fit(method="map", progressbar=False, seed=seed)
        params = {k: _param(purchase, k) for k in ("r", "alpha", "a", "b")}
        spend = None
        spenders = summary[(summary["frequency"] > 0) & (summary["mean_repeat_value"] > 0)]
        if len(spenders) >= MIN_REPEAT_BUYERS:
            spend = GammaGammaModel(data=_spend_rows(spenders))
            spend.fit(method="map", progressbar=False, seed=seed)
            params.update({k: _param(spend, k) for k in ("p", "q", "v")})
    return Fit(purchase, spend, len(summary), len(sample), repeat, params)


def predict(orders: pd.DataFrame, as_of: pd.Timestamp | str, horizon_days: int = 365, *, seed: int = 0,
            model: Fit | None = None) -> pd.DataFrame:
    """Klaviyo's predictive fields per profile from its Placed Order history (``profile_id, datetime, value``).

    ``churn_probability``: probability the customer has stopped buying, as of ``as_of``;
    ``predicted_number_of_orders`` and ``predicted_clv``: expected orders and spend in the next
    ``horizon_days``; ``historic_clv`` and ``historic_number_of_orders`` from the orders before ``as_of``.
    Indexed by ``profile_id`` (profiles with at least one order only). The frame's ``attrs["fit"]`` is the
    :class:`Fit` (pass it back as ``model`` to score other data without refitting).
    """
    summary = summarise(orders, as_of)
    model = model or fit(summary, seed=seed)
    return score(model, summary, horizon_days)


def score(model: Fit, summary: pd.DataFrame, horizon_days: int = 365) -> pd.DataFrame:
    """:func:`predict`'s frame for :func:`summarise`'s rows with an already fitted model."""
    rfm = _rfm(summary)
    with _quiet():
        alive = _values(model.purchase.expected_probability_alive(data=rfm))
        orders = _values(model.purchase.expected_purchases(data=rfm, future_t=horizon_days))
        spend = _spend(model, summary)
    out = pd.DataFrame({
        "churn_probability": np.clip(1 - alive, 0.0, 1.0),
        "predicted_number_of_orders": np.maximum(orders, 0.0),
        "predicted_clv": np.maximum(orders, 0.0) * spend,
        "historic_clv": summary["historic_clv"].to_numpy(float),
        "historic_number_of_orders": summary["historic_number_of_orders"].to_numpy(int),
    }, index=summary.index)
    out.attrs["fit"] = model
    return out


def holdout(orders: pd.DataFrame, cutoff: pd.Timestamp | str, end: pd.Timestamp | str, *, seed: int = 0,
            max_orders_bin: int = 6) -> pd.DataFrame:
    """The model's check on this account: fitted on the orders before ``cutoff``, its expected orders in
    ``[cutoff, end)`` against what the same customers did.

    One row per number of repeat orders before the cut-off (``0, 1, ..., max_orders_bin+``): ``customers``,
    ``predicted`` and ``actual`` mean orders per customer in the holdout period. ``attrs``: ``predicted_total``,
    ``actual_total``, ``customers``, ``cutoff``, ``end``, ``days``.
    """
    cutoff, end = _utc(cutoff), _utc(end)
    days = (end - cutoff) / DAY
    before = summarise(orders, cutoff)
    model = fit(before, seed=seed)
    scored = score(model, before, days)
    after = orders[(pd.to_datetime(orders["datetime"], utc=True) >= cutoff)
                   & (pd.to_datetime(orders["datetime"], utc=True) < end)]
    actual = after["profile_id"].astype(str).value_counts().reindex(before.index, fill_value=0)
    frame = pd.DataFrame({"bin": np.minimum(before["frequency"].to_numpy(int), max_orders_bin),
                          "predicted": scored["predicted_number_of_orders"].to_numpy(),
                          "actual": actual.to_numpy(float)})
    table = frame.groupby("bin").agg(customers=("actual", "size"), predicted=("predicted", "mean"),
                                     actual=("actual", "mean"))
    table.index = [f"{b}+" if b == max_orders_bin else str(b) for b in table.index]
    table.index.name = "repeat_orders_before_cutoff"
    table.attrs.update(predicted_total=float(frame["predicted"].sum()), actual_total=float(frame["actual"].sum()),
                       customers=len(frame), cutoff=cutoff, end=end, days=float(days))
    return table


# ---------------------------------------------------------------------------------------------- internals


def _utc(value: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _rfm(summary: pd.DataFrame) -> pd.DataFrame:
    # PyMC-Marketing wants a customer_id column; positions keep it numeric and unique.
    return pd.DataFrame({"customer_id": np.arange(len(summary)), "frequency": summary["frequency"].to_numpy(float),
                         "recency": summary["recency"].to_numpy(float), "T": summary["T"].to_numpy(float)})


def _spend_rows(summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": np.arange(len(summary)),
                         "monetary_value": summary["mean_repeat_value"].fillna(0).to_numpy(float),
                         "frequency": summary["frequency"].to_numpy(float)})


def _spend(model: Fit, summary: pd.DataFrame) -> np.ndarray:
    """Expected value of a future order per customer: the Gamma-Gamma's, else each customer's own mean."""
    if model.spend is None:
        mean = summary["historic_clv"] / summary["historic_number_of_orders"]
        return mean.to_numpy(float)
    rows = _spend_rows(summary)
    has_value = (summary["frequency"] > 0).to_numpy() & (summary["mean_repeat_value"] > 0).to_numpy()
    rows.loc[~has_value, "frequency"] = 0.0  # no repeat value: the population's mean order value
    rows.loc[~has_value, "monetary_value"] = 0.0
    return _values(model.spend.expected_customer_spend(data=rows))


def _values(array) -> np.ndarray:
    """A PyMC-Marketing result (chain, draw, customer) from a MAP fit: its one point per customer."""
    data = np.asarray(array)
    return data.reshape(-1, data.shape[-1]).mean(axis=0)


def _param(model, name: str) -> float:
    return float(np.asarray(model.fit_result[name]).mean())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """PyMC-Marketing's and ArviZ's warnings and log lines are for modellers, not for the analyst's report."""
    loggers = [logging.getLogger(name) for name in ("pymc", "pymc_marketing", "pytensor", "arviz", "arviz.preview")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)
