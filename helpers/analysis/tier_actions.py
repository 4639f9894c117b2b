"""What to do with each CLV tier, and tier tables that say which statistic is which (notebook 01).

The tier table mixed means and medians under bare names ("orders 1.0" beside "historic CLV 0"), which
reads as a contradiction: in a tier where most customers have not ordered yet, the median CLV is 0 while
the mean order count is 1.0. Here every column says whether it is a mean, a median, a share or a sum, the
oddities get a sentence, and each tier gets one recommended action derived from its value and churn risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.analysis.customers import tier_summary

__all__ = ["LABELLED_FORMATS", "Thresholds", "labelled_tier_summary", "tier_actions", "tier_notes", "tier_statistics",
           "turned_tier_summary"]


def tier_statistics(
    profiles: pd.DataFrame, tiers: pd.Series, bands: pd.Series, field: str = "predicted_clv",
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """`customers.tier_summary` plus `share_with_orders` (share of the tier with ≥ 1 historic order) and
    `orders_median` (median historic orders).

    Why: a median CLV of 0 beside a mean of 1.0 orders is explained by how many customers have ordered at
    all; without that share the reader cannot tell. NaN when the profiles carry no order counts.
    """
    summary = tier_summary(profiles, tiers, bands, field=field, as_of=as_of)
    orders = pd.to_numeric(profiles.get("historic_number_of_orders"), errors="coerce") \
        if "historic_number_of_orders" in profiles else pd.Series(np.nan, index=profiles.index)
    frame = pd.DataFrame({"tier": tiers.to_numpy(), "orders": orders.to_numpy()})
    share, median = {}, {}
    for tier in summary.index:
        mine = frame.loc[frame["tier"] == tier, "orders"].dropna()
        share[tier] = float((mine >= 1).mean()) if len(mine) else np.nan
        median[tier] = float(mine.median()) if len(mine) else np.nan
    return summary.assign(share_with_orders=pd.Series(share), orders_median=pd.Series(median))


_LABELS = {
    "size": "customers",
    "share_customers": "share of customers",
    "historic_clv_median": "median historic CLV",
    "historic_clv_mean": "mean historic CLV",
    "predicted_clv_median": "median predicted CLV",
    "predicted_clv_mean": "mean predicted CLV",
    "aov": "median AOV",
    "orders": "mean orders",
    "orders_median": "median orders",
    "share_with_orders": "share with ≥1 order",
    "days_between_orders": "median days between orders",
    "churn_low": "share low churn risk",
    "churn_medium": "share medium churn risk",
    "churn_high": "share high churn risk",
    "clv_at_risk": "value at risk (sum of spend churn takes away: predicted CLV × churn ÷ (1 − churn))",
    "next_order_30d": "share expected to order within 30 days",
    "preferred_channel": "most common preferred channel",
    "email_consent": "share with email consent",
    "sms_consent": "share with SMS consent",
    "top_regions": "top regions (share of tier)",
}
# Money is a format kind (helpers.report.tables: the report's currency, whole units); shares and counts patterns.
_SHARE, _MONEY = "{:.0%}", "money0"
LABELLED_FORMATS: dict[str, str] = {
    **{_LABELS[k]: _SHARE for k in ("share_customers", "share_with_orders", "churn_low", "churn_medium",
                                    "churn_high", "next_order_30d", "email_consent", "sms_consent")},
    **{_LABELS[k]: _MONEY for k in ("historic_clv_median", "historic_clv_mean", "predicted_clv_median",
                                    "predicted_clv_mean", "aov", "clv_at_risk")},
    _LABELS["orders"]: "{:.1f}", _LABELS["orders_median"]: "{:.0f}", _LABELS["days_between_orders"]: "{:.0f}",
    _LABELS["size"]: "{:,.0f}",
    _LABELS["preferred_channel"]: "text", _LABELS["top_regions"]: "text",
}


def labelled_tier_summary(summary: pd.DataFrame, field: str = "predicted_clv") -> pd.DataFrame:
    """The tier table with column names that say what each number is: "median predicted CLV", "mean
    orders", "share with ≥1 order", "value at risk (sum …)".

    Why: a reader compares columns; "orders 1.0" beside "historic CLV 0" only makes sense once one is a
    mean and the other a median. `summary` is `tier_statistics` / `tier_summary`; `share_clv` becomes
    "share of <field>" (e.g. "share of predicted CLV"); unknown columns keep their names. Format with
    `LABELLED_FORMATS` (plus the share-of-field column, a percentage: see the returned frame's
    `attrs["formats"]`).
    """
    share_label = "share of " + field.replace("_clv", " CLV").replace("_", " ")
    out = summary.rename(columns={**_LABELS, "share_clv": share_label})
    out.attrs["formats"] = {**LABELLED_FORMATS, share_label: _SHARE}
    return out


def turned_tier_summary(summary: pd.DataFrame, field: str = "predicted_clv") -> pd.DataFrame:
    """`labelled_tier_summary` turned: one row per measure (index ``measure``), one column per tier.

    Why: twenty-odd measures side by side run off any screen, while tiers are few; turned, a reader compares
    the tiers along a row, and the measures' long names wrap in their own column. ``attrs["formats"]`` maps
    each measure to its format (format each tier column by row: ``helpers.report.tables.ByRow``).
    """
    labelled = labelled_tier_summary(summary, field=field)
    turned = labelled.T.rename_axis(index="measure", columns=None)
    turned.columns = [str(c) for c in turned.columns]
    turned.attrs["formats"] = {k: v for k, v in labelled.attrs["formats"].items() if k in turned.index}
    return turned


def _level(value: float, low: float, high: float, names: Sequence[str] = ("low", "mid", "high")) -> str:
    if value is None or not np.isfinite(value):
        return "unknown"
    return names[2] if value >= high else names[0] if value < low else names[1]


def _money(x: float, currency: str) -> str:
    return f"{currency}{x:,.0f}"


@dataclass(frozen=True)
class Thresholds:
    """Where a tier's value and churn change level (`tier_actions` says what each means)."""

    high_value_ratio: float = 1.5
    low_value_ratio: float = 0.75
    high_churn_share: float = 0.3
    low_churn_share: float = 0.1
    high_risk_share: float = 0.5
    low_risk_share: float = 0.2
    first_order_share: float = 0.5

    def value(self, ratio: float) -> str:
        return _level(ratio, self.low_value_ratio, self.high_value_ratio)

    def churn(self, row: pd.Series) -> str:
        """From value at risk where the table has it, else from the share at high churn risk."""
        risk = _risk_share(row)
        if np.isfinite(risk):
            return _level(risk, self.low_risk_share, self.high_risk_share, ("low", "medium", "high"))
        return _level(float(row.get("churn_high", np.nan)), self.low_churn_share, self.high_churn_share,
                      ("low", "medium", "high"))


