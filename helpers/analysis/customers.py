"""Customer value tiers (notebook 01): CLV tiers x churn bands, per-tier profiles, persona fields.

Input is the `KlaviyoClient.profiles()` frame (predictive analytics flattened into columns). Accounts that
are not eligible for predictive analytics get the historic columns from `orders_fallback` instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "PERSONA_PREFIX",
    "SUMMARY_FORMATS",
    "assign_tiers",
    "buyers",
    "churn_bands",
    "clv_at_risk_matrix",
    "column_coverage",
    "orders_fallback",
    "pareto",
    "persona_fields",
    "persona_name",
    "persona_prefix",
    "predictions_note",
    "prospect_summary",
    "summary_lines",
    "tier_summary",
    "validate_tiering",
    "value_at_risk",
    "with_orders_fallback",
]

# The one definition of how job 01 names its personas; 04 and 05 fall back to finding them by this prefix.
PERSONA_PREFIX = "CLV tier: "
# A run for one account of accounts.toml (python -m helpers.run --account NAME) sets the account's own prefix
# here, e.g. "CLV tier (acme): ": one Mavera key may serve several accounts, and personas of the same name
# would overwrite each other. Unset (every run without an account): PERSONA_PREFIX.
PERSONA_PREFIX_ENV = "WORKBOOKS_PERSONA_PREFIX"


def persona_prefix() -> str:
    """How this run's personas are named: ``WORKBOOKS_PERSONA_PREFIX`` if set, else :data:`PERSONA_PREFIX`."""
    value = os.environ.get(PERSONA_PREFIX_ENV, "")
    return value if value.strip() else PERSONA_PREFIX


def validate_tiering(cuts: Sequence[float], names: Sequence[str]) -> None:
    """Raise ValueError with one sentence when cut points and names cannot make tiers."""
    cuts = list(cuts)
    if not cuts or not all(0 < c < 1 for c in cuts) or any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        raise ValueError(f"tier_cuts must be increasing quantiles strictly between 0 and 1, e.g. [0.6, 0.9]; got {cuts}.")
    if len(names) != len(cuts) + 1:
        raise ValueError(f"tier_names needs one name per tier ({len(cuts) + 1} for {len(cuts)} cut points); got {len(names)}.")
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError(f"tier_names must be distinct non-empty strings; got {list(names)}.")


def assign_tiers(
    values: pd.Series, cuts: Sequence[float] = (0.6, 0.9), names: Sequence[str] = ("Occasional", "Regular", "VIP"),
    label: str | None = None,
) -> tuple[pd.Series, np.ndarray]:
    """Tier each value by quantiles of the non-null values; returns `(ordered categorical, thresholds)`.

    Tier k holds values in (threshold[k-1], threshold[k]]: a value equal to a cut point stays in the lower
    tier, so ties never split across tiers. Null values get no tier (NaN). When two cuts land on the same
    value (many customers share it, e.g. predicted CLV 0) a tier would be empty by construction: that raises
    ValueError naming the share at the tied value and where to put the cut instead (`label` names the
    values in that sentence; default the series name).
    """
    validate_tiering(cuts, names)
    label = label or str(values.name or "value").replace("_", " ")
    values = pd.to_numeric(values, errors="coerce")
    known = values.dropna()
    if known.empty:
        return pd.Series(pd.Categorical([None] * len(values), categories=list(names), ordered=True), index=values.index), np.array([])
    thresholds = np.quantile(known.to_numpy(float), list(cuts))
    _refuse_tied_cuts(known.to_numpy(float), thresholds, list(cuts), label)
    tiers = pd.cut(values, bins=[-np.inf, *thresholds, np.inf], labels=list(names), right=True, ordered=True)
    return tiers, thresholds


