"""Where each profile's churn and CLV come from in notebook 01: Klaviyo's predictions, the CLV model, or neither.

The ``predictions`` parameter picks: ``auto`` (Klaviyo's where present, modelled from Placed Order history
for the profiles Klaviyo left blank), ``klaviyo`` (Klaviyo's only; an account without any gets historic CLV
from orders, as before) or ``model`` (modelled for every profile with orders, Klaviyo's ignored). Profiles
whose order count is 0 are prospects: they get no churn or CLV from either source.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.analysis import clv_model
from helpers.analysis.customers import orders_fallback

__all__ = ["MODES", "Combined", "combine", "compare", "describe", "holdout_check", "needs_orders"]

MODES = ("auto", "klaviyo", "model")
PREDICTED = ["churn_probability", "predicted_number_of_orders", "predicted_clv"]
HISTORIC = ["historic_clv", "historic_number_of_orders", "average_order_value", "average_days_between_orders"]


@dataclass
class Combined:
    """The profiles with one source per profile (``prediction_source``: "klaviyo", "model" or None)."""

    profiles: pd.DataFrame
    modelled: int  # profiles whose churn and CLV come from clv_model
    model: pd.DataFrame | None  # clv_model.predict for every buyer in the order history (attrs["fit"]); None: not run
    problem: str | None  # why the model could not be used, one sentence; None otherwise
    orders: int  # Placed Order events read (0 when none were needed)

    def field(self, requested: str) -> str:
        """The CLV field to tier on: ``requested``, or ``historic_clv`` when no buyer has it (no predictions)."""
        values = pd.to_numeric(self.profiles.get(requested), errors="coerce") if requested in self.profiles else None
        return requested if values is not None and values.notna().any() else "historic_clv"


def needs_orders(mode: str, profiles: pd.DataFrame) -> bool:
    """Whether the Placed Order history must be read for ``mode``: the model needs it, and so does an
    account without any prediction (historic CLV from orders)."""
    scored = profiles["has_predictions"].astype(bool)
    return mode == "model" or not scored.any() or (mode == "auto" and not scored.all())


def combine(profiles: pd.DataFrame, orders: pd.DataFrame | None, mode: str, as_of: pd.Timestamp | str,
            horizon_days: int = 365) -> Combined:
    """The profiles with churn, predicted and historic CLV from the source ``mode`` picks for each.

    Profiles taken over from the order history (every profile in ``model`` mode, the blank ones in ``auto``,
    all of them when Klaviyo has none) get historic CLV, order count, order value and cadence from
    ``orders`` (0 orders when they have none there: prospects). If the model cannot be fitted (too few
    repeat buyers) those profiles keep historic values only and ``problem`` says why.
    """
    if mode not in MODES:
        raise ValueError(f"predictions must be one of {', '.join(MODES)}; got {mode!r}.")
    out = profiles.copy()
    scored = out["has_predictions"].astype(bool)
    out["prediction_source"] = np.where(scored, "klaviyo", None) if mode != "model" else None
    if orders is None:
        return Combined(out, 0, None, None, 0)
    taken = ~scored if mode == "auto" else pd.Series(True, index=out.index)
    if mode == "klaviyo":
        taken = ~scored if not scored.any() else pd.Series(False, index=out.index)
    out = _historic_from_orders(out, orders, taken)
    if mode == "klaviyo":
        return Combined(out, 0, None, None, len(orders))
    try:
        model = clv_model.predict(orders, as_of, horizon_days)
    except clv_model.ModelError as exc:
        return Combined(out, 0, None, f"The churn model was not used: {exc}", len(orders))
    ids = out["profile_id"].astype(str)
    modelled = taken & ids.isin(model.index)
    for col in PREDICTED:
        out.loc[modelled, col] = model[col].reindex(ids[modelled]).to_numpy()
    out.loc[taken, "expected_date_of_next_order"] = None  # the model gives no date
    out.loc[taken, "total_clv"] = out.loc[taken, "historic_clv"] + out.loc[taken, "predicted_clv"]
    out.loc[modelled, "prediction_source"] = "model"
    return Combined(out, int(modelled.sum()), model, None, len(orders))


def _historic_from_orders(profiles: pd.DataFrame, orders: pd.DataFrame, rows: pd.Series) -> pd.DataFrame:
    """``rows`` of ``profiles`` with historic columns from ``orders`` (0 orders and 0 CLV without any)
    and Klaviyo's predicted columns cleared."""
    derived = orders_fallback(orders).set_index("profile_id")
    ids = profiles.loc[rows, "profile_id"].astype(str)
    for col in HISTORIC:
        profiles.loc[rows, col] = derived[col].reindex(ids).to_numpy() if col in derived else np.nan
    profiles.loc[rows, "historic_number_of_orders"] = profiles.loc[rows, "historic_number_of_orders"].fillna(0)
    profiles.loc[rows, "historic_clv"] = profiles.loc[rows, "historic_clv"].fillna(0.0)
    for col in [*PREDICTED, "total_clv"]:
        if col in profiles:
            profiles.loc[rows, col] = np.nan
    return profiles