def tier_actions(
    summary: pd.DataFrame, *, label: str = "predicted CLV", currency: str = "$", **thresholds: float
) -> pd.DataFrame:
    """One recommended action per tier, derived from its numbers, with one sentence saying why.

    Why: a tier table is not a plan; the reader needs "what do we do with these people, and by when".
    `summary` is `tier_statistics(...)`; `thresholds` are `Thresholds`' fields as keywords. A tier's *value* is its share of `label` over its share of
    customers: high at ≥ `high_value_ratio` (it holds 1.5× its head count in value), low below
    `low_value_ratio`. Its *churn* is how much of what the tier would spend if it stayed churn takes away:
    value at risk ÷ (value at risk + predicted CLV), both summed over the tier (``customers.value_at_risk``,
    which counts churn once) — high at ≥ `high_risk_share`, low below `low_risk_share`. A table without
    predicted CLV or value at risk falls back to the share at high churn risk (high at ≥ `high_churn_share`,
    low below `low_churn_share`); unknown without churn scores. Rules, first match wins:
    fewer than `first_order_share` have ever ordered → "first order" (a welcome series towards it);
    high value + high churn → "win back" (before the expected next order date);
    high + medium → "retain"; high + low → "reward loyalty";
    mid + high → "re-engage"; mid + low/medium → "grow basket";
    low + high → "low-cost reactivation"; low + low/medium → "nurture";
    unknown churn: high → "protect", mid → "grow basket", low → "nurture".
    Returns `action, reason, value, churn` indexed by tier.
    """
    rules = Thresholds(**thresholds)
    rows = []
    for tier, row in summary.iterrows():
        share_c, share_v = float(row.get("share_customers", np.nan)), float(row.get("share_clv", np.nan))
        # Rounded so that 0.3 / 0.2 is 1.5, not 1.4999999999999998, at an inclusive threshold.
        ratio = round(share_v / share_c, 9) if np.isfinite(share_c) and share_c > 0 else np.nan
        value, churn = rules.value(ratio), rules.churn(row)
        rows.append({"tier": tier, **_action(tier, row, value, churn, ratio, rules.first_order_share, label, currency),
                     "value": value, "churn": churn})
    return pd.DataFrame(rows, columns=["tier", "action", "reason", "value", "churn"]).set_index("tier")


def _risk_share(row: pd.Series) -> float:
    """Share of the tier's spend-if-they-stay that churn takes away: at risk ÷ (at risk + predicted CLV); NaN
    when the table lacks either."""
    at_risk = float(row.get("clv_at_risk", np.nan))
    predicted = float(row.get("predicted_clv_mean", np.nan)) * float(row.get("size", np.nan))
    if not (np.isfinite(at_risk) and np.isfinite(predicted)) or at_risk + predicted <= 0:
        return np.nan
    return at_risk / (at_risk + predicted)