def _refuse_tied_cuts(known: np.ndarray, thresholds: np.ndarray, cuts: list[float], label: str) -> None:
    """One sentence when two cut quantiles fall on the same value (pd.cut would need unique edges)."""
    tied = np.flatnonzero(np.diff(thresholds) <= 0)
    if not len(tied):
        return
    k = int(tied[0])  # cuts[k] and cuts[k + 1] both land on `value`
    value = thresholds[k]
    at_value = float((known == value).mean())
    upto = float((known <= value).mean())
    if upto < 0.99:
        fix = f"put the cut now at {cuts[k + 1]:g} above {math.ceil(upto * 100) / 100:.2f}"
    else:  # the tie reaches the top: the lower cut has to move down instead
        below = float((known < value).mean())
        fix = f"put the cut now at {cuts[k]:g} below {math.floor(below * 100) / 100:.2f}"
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    raise ValueError(
        f"tier_cuts {cuts} tie: {at_value:.0%} of customers have {label} {shown} (cut points {cuts[k]:g} and {cuts[k + 1]:g} both "
        f"land on it, which would leave a tier empty); {fix}."
    )


# Churn probabilities are capped here for value at risk: at 1 the spend "if they stay" is undefined.
CHURN_CAP = 0.99


def value_at_risk(predicted_clv: pd.Series, churn_probability: pd.Series) -> pd.Series:
    """The spend of the next 365 days that churn takes away: predicted CLV × churn ÷ (1 − churn).

    Klaviyo's predicted CLV is the expected spend of the next 365 days, which already allows for the chance
    that the customer has left (it is the spend if still active × the chance of being active), so
    predicted CLV × churn counts churn twice. What churn takes away is the spend if still active,
    predicted CLV ÷ (1 − churn), less the expected spend: predicted CLV × churn ÷ (1 − churn). Churn is
    capped at ``CHURN_CAP``; NaN where either input is missing.
    """
    clv = pd.to_numeric(predicted_clv, errors="coerce")
    churn = pd.to_numeric(churn_probability, errors="coerce").clip(0.0, CHURN_CAP)
    return clv * churn / (1 - churn)


def buyers(profiles: pd.DataFrame) -> pd.Series:
    """True for profiles with at least one order (``historic_number_of_orders`` ≥ 1); prospects and profiles
    whose order count is unknown are False. Tiers describe buyers only."""
    if "historic_number_of_orders" not in profiles:
        return pd.Series(False, index=profiles.index)
    return pd.to_numeric(profiles["historic_number_of_orders"], errors="coerce").fillna(0) >= 1


def churn_bands(
    churn: pd.Series, bounds: Sequence[float] = (0.3, 0.6), names: Sequence[str] = ("low", "medium", "high")
) -> pd.Series:
    """Churn-risk band: low < 0.3 <= medium < 0.6 <= high by default (left-closed bins); null stays null."""
    return pd.cut(pd.to_numeric(churn, errors="coerce"), bins=[-np.inf, *bounds, np.inf], labels=list(names),
                  right=False, ordered=True)


def orders_fallback(orders: pd.DataFrame) -> pd.DataFrame:
    """Historic CLV and order cadence per profile from Placed Order events (`profile_id, datetime, value`).

    For accounts without predictive analytics. Returns one row per profile with `historic_clv,
    historic_number_of_orders, average_order_value, average_days_between_orders` (NaN after a single order),
    `last_order`.
    """
    cols = ["profile_id", "historic_clv", "historic_number_of_orders", "average_order_value",
            "average_days_between_orders", "last_order"]
    if orders.empty:
        return pd.DataFrame(columns=cols)
    o = orders[["profile_id", "datetime", "value"]].copy()
    o["datetime"] = pd.to_datetime(o["datetime"], utc=True)
    o["value"] = pd.to_numeric(o["value"], errors="coerce").fillna(0.0)
    g = o.groupby("profile_id")
    out = pd.DataFrame({
        "historic_clv": g["value"].sum(),
        "historic_number_of_orders": g.size(),
        "first_order": g["datetime"].min(),
        "last_order": g["datetime"].max(),
    })
    out["average_order_value"] = out["historic_clv"] / out["historic_number_of_orders"]
    span_days = (out["last_order"] - out["first_order"]).dt.total_seconds() / 86400
    out["average_days_between_orders"] = (span_days / (out["historic_number_of_orders"] - 1)).where(
        out["historic_number_of_orders"] > 1
    )
    return out.reset_index()[cols]