def compare(profiles: pd.DataFrame, model: pd.DataFrame) -> pd.DataFrame | None:
    """Klaviyo's predictions against the model's, over the buyers that have both: Spearman rank correlation and
    totals of churn probability and predicted CLV (rows), with ``customers`` compared. None without overlap."""
    klaviyo = profiles[profiles["has_predictions"].astype(bool)]
    klaviyo = klaviyo.set_index(klaviyo["profile_id"].astype(str))
    both = klaviyo.index.intersection(model.index)
    if len(both) < 10:
        return None
    rows = []
    for col, name in (("churn_probability", "churn probability"), ("predicted_clv", "predicted CLV")):
        k = pd.to_numeric(klaviyo.loc[both, col], errors="coerce")
        m = model.loc[both, col]
        ok = k.notna() & m.notna()
        with warnings.catch_warnings():  # a constant column has no rank correlation: NaN, said by the table
            warnings.simplefilter("ignore")
            rho = float(k[ok].corr(m[ok], method="spearman"))
        rows.append({"measure": name, "customers": int(ok.sum()), "rank_correlation": rho,
                     "klaviyo_total": float(k[ok].sum()), "model_total": float(m[ok].sum())})
    return pd.DataFrame(rows).set_index("measure")


def describe(combined: Combined, mode: str, lookback_days: int) -> str:
    """One markdown paragraph: which profiles' churn and CLV are modelled, from what data, and what is not."""
    p = combined.profiles
    missing = int((~p["has_predictions"].astype(bool)).sum())
    if combined.problem:
        return (f"**{combined.problem}** The profiles it would have scored keep historic CLV and order counts from "
                f"{combined.orders:,} Placed Order events of the last {lookback_days} days; churn and predicted CLV "
                "are unknown for them.")
    if combined.model is not None:
        fit = combined.model.attrs["fit"]
        who = ("every profile with an order (predictions = 'model': Klaviyo's are not used)" if mode == "model"
               else "the profiles Klaviyo left without predictions")
        sample = f" (fitted on a random {fit.fitted_on:,} of them)" if fit.fitted_on < fit.customers else ""
        return (f"**{combined.modelled:,} profiles get churn and CLV from a model of their own orders**: {who}. "
                f"The model (PyMC-Marketing's modified BG/NBD for when and whether customers order again, Gamma-Gamma "
                f"for order value, fitted by maximum likelihood) read {combined.orders:,} Placed Order events of the "
                f"last {lookback_days} days from {fit.customers:,} customers, {fit.repeat_buyers:,} of whom ordered "
                f"more than once{sample}. Its churn probability is the chance a customer has stopped buying; its "
                "predicted CLV is the expected spend of the next 365 days, as Klaviyo's are.")
    if combined.orders:  # klaviyo mode on an account without any prediction
        return (f"**This account has no predictive analytics** and predictions = 'klaviyo', so tiers use historic CLV "
                f"and order counts from {combined.orders:,} Placed Order events of the last {lookback_days} days; churn "
                "and predicted CLV are unavailable (predictions = 'auto' models them from the same orders).")
    if missing:
        return (f"Churn and CLV are Klaviyo's; the {missing:,} profiles without predictions are left out of the tiers "
                "(predictions = 'klaviyo').")
    return "Every profile has Klaviyo's predictions; nothing is modelled."


def holdout_check(orders: pd.DataFrame, as_of: pd.Timestamp | str, days: int) -> tuple[pd.DataFrame | None, str]:
    """``clv_model.holdout`` with the cut-off ``days`` before ``as_of``, and one sentence reading it (or saying
    why there is no check)."""
    as_of = pd.Timestamp(as_of)
    try:
        table = clv_model.holdout(orders, as_of - pd.Timedelta(days=days), as_of)
    except clv_model.ModelError as exc:
        return None, f"No holdout check: fitted on the orders before the last {days} days, {exc}"
    predicted, actual = table.attrs["predicted_total"], table.attrs["actual_total"]
    gap = (predicted - actual) / actual if actual else float("nan")
    return table, (f"**How well the model fits this account.** Fitted only on the orders placed before the last {days} "
                   f"days, it expected the {table.attrs['customers']:,} customers of that time to place {predicted:,.0f} "
                   f"orders in those {days} days; they placed {actual:,.0f} ({gap:+.0%}). The chart compares them by "
                   "how often each customer had ordered before.")