def _action(tier, row, value, churn, ratio, first_order_share, label, currency) -> dict:
    worth = (f"{row['share_clv']:.0%} of {label} from {row['share_customers']:.0%} of customers"
             if np.isfinite(ratio) else "unknown value")
    high, at_risk, share = row.get("churn_high"), row.get("clv_at_risk"), _risk_share(row)
    if np.isfinite(share):  # the measure the churn level comes from
        risk = f"{_money(at_risk, currency)} of next year's spend at risk ({share:.0%} of what they would spend if they stay)"
        at_risk_text = ""
    else:
        risk = f"{high:.0%} at high churn risk" if churn != "unknown" else "no churn scores"
        at_risk_text = (f", {_money(at_risk, currency)} of next year's spend at risk"
                        if pd.notna(at_risk) and at_risk > 0 else "")
    days = row.get("days_between_orders")
    due = row.get("next_order_30d")
    timing = []
    if pd.notna(due):
        timing.append(f"{due:.0%} are expected to order within 30 days")
    if pd.notna(days):
        timing.append(f"median {days:.0f} days between orders")
    when = f" ({'; '.join(timing)})" if timing else ""
    ordered = row.get("share_with_orders")
    if pd.notna(ordered) and ordered < first_order_share:
        return {"action": "first order", "reason": (
            f"Only {ordered:.0%} of {tier} customers have ever ordered ({worth}): a welcome series towards a first "
            "order comes before any retention spend.")}
    aov = row.get("aov")
    basket = f" (median AOV {_money(aov, currency)})" if pd.notna(aov) else ""
    table = {
        ("high", "high"): ("win back", f"{tier} holds {worth} and has {risk}{at_risk_text}: win them back before "
                                       f"their expected next order date{when}."),
        ("high", "medium"): ("retain", f"{tier} holds {worth} with {risk}: keep them close with loyalty perks and "
                                       f"early access before the risk grows{when}."),
        ("high", "low"): ("reward loyalty", f"{tier} holds {worth} and only {risk}: reward loyalty (early access, "
                                            "perks) rather than discounting people who buy anyway."),
        ("mid", "high"): ("re-engage", f"{tier} holds {worth} and has {risk}: re-engage them with a targeted offer "
                                       f"before they lapse{when}."),
        ("mid", "medium"): ("grow basket", f"{tier} holds {worth} with {risk}: cross-sell to raise order value{basket}."),
        ("mid", "low"): ("grow basket", f"{tier} holds {worth} and only {risk}: cross-sell to raise order value{basket}."),
        ("low", "high"): ("low-cost reactivation", f"{tier} holds {worth} and has {risk}: automated, low-cost "
                                                   "reactivation only; discounts would cost more than they keep."),
        ("low", "medium"): ("nurture", f"{tier} holds {worth} with {risk}: nurture with content and a next-order "
                                       "incentive rather than retention spend."),
        ("low", "low"): ("nurture", f"{tier} holds {worth} and only {risk}: nurture with content and a next-order "
                                    "incentive; they are not leaving, they buy little."),
        ("high", "unknown"): ("protect", f"{tier} holds {worth} ({risk}): protect it with loyalty perks and watch "
                                         f"the order cadence{when}."),
        ("mid", "unknown"): ("grow basket", f"{tier} holds {worth} ({risk}): cross-sell to raise order value{basket}."),
        ("low", "unknown"): ("nurture", f"{tier} holds {worth} ({risk}): nurture with content and a next-order "
                                        "incentive."),
    }
    action, reason = table.get((value, churn), ("review", f"{tier}: {worth}, {risk}; not enough numbers to derive "
                                                          "an action."))
    return {"action": action, "reason": reason}


def tier_notes(summary: pd.DataFrame, currency: str = "$", skew_ratio: float = 3.0) -> list[str]:
    """Sentences explaining numbers in the tier table that look contradictory, one per case found.

    Why: "Occasional: historic CLV median 0, orders 1.0, AOV 65" reads as an error unless someone says most
    of the tier has not ordered yet. Cases: a median historic CLV of 0 while the mean order count or the
    median AOV is above 0 (states the share with ≥ 1 order and that the AOV median is over customers with
    an order value); a mean CLV at least `skew_ratio` × its median (a few big spenders lift the mean).
    `summary` is `tier_statistics(...)`. Empty list when nothing needs explaining.
    """
    notes = []
    for tier, row in summary.iterrows():
        median = row.get("historic_clv_median")
        orders, aov = row.get("orders"), row.get("aov")
        if pd.notna(median) and median == 0 and ((pd.notna(orders) and orders > 0) or (pd.notna(aov) and aov > 0)):
            ordered = row.get("share_with_orders")
            who = (f"only {ordered:.0%} of {tier} customers have at least one order"
                   if pd.notna(ordered) else f"most {tier} customers have not ordered yet")
            extra = []
            if pd.notna(orders) and orders > 0:
                extra.append(f"the mean of {orders:.1f} orders comes from those who have")
            if pd.notna(aov) and aov > 0:
                extra.append(f"the median AOV of {_money(aov, currency)} is over customers with an order value")
            notes.append(f"{tier}: the median historic CLV is 0 because {who}; " + " and ".join(extra) + ".")
        for kind in ("historic", "predicted"):
            mean, med = row.get(f"{kind}_clv_mean"), row.get(f"{kind}_clv_median")
            if pd.notna(mean) and pd.notna(med) and med > 0 and mean >= skew_ratio * med:
                notes.append(f"{tier}: the mean {kind} CLV ({_money(mean, currency)}) is {mean / med:.1f}× the median "
                             f"({_money(med, currency)}): a few big spenders lift the mean; the median is the typical "
                             "customer.")
    return notes