def with_orders_fallback(profiles: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """`profiles` with its historic CLV and cadence columns replaced by those rebuilt from `orders`.

    For accounts without predictive analytics; profiles with no order in `orders` get NaN there.
    """
    derived = orders_fallback(orders).set_index("profile_id")
    base = profiles.set_index("profile_id")
    for col in ["historic_clv", "historic_number_of_orders", "average_order_value", "average_days_between_orders"]:
        base[col] = derived[col].reindex(base.index)
    return base.reset_index()


def predictions_note(profiles: pd.DataFrame, as_of: pd.Timestamp | str | None = None) -> str:
    """One markdown paragraph: how many profiles lack predictions and how many of those joined recently.

    "Recently" is the 90 days before `as_of` (default now), judged on the `created` column.
    """
    as_of = pd.Timestamp.now(tz="UTC") if as_of is None else pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of
    total = len(profiles)
    no_pred = ~profiles["has_predictions"].astype(bool)
    missing = int(no_pred.sum())
    created = pd.to_datetime(profiles["created"], utc=True, errors="coerce")
    recent = int((no_pred & (created >= as_of - pd.Timedelta(days=90))).sum())
    return (
        f"**{total:,} profiles**; **{missing:,}** ({missing / max(total, 1):.0%}) have no predictions — "
        f"{recent:,} of those joined in the last 90 days. Profiles without predictions are usually people who "
        "have not ordered yet or are too new to score (below: which of them get churn and CLV from their orders)."
    )


def _top_regions(frame: pd.DataFrame, k: int = 3) -> str:
    place = frame["region"].fillna("").astype(str).str.strip()
    country = frame["country"].fillna("").astype(str).str.strip()
    label = (place + ", " + country).str.strip(", ").replace("", np.nan).dropna()
    if label.empty:
        return ""
    shares = label.value_counts(normalize=True).head(k)
    return "; ".join(f"{name} {share:.0%}" for name, share in shares.items())


def tier_summary(
    profiles: pd.DataFrame, tiers: pd.Series, bands: pd.Series, field: str = "predicted_clv",
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """One row per tier with every number a persona and an analyst need (see the column list below).

    size, share_customers, share_clv (of the tiering field's total), median/mean historic and predicted CLV,
    aov (median), orders (mean historic orders), days_between_orders (median), churn_low/medium/high (shares
    of the tier with a churn score), clv_at_risk (sum of :func:`value_at_risk`: the spend churn takes away),
    next_order_30d (share expected to order within 30 days of `as_of`), preferred_channel (most common
    first-ranked channel), email/sms consent rates, top_regions.
    """
    as_of = pd.Timestamp.now(tz="UTC") if as_of is None else pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of
    df = profiles.assign(_tier=tiers.to_numpy(), _band=bands.to_numpy())
    df = df[df["_tier"].notna()]
    total_customers, total_value = len(df), pd.to_numeric(df[field], errors="coerce").sum()
    expected = pd.to_datetime(df.get("expected_date_of_next_order"), utc=True, errors="coerce") \
        if "expected_date_of_next_order" in df else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
    df = df.assign(
        _at_risk=value_at_risk(df["predicted_clv"], df["churn_probability"]),
        _next30=(expected >= as_of) & (expected <= as_of + pd.Timedelta(days=30)),
        _expected=expected,
    )
    rows = []
    for tier in tiers.cat.categories:
        t = df[df["_tier"] == tier]
        band_share = t["_band"].value_counts(normalize=True) if t["_band"].notna().any() else pd.Series(dtype=float)
        channel = t["preferred_channel"].dropna() if "preferred_channel" in t else pd.Series(dtype=object)
        rows.append({
            "tier": tier,
            "size": len(t),
            "share_customers": len(t) / total_customers if total_customers else np.nan,
            "share_clv": t[field].sum() / total_value if total_value else np.nan,
            "historic_clv_median": t["historic_clv"].median(),
            "historic_clv_mean": t["historic_clv"].mean(),
            "predicted_clv_median": t["predicted_clv"].median(),
            "predicted_clv_mean": t["predicted_clv"].mean(),
            "aov": t["average_order_value"].median(),
            "orders": t["historic_number_of_orders"].mean(),
            "days_between_orders": t["average_days_between_orders"].median(),
            **{f"churn_{b}": float(band_share.get(b, 0.0)) if len(band_share) else np.nan for b in bands.cat.categories},
            "clv_at_risk": t["_at_risk"].sum(min_count=1),
            # Without expected order dates (no predictions) the share is unknown, not 0 %.
            "next_order_30d": t["_next30"].mean() if len(t) and t["_expected"].notna().any() else np.nan,
            "preferred_channel": channel.mode().iloc[0] if not channel.empty else None,
            "email_consent": t["email_consent"].astype(float).mean() if "email_consent" in t else np.nan,
            "sms_consent": t["sms_consent"].astype(float).mean() if "sms_consent" in t else np.nan,
            "top_regions": _top_regions(t) if {"region", "country"} <= set(t.columns) else "",
        })
    return pd.DataFrame(rows).set_index("tier")


def clv_at_risk_matrix(profiles: pd.DataFrame, tiers: pd.Series, bands: pd.Series) -> pd.DataFrame:
    """Tier x churn band sum of :func:`value_at_risk` (the spend of the next year that churn takes away)."""
    at_risk = value_at_risk(profiles["predicted_clv"], profiles["churn_probability"])
    frame = pd.DataFrame({"tier": tiers.to_numpy(), "band": bands.to_numpy(), "at_risk": at_risk.to_numpy()})
    frame["tier"] = pd.Categorical(frame["tier"], categories=tiers.cat.categories, ordered=True)
    frame["band"] = pd.Categorical(frame["band"], categories=bands.cat.categories, ordered=True)
    return frame.pivot_table(index="tier", columns="band", values="at_risk", aggfunc="sum", fill_value=0.0, observed=False)


# How the `tier_summary` table reads (pandas Styler formats): shares as percentages, money without cents.
SUMMARY_FORMATS: dict[str, str] = {
    "share_customers": "{:.0%}", "share_clv": "{:.0%}", "churn_low": "{:.0%}", "churn_medium": "{:.0%}",
    "churn_high": "{:.0%}", "next_order_30d": "{:.0%}", "email_consent": "{:.0%}", "sms_consent": "{:.0%}",
    "historic_clv_median": "{:,.0f}", "historic_clv_mean": "{:,.0f}", "predicted_clv_median": "{:,.0f}",
    "predicted_clv_mean": "{:,.0f}", "aov": "{:,.0f}", "orders": "{:.1f}", "days_between_orders": "{:.0f}",
    "clv_at_risk": "{:,.0f}",
}


def summary_lines(
    summary: pd.DataFrame, at_risk: pd.DataFrame, *, profiles_total: int, profiles_without_predictions: int,
    personas: int, label: str, fallback: bool = False, dry_run: bool = False, prospects: int | None = None,
    modelled: int = 0, money: Callable[[float], str] | None = None,
) -> list[str]:
    """The notebook's closing bullets (markdown), from `tier_summary` and `clv_at_risk_matrix`.

    The top tier is the last row of `summary`; the value-at-risk bullet is left out when no tier has a
    churn score (e.g. historic CLV only). `personas` is how many tiers got a Mavera persona; `prospects`
    how many profiles never ordered (left out of the tiers); `modelled` how many got their churn and CLV
    from `clv_model` rather than Klaviyo. `money`: how an amount is written (the report's currency, e.g.
    ``lambda v: job.currency.format(v, 0)``).
    """
    money = money or (lambda v: f"{v:,.0f}")
    top = summary.index[-1]
    risk = summary["clv_at_risk"]
    risk_total = float(risk.sum(min_count=1)) if risk.notna().any() else float("nan")
    source = f", {modelled:,} profiles' churn and CLV are modelled from their orders" if modelled else ""
    lines = [
        f"- {profiles_total:,} profiles; {profiles_without_predictions:,} without Klaviyo's predictions{source}"
        + (" (the whole account: tiers use historic CLV from orders)." if fallback else "."),
    ]
    if prospects is not None:
        lines.append(f"- {prospects:,} profiles have never ordered: prospects, counted apart; the tiers describe the "
                     f"{int(summary['size'].sum()):,} customers who have.")
    lines.append(f"- **{top}** customers are {summary.at[top, 'share_customers']:.0%} of tiered customers and hold "
                 f"{summary.at[top, 'share_clv']:.0%} of {label}.")
    if risk_total == risk_total:  # not NaN
        worst = at_risk.stack().idxmax()
        lines.append(f"- {money(risk_total)} of next year's spend is at risk: what churn takes away (the spend if "
                     f"they stay, less predicted CLV, which already allows for churn); the largest block is "
                     f"{worst[0]} × {worst[1]} churn ({money(at_risk.loc[worst])}).")
    lines.append(f"- Personas: {personas} of {len(summary)} tiers have a Mavera persona" + (" (dry run)." if dry_run else "."))
    return lines


def prospect_summary(profiles: pd.DataFrame, as_of: pd.Timestamp | str | None = None) -> dict:
    """Profiles that never ordered (``historic_number_of_orders`` 0), described apart from the tiers.

    ``count``, ``share`` (of all profiles), ``joined_90d`` (share created in the 90 days before `as_of`),
    ``email_consent``/``sms_consent`` (shares), ``top_regions`` and a one-sentence ``description``.
    """
    as_of = pd.Timestamp.now(tz="UTC") if as_of is None else pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of
    orders = pd.to_numeric(profiles.get("historic_number_of_orders"), errors="coerce") \
        if "historic_number_of_orders" in profiles else pd.Series(np.nan, index=profiles.index)
    p = profiles[orders == 0]
    created = pd.to_datetime(p["created"], utc=True, errors="coerce") if "created" in p else pd.Series(dtype=float)
    out = {
        "count": len(p),
        "share": len(p) / len(profiles) if len(profiles) else np.nan,
        "joined_90d": float((created >= as_of - pd.Timedelta(days=90)).mean()) if len(created) else np.nan,
        "email_consent": float(p["email_consent"].astype(float).mean()) if len(p) and "email_consent" in p else np.nan,
        "sms_consent": float(p["sms_consent"].astype(float).mean()) if len(p) and "sms_consent" in p else np.nan,
        "top_regions": _top_regions(p) if len(p) and {"region", "country"} <= set(p.columns) else "",
    }
    out["description"] = _prospect_sentence(out)
    return out


def _prospect_sentence(row: dict) -> str:
    if not row["count"]:
        return "No profile is a prospect: every profile has ordered."
    parts = [f"{row['count']:,} prospects ({row['share']:.0%} of profiles) have never ordered"]
    if row["joined_90d"] == row["joined_90d"]:
        parts.append(f"{row['joined_90d']:.0%} joined in the last 90 days")
    consent = [f"{row[k]:.0%} accept {name} marketing" for k, name in (("email_consent", "email"), ("sms_consent", "SMS"))
               if row[k] == row[k]]
    parts += consent
    text = "; ".join(parts) + "."
    if row["top_regions"]:
        text += f" Top regions: {row['top_regions']}."
    return text + " They need a first order (a welcome series), not retention; no churn or CLV describes them."


def column_coverage(profiles: pd.DataFrame, exclude: Sequence[str] = ("profile_id",)) -> pd.DataFrame:
    """Per column: how many profiles have it (`filled`, `filled_share`) and, for numeric columns, the median.

    The aggregate view of the profiles frame a report may show instead of individual rows; non-numeric
    columns get their number of distinct values instead of a median.
    """
    rows = []
    for col in profiles.columns:
        if col in exclude:
            continue
        series = profiles[col]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        rows.append({
            "column": col,
            "filled": int(series.notna().sum()),
            "filled_share": float(series.notna().mean()) if len(series) else np.nan,
            "median": float(series.median()) if numeric and series.notna().any() else np.nan,
            "distinct": np.nan if numeric else int(series.astype(str).where(series.notna()).nunique()),
        })
    return pd.DataFrame(rows, columns=["column", "filled", "filled_share", "median", "distinct"]).set_index("column")


def pareto(values: pd.Series) -> pd.DataFrame:
    """Cumulative share of value against cumulative share of customers, highest value first."""
    v = np.sort(pd.to_numeric(values, errors="coerce").dropna().clip(lower=0).to_numpy(float))[::-1]
    total = v.sum()
    n = len(v)
    return pd.DataFrame({
        "customer_share": np.arange(1, n + 1) / n if n else np.array([]),
        "value_share": np.cumsum(v) / total if total > 0 else np.zeros(n),
    })


def persona_name(tier: str) -> str:
    return f"{persona_prefix()}{tier}"


def _behaviour_sentences(row: pd.Series, known, bands: dict, preferred: str | None) -> list[str]:
    """The persona's sentences on churn, timing, channel, consent and regions, each only when its numbers exist."""
    sentences = []
    if bands:
        sentences.append(f"Churn risk is mostly {max(bands, key=bands.get)}.")
    if known("next_order_30d"):
        sentences.append(f"{row['next_order_30d']:.0%} are expected to order within 30 days.")
    if preferred:
        sentences.append(f"Prefers {preferred}.")
    consent = [f"{row[f'{c}_consent']:.0%} accept {name} marketing" for c, name in (("email", "email"), ("sms", "SMS"))
               if known(f"{c}_consent")]
    if consent:
        sentences.append(f"{consent[0][:1].upper()}{', '.join(consent)[1:]}.")
    if known("top_regions") and row["top_regions"]:
        sentences.append(f"Top regions: {row['top_regions']}.")
    return sentences


def persona_fields(tier: str, row: pd.Series, field: str = "predicted_clv", currency: str = "$") -> dict:
    """Persona content for one tier, written from its numbers (description, goals, pains, channels, cadence).

    A sentence whose numbers are missing (no predictive analytics: no churn, no predicted CLV, no expected
    order dates, no channel affinity) is left out rather than filled with a default, so Mavera is never
    told a made-up fact. Plain keyword values; the Mavera client maps them onto its request shape.
    """
    def known(key):
        value = row.get(key)
        return value is not None and bool(pd.notna(value))

    def money(x):
        return f"{currency}{x:,.0f}"

    cadence = (f"orders about every {row['days_between_orders']:.0f} days"
               if known("days_between_orders") else "mostly single-order customers")
    values = [f"median {label} {money(row[key])}" for key, label in
              (("historic_clv_median", "historic CLV"), ("predicted_clv_median", "predicted CLV"),
               ("aov", "order value")) if known(key)]
    if known("orders"):
        values.append(f"{row['orders']:.1f} orders on average")
    sentences = [
        f"Klaviyo customers in the '{tier}' CLV tier: {int(row['size']):,} people "
        f"({row['share_customers']:.0%} of customers, {row['share_clv']:.0%} of {field.replace('_', ' ')}).",
        (f"{'; '.join(values)[:1].upper()}{'; '.join(values)[1:]}; {cadence}." if values else f"{cadence[:1].upper()}{cadence[1:]}."),
    ]
    bands = {b: float(row[f"churn_{b}"]) for b in ("low", "medium", "high") if known(f"churn_{b}")}
    preferred = row.get("preferred_channel") if known("preferred_channel") else None
    sentences += _behaviour_sentences(row, known, bands, preferred)
    goals = ["get good value on repeat purchases", "hear about products that fit what they already buy"]
    pains = ["irrelevant or too frequent promotions"]
    if bands.get("high", 0.0) >= 0.3:
        pains.append("losing interest in the brand; needs a reason to come back")
    if known("orders") and row["orders"] >= 3:
        goals.append("recognition for loyalty (early access, perks)")
    channels = [c for c in (preferred, "email", "sms") if c]
    return {
        "description": " ".join(sentences),
        "goals": goals,
        "pains": pains,
        "channels": list(dict.fromkeys(channels)),
        "purchase_cadence": cadence,
    }
