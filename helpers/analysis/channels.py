"""Email vs SMS campaign comparison for notebook 05: channel totals, campaign-level tests, intervals, pairs.

Input is the Klaviyo client's campaign-values report (one row per campaign message: `campaign_id,
campaign_message_id, send_channel` + one column per statistic, rates as fractions) joined to the campaigns
frame. `channel_totals` shows each channel's pooled, recipient-weighted figures: sum(rate × delivered) /
sum(delivered) (Klaviyo's campaign rates are all per delivered message; a report without `delivered` falls
back to `recipients`). The tests (`compare_channels`) work at the campaign level instead, because campaigns
differ from each other and the next campaign, not the next recipient, is what a channel decision is about.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from helpers.analysis import stats
from helpers.analysis.money import NO_SYMBOL
from helpers.analysis.money import Money as Currency
from helpers.analysis.wording import p_text, timeframe_text

CHANNELS = ("email", "sms")
# Rates tested as proportions of recipients; for unsubscribes lower is better.
RATE_METRICS = {"click_rate": True, "conversion_rate": True, "unsubscribe_rate": False}
HEADLINE_METRICS = ("click_rate", "conversion_rate", "revenue_per_recipient")
# Order-value spread (coefficient of variation) assumed only when the account has too few orders to measure it.
ORDER_VALUE_CV = 1.0

REPORT_STATISTICS = [
    "recipients",
    "delivered",
    "click_rate",
    "clicks_unique",
    "conversion_rate",
    "conversion_uniques",
    "conversion_value",
    "revenue_per_recipient",
    "unsubscribe_rate",
    "unsubscribe_uniques",
    "text_message_spend",
    "text_message_roi",
]


def campaign_table(report: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """One row per (campaign, channel) with recipients, rates, revenue and the campaign's copy.

    Message rows of one campaign are pooled (weighted by delivered). Only email and SMS rows are kept, and
    only campaigns listed in `campaigns` (the ones sent in the timeframe). Revenue is `conversion_value`
    when reported, else revenue_per_recipient × delivered.
    """
    rows = report[report["send_channel"].isin(CHANNELS)].copy()
    rows = rows[rows["campaign_id"].isin(campaigns["campaign_id"])]
    rows["recipients"] = pd.to_numeric(rows["recipients"], errors="coerce").fillna(0)
    source = rows["delivered"] if "delivered" in rows else rows["recipients"]
    rows["delivered"] = pd.to_numeric(source, errors="coerce").fillna(0)
    rows = rows[rows["delivered"] > 0]
    for metric in RATE_METRICS:
        rows[f"_{metric}"] = rows[metric].astype(float) * rows["delivered"]
    if "conversion_value" in rows:
        rows["revenue"] = rows["conversion_value"].astype(float)
    else:
        rows["revenue"] = rows["revenue_per_recipient"].astype(float) * rows["delivered"]
    # Spend is an SMS cost; email rows report 0, which would read as "email was free" rather than "not reported".
    rows["spend"] = np.nan
    if "text_message_spend" in rows:
        is_sms = rows["send_channel"] == "sms"
        rows.loc[is_sms, "spend"] = rows.loc[is_sms, "text_message_spend"].astype(float)
    sums = {c: "sum" for c in ["recipients", "delivered", "revenue", *(f"_{m}" for m in RATE_METRICS)]}
    sums["spend"] = lambda s: s.sum(min_count=1)
    table = rows.groupby(["campaign_id", "send_channel"], as_index=False).agg(sums)
    for metric in RATE_METRICS:
        table[metric] = table.pop(f"_{metric}") / table["delivered"]
    table["conversions"] = table["conversion_rate"] * table["delivered"]
    table["revenue_per_recipient"] = table["revenue"] / table["delivered"]
    table = table.rename(columns={"send_channel": "channel"})
    copy_columns = [c for c in ("name", "send_time", "subject", "preview_text", "body") if c in campaigns]
    info = campaigns.drop_duplicates("campaign_id")[["campaign_id", *copy_columns]]
    return table.merge(info, on="campaign_id", how="left")


def channel_totals(table: pd.DataFrame) -> pd.DataFrame:
    """Per channel: campaigns, recipients, delivered, pooled rates, revenue per recipient, SMS spend and ROI.

    ROI is pooled revenue / pooled spend (revenue per unit of currency spent), only where spend was
    reported; NaN for email and when the account's report has no SMS spend.
    """
    grouped = table.groupby("channel")
    totals = grouped.agg(
        campaigns=("campaign_id", "nunique"),
        recipients=("recipients", "sum"),
        delivered=("delivered", "sum"),
        revenue=("revenue", "sum"),
        spend=("spend", lambda s: s.sum(min_count=1)),
    )
    for metric in RATE_METRICS:
        weighted = (table[metric] * table["delivered"]).groupby(table["channel"]).sum()
        totals[metric] = weighted / totals["delivered"]
    totals["revenue_per_recipient"] = totals["revenue"] / totals["delivered"]
    with np.errstate(divide="ignore", invalid="ignore"):
        totals["roi"] = np.where(totals["spend"] > 0, totals["revenue"] / totals["spend"], np.nan)
    totals = totals.reindex([c for c in CHANNELS if c in totals.index])
    return totals[
        [
            "campaigns",
            "recipients",
            "delivered",
            "click_rate",
            "conversion_rate",
            "revenue_per_recipient",
            "unsubscribe_rate",
            "revenue",
            "spend",
            "roi",
        ]
    ]


# Klaviyo's default attribution windows (help centre, "Understanding Klaviyo message attribution"): an order
# counts as a conversion of the last message the buyer touched inside that message's window. They are account
# settings (Settings → Attribution) that the API does not report, so the report states the defaults.
ATTRIBUTION_WINDOWS = {
    "email": "within 5 days of an open or a click",
    "sms": "within 5 days of a click or 12 hours of delivery (accounts created before 9 Oct 2024: 24 hours "
           "of a click)",
}
_ATTRIBUTED = {"conversion_rate", "revenue_per_recipient", "average_order_value"}


def attribution_note(metric: str) -> str:
    """Which attribution windows stand behind a metric's numbers (clicks and unsubscribes are not attributed)."""
    if metric not in _ATTRIBUTED:
        return "counted directly, no attribution window"
    return f"email: {ATTRIBUTION_WINDOWS['email']}; SMS: {ATTRIBUTION_WINDOWS['sms']}"


def attribution_line() -> str:
    """One sentence: the windows behind every conversion and revenue figure, and what they do to the comparison."""
    return (
        "**Attribution.** Conversions and revenue are Klaviyo's attributed orders: by Klaviyo's defaults an order "
        f"counts for an email {ATTRIBUTION_WINDOWS['email']}, for an SMS {ATTRIBUTION_WINDOWS['sms']}, and goes to "
        "the last message touched. The two channels are credited under different rules, so a conversion or revenue "
        "difference is partly a difference of windows: email's open-based window credits orders from people who "
        "only opened (machine opens such as Apple Mail Privacy Protection included), SMS's delivery window credits "
        "orders placed within hours of receipt without any click. Click and unsubscribe rates carry no window and "
        "compare like with like. The windows are account settings (Settings → Attribution) that the API does not "
        "report; if yours differ from the defaults, read the comparison with yours."
    )


def order_value_spread(orders=None, fallback: float = ORDER_VALUE_CV) -> tuple[float, str]:
    """`(cv, source)`: the coefficient of variation of the account's order values, and where it comes from.

    `orders`: the Placed Order events (`KlaviyoClient.events`, a `properties` column of dicts with `$value`)
    or any array of order values. With fewer than 30 positive values the spread is not known well enough and
    the named `fallback` is used (the source says so).
    """
    values = np.array([], dtype=float)
    if orders is not None:
        if hasattr(orders, "columns"):
            props = orders["properties"] if "properties" in orders.columns else []
            raw = [p.get("$value") if isinstance(p, dict) else None for p in props]
        else:
            raw = list(np.asarray(orders, dtype=object).ravel())
        values = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(float)
        values = values[np.isfinite(values) & (values > 0)]
    if values.size >= 30:
        cv = float(values.std(ddof=1) / values.mean())
        return cv, f"the spread of this account's {values.size:,} orders (cv {cv:.2f})"
    return float(fallback), f"an assumed order-value spread (cv {fallback:g}: fewer than 30 orders to measure it)"


def _floor_rate(p: float, n: float) -> float:
    """A channel's pooled rate kept off 0 and 1, so campaigns' sampling variances stay positive."""
    return float(np.clip(p, 0.5 / max(n, 1.0), 1 - 0.5 / max(n, 1.0)))


def channel_estimate(table: pd.DataFrame, channel: str, metric: str, cv: float = ORDER_VALUE_CV) -> stats.Estimate:
    """A channel's `metric` at the campaign level (`stats.random_effects_mean` over its campaigns).

    Each campaign's sampling variance is binomial at the channel's pooled rate for rates; for revenue per
    recipient it is the compound "converts × order value" variance at the channel's pooled conversion rate
    and order value with order-value spread `cv`; for average order value (revenue per conversion, over
    campaigns with a conversion) (cv × AOV)² / conversions. The spread between campaigns comes on top.
    """
    part = table[(table["channel"] == channel) & (table["delivered"] > 0)]
    n = part["delivered"].to_numpy(float)
    conversions = (part["conversion_rate"] * part["delivered"]).to_numpy(float)
    revenue = part["revenue"].to_numpy(float)
    if metric in RATE_METRICS:
        rate = _floor_rate(stats.pooled_rate(part[metric] * n, n), n.sum())
        return stats.random_effects_mean(part[metric], rate * (1 - rate) / n)
    p = _floor_rate(stats.pooled_rate(conversions, n), n.sum())
    aov = revenue.sum() / conversions.sum() if conversions.sum() > 0 else 1.0
    if metric == "revenue_per_recipient":
        per_recipient = p * aov**2 * (1 + cv**2) - (p * aov) ** 2
        return stats.random_effects_mean(revenue / n, max(per_recipient, 1e-12) / n)
    if metric == "average_order_value":
        has = conversions >= 0.5
        return stats.random_effects_mean(revenue[has] / conversions[has], (cv * aov) ** 2 / conversions[has])
    raise ValueError(f"unknown metric {metric!r}")


def _effective_counts(est: stats.Estimate, z: float, t: float) -> tuple[float, float]:
    """(successes, trials) of a binomial sample as informative as this estimate at the test's df.

    Why: Newcombe's interval is for binomial counts; a channel's campaigns carry less information than its
    recipients (they differ from each other), so the counts shrink by the design effect, and by (t / z)²
    so the interval is as wide as the t-test with few campaigns says.
    """
    p = float(np.clip(est.mean, 1e-9, 1 - 1e-9))
    n = p * (1 - p) / est.variance * (z / t) ** 2
    return p * n, n


def compare_channels(
    table: pd.DataFrame,
    alpha: float = 0.05,
    order_values=None,
    order_value_cv: float = ORDER_VALUE_CV,
    power: float = 0.8,
) -> pd.DataFrame:
    """SMS vs email per metric at the campaign level: estimate, interval, test, winner, detectable effect.

    Why campaign level: recipients of one campaign share its creative, offer, audience and moment, and
    campaigns differ from each other far more than binomial sampling allows. A pooled test that counts every
    recipient as independent reads that spread as a channel effect (on simulated accounts with equal
    channels it called a difference "significant" in about 95 of 100). A decision like "send more SMS" is
    about the next campaigns, so the campaigns are the unit: each channel's value is the random-effects mean
    of its campaigns (`stats.random_effects_mean`: each campaign weighs by its audience only as far as the
    spread between campaigns allows) and SMS − email is a Welch t-test on the two means with
    Welch–Satterthwaite degrees of freedom (`stats.difference_test`).

    Rates (click, conversion, unsubscribe): the interval of SMS − email is Newcombe's hybrid score interval
    (statsmodels `confint_proportions_2indep`) on each channel's effective counts, which stays sound at
    unsubscribe-like rates. Revenue per recipient: campaigns' sampling variances use the account's own
    order-value spread — `order_values` (the Placed Order events or their values, `order_value_spread`) —
    or, without them, the named fallback `order_value_cv`; the spread between campaigns is estimated from
    the campaigns themselves, so a wrong cv moves the weights, not the validity. Interval: difference ± t × SE.

    The four tests are one family ("does the channel matter?"), Holm-adjusted (`p_adjusted`);
    `significant` = p_adjusted < alpha. `mde` is the smallest difference this many campaigns would find
    with probability `power` at the level Holm's first step needs (alpha / 4): when nothing is significant,
    the report can say what could have been seen. `attribution` names the windows behind the numbers.
    A channel with fewer than two campaigns cannot be tested (p is NaN, never significant).
    """
    totals = channel_totals(table)
    missing = [c for c in CHANNELS if c not in totals.index]
    if missing:
        raise ValueError(
            f"No {' or '.join(missing)} campaigns with deliveries in the timeframe; widen the timeframe."
        )
    cv, cv_source = order_value_spread(order_values, order_value_cv)
    metrics = [*RATE_METRICS, "revenue_per_recipient"]
    rows = [_metric_row(table, metric, alpha, cv, cv_source, power, len(metrics)) for metric in metrics]
    result = pd.DataFrame(rows)
    result.insert(result.columns.get_loc("p_value") + 1, "p_adjusted", stats.holm(result["p_value"].to_numpy()))
    result["significant"] = result["p_adjusted"] < alpha
    return result.set_index("metric")


def _metric_row(table, metric, alpha, cv, cv_source, power, family) -> dict:
    email, sms = (channel_estimate(table, c, metric, cv) for c in CHANNELS)
    test = stats.difference_test(email, sms)
    diff, se, df = test["difference"], test["se"], test["df"]
    z, t = sps.norm.ppf(1 - alpha / 2), sps.t.ppf(1 - alpha / 2, df) if np.isfinite(df) else np.nan
    if not np.isfinite(se):
        low = high = np.nan
    elif metric in RATE_METRICS and se > 0:
        (x_e, n_e), (x_s, n_s) = (_effective_counts(e, z, t) for e in (email, sms))
        low, high = confint_proportions_2indep(x_s, n_s, x_e, n_e, method="newcomb", compare="diff", alpha=alpha)
    else:
        low, high = diff - t * se, diff + t * se
    higher_is_better = RATE_METRICS.get(metric, True)
    label = f"campaign-level t ({email.k} email, {sms.k} SMS campaigns; random effects)"
    if metric == "revenue_per_recipient":
        label += f"; order values: {cv_source}"
    return {
        "metric": metric, "email": email.mean, "sms": sms.mean, "difference": diff,
        "ci_low": float(low), "ci_high": float(high), "p_value": test["p_value"],
        "winner": "sms" if (diff > 0) == higher_is_better and diff != 0 else "email",
        "test": label, "campaigns_email": email.k, "campaigns_sms": sms.k,
        "mde": stats.minimum_detectable(se, df, alpha / family, power),
        "attribution": attribution_note(metric),
    }


def winners(comparison: pd.DataFrame) -> tuple[dict[str, str], dict[str, bool]]:
    """The recorded `winner_by_metric` and `significant` dicts for the three headline metrics."""
    winner = {m: str(comparison.loc[m, "winner"]) for m in HEADLINE_METRICS}
    significant = {m: bool(comparison.loc[m, "significant"]) for m in HEADLINE_METRICS}
    return winner, significant


def channel_intervals(
    table: pd.DataFrame, alpha: float = 0.05, order_values=None, order_value_cv: float = ORDER_VALUE_CV
) -> pd.DataFrame:
    """Per channel and metric: the campaign-level value of `compare_channels` with a (1 − alpha) interval.

    Rates: Wilson's interval (statsmodels `proportion_confint`) on the channel's effective counts (see
    `_effective_counts`), sound near 0 where SMS unsubscribe rates live; revenue per recipient: value ± t × SE
    with k − 1 degrees of freedom. A channel with one campaign has no interval (NaN).
    """
    cv, _ = order_value_spread(order_values, order_value_cv)
    z = sps.norm.ppf(1 - alpha / 2)
    rows = []
    for channel in CHANNELS:
        for metric in [*RATE_METRICS, "revenue_per_recipient"]:
            est = channel_estimate(table, channel, metric, cv)
            low = high = float("nan")
            if est.df > 0 and np.isfinite(est.variance) and est.variance > 0:
                t = sps.t.ppf(1 - alpha / 2, est.df)
                if metric in RATE_METRICS:
                    x, n = _effective_counts(est, z, t)
                    low, high = proportion_confint(x, n, alpha=alpha, method="wilson")
                else:
                    low, high = est.mean - t * np.sqrt(est.variance), est.mean + t * np.sqrt(est.variance)
            rows.append((channel, metric, est.mean, float(low), float(high)))
    return pd.DataFrame(rows, columns=["channel", "metric", "value", "low", "high"])


_CHANNEL_WORDS = re.compile(r"\b(e-?mail|sms|text( message)?)\b", re.IGNORECASE)


def pairing_key(name: str) -> str:
    """A campaign name without its channel words and punctuation: "Flash Sale (SMS)" → "flash sale"."""
    text = _CHANNEL_WORDS.sub(" ", str(name).lower())
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def paired_campaigns(table: pd.DataFrame) -> pd.DataFrame:
    """Campaigns that ran on both channels, matched by `pairing_key(name)`, one row per pair.

    Columns: `campaign` (the shared key), `email_campaign` and `sms_campaign` (the campaigns' own names, for
    tables), `email_campaign_id`, `sms_campaign_id`, then `<metric>_email`,
    `<metric>_sms` and `<metric>_diff` (sms − email) for click, conversion, revenue per recipient and
    unsubscribes. A name used by several campaigns of one channel is pooled (weighted by delivered).
    """
    metrics = [*RATE_METRICS, "revenue_per_recipient"]
    keyed = table.assign(campaign=table["name"].map(pairing_key))
    keyed = keyed[keyed["campaign"] != ""]
    per = {}
    for channel in CHANNELS:
        part = keyed[keyed["channel"] == channel]
        weighted = part[metrics].mul(part["delivered"], axis=0).groupby(part["campaign"]).sum()
        frame = weighted.div(part.groupby("campaign")["delivered"].sum(), axis=0).add_suffix(f"_{channel}")
        recipients = part.groupby("campaign")["recipients"].sum()
        frame[f"{channel}_campaign_id"] = part.groupby("campaign")["campaign_id"].first()
        frame[f"{channel}_campaign"] = part.groupby("campaign")["name"].first()
        frame[f"recipients_{channel}"] = recipients
        per[channel] = frame
    pairs = per["email"].join(per["sms"], how="inner")
    for metric in metrics:
        pairs[f"{metric}_diff"] = pairs[f"{metric}_sms"] - pairs[f"{metric}_email"]
    ordered = [
        "email_campaign",
        "sms_campaign",
        "email_campaign_id",
        "sms_campaign_id",
        "recipients_email",
        "recipients_sms",
    ]
    ordered += [f"{m}_{s}" for m in metrics for s in ("email", "sms", "diff")]
    return pairs[ordered].rename_axis("campaign").reset_index()


METRIC_LABELS = {
    "click_rate": "click rate",
    "conversion_rate": "conversion rate",
    "revenue_per_recipient": "revenue per recipient",
}


def channel_name(channel: str) -> str:
    return channel.upper() if channel == "sms" else channel


def consent_line(consent: pd.DataFrame | None) -> str:
    """One sentence on how many profiles can receive email and SMS marketing (`email_consent`, `sms_consent`).

    None means consent was not counted (the notebook's `count_consent = False`).
    """
    if consent is None:
        return "Consent was not counted (`count_consent = False`)."
    if not len(consent):
        return "No profiles found."
    email, sms = consent["email_consent"], consent["sms_consent"]
    return (
        f"Of {len(consent):,} profiles, **{int(email.sum()):,} ({email.mean():.0%}) can receive email marketing** "
        f"and **{int(sms.sum()):,} ({sms.mean():.0%}) can receive SMS marketing**; SMS results below are over "
        "that consented audience only."
    )


def sms_wins(paired: pd.DataFrame) -> dict[str, int]:
    """Per headline metric, how many of the `paired_campaigns` did better on SMS than on email."""
    return {m: int((paired[f"{m}_diff"] > 0).sum()) for m in HEADLINE_METRICS}


def paired_line(paired: pd.DataFrame) -> str:
    """One sentence on the campaigns sent on both channels: how often SMS beat email on each headline metric."""
    if paired.empty:
        return "No campaign ran on both channels in this timeframe."
    wins = sms_wins(paired)
    return (
        f"{len(paired)} campaigns ran on both channels. SMS beat email on click rate in {wins['click_rate']}, "
        f"on conversion rate in {wins['conversion_rate']} and on revenue per recipient in "
        f"{wins['revenue_per_recipient']} of them."
    )


def text_of(value) -> str:
    """A copy field as text; a missing one (None, NaN or NA in a pandas row) is empty, never "nan"."""
    return "" if pd.api.types.is_scalar(value) and pd.isna(value) else str(value)


def _formatter(metric: str, currency: Currency):
    if metric in ("revenue_per_recipient", "average_order_value"):
        return lambda v: currency.format(v, 3 if metric == "revenue_per_recipient" else 2)
    return "{:.2%}".format


def detectable_line(comparison: pd.DataFrame, currency: Currency | None = None) -> str | None:
    """When no headline metric is significant: the differences these campaigns could have detected.

    `mde` (`compare_channels`) is the smallest true SMS − email difference found with 80 % probability at
    this number of campaigns; "no significant difference" means nothing smaller than that was ruled out.
    None when a headline metric is significant or no `mde` is known.
    """
    if "mde" not in comparison or comparison.loc[list(HEADLINE_METRICS), "significant"].any():
        return None
    currency = currency or NO_SYMBOL
    parts = []
    for metric in HEADLINE_METRICS:
        row = comparison.loc[metric]
        if not np.isfinite(row["mde"]):
            continue
        if metric == "revenue_per_recipient":
            size = currency.format(row["mde"], 3)
        else:
            size = f"{row['mde'] * 100:.2f} percentage points"
        share = f" ({row['mde'] / row['email']:.0%} of email's)" if row["email"] > 0 else ""
        parts.append(f"{METRIC_LABELS[metric]} {size}{share}")
    if not parts:
        return None
    first = comparison.iloc[0]
    return (
        f"- No difference is significant, which is not the same as no difference: with "
        f"{int(first['campaigns_email'])} email and {int(first['campaigns_sms'])} SMS campaigns, the smallest "
        "differences these tests would find 4 times in 5 are " + "; ".join(parts) + ". Smaller ones may exist; "
        "more campaigns (a longer timeframe) narrow them."
    )


def summary_lines(
    comparison: pd.DataFrame,
    totals: pd.DataFrame,
    paired: pd.DataFrame,
    email_campaigns: int,
    sms_campaigns: int,
    timeframe: str,
    significance: float,
    verdict: str | None = None,
    currency: Currency | None = None,
    paired_tests: pd.DataFrame | None = None,
) -> list[str]:
    """Markdown bullets on the channel numbers: first the channel the numbers favour — or, given `verdict`
    (`channel_revenue.verdict_sentence`), that sentence instead — then each headline metric's winner and test,
    what the tests could have detected when nothing is significant, the campaigns counted, SMS ROI, paired
    campaigns (with their paired test when `paired_tests` is given, `channel_pairs.paired_tests`) and the
    attribution windows. The verdict leads because the report shows the first findings and folds the rest: the
    data's answer (with its unsubscribe cost) must never fold away beside a persona-based next step. Money is
    in `currency` (the report's `job.currency`; without it, bare numbers: `money.NO_SYMBOL`)."""
    currency = currency or NO_SYMBOL
    if verdict:
        lines = [f"- **Verdict:** {verdict}"]
    else:
        lines = [f"- The numbers favour **{data_channel(comparison) or 'neither channel clearly'}**."]
    counted = (
        f"- {email_campaigns} email and {sms_campaigns} SMS campaigns in {timeframe_text(timeframe)}; "
        "SMS figures are over consented SMS audiences only. Each campaign is one observation: the tests ask "
        "whether the channel differs beyond how much campaigns differ from each other."
    )
    for metric in HEADLINE_METRICS:
        row = comparison.loc[metric]
        win, lose = ("sms", "email") if row["winner"] == "sms" else ("email", "sms")
        fmt = _formatter(metric, currency)
        p_adjusted = row["p_adjusted"] if "p_adjusted" in row else row["p_value"]
        test_note = (
            f"(significant, Holm-adjusted {p_text(p_adjusted)})."
            if row["significant"]
            else f"(not significant at {significance:g} after the Holm correction)."
        )
        lines.append(
            f"- **{METRIC_LABELS[metric]}**: {channel_name(win)} wins, "
            f"{fmt(row[win])} vs {fmt(row[lose])} {test_note}"
        )
    detectable = detectable_line(comparison, currency)
    if detectable:
        lines.append(detectable)
    lines.append(counted)
    sms_roi = totals["roi"].get("sms", np.nan)
    if np.isfinite(sms_roi):
        lines.append(
            f"- SMS spend {currency.format(totals.loc['sms', 'spend'])} returned "
            f"{currency.format(totals.loc['sms', 'revenue'], 0)} ({sms_roi:.1f}× revenue per unit spent)."
        )
    if not paired.empty:
        line = (f"- Of {len(paired)} campaigns sent on both channels, SMS converted better in "
                f"{sms_wins(paired)['conversion_rate']}")
        if paired_tests is not None and "conversion_rate" in paired_tests.index:
            row = paired_tests.loc["conversion_rate"]
            line += (f"; over the pairs the difference is {'' if row['significant'] else 'not '}significant "
                     f"(paired t, Holm-adjusted {p_text(row['p_adjusted'])})")
        lines.append(line + ".")
    lines.append("- " + attribution_line())
    return lines


def data_channel(comparison: pd.DataFrame) -> str | None:
    """The channel the numbers favour: the winner of the most valuable significant metric.

    Priority is revenue per recipient, then conversion rate, then click rate (money over intent);
    None when no headline difference is significant.
    """
    for metric in ("revenue_per_recipient", "conversion_rate", "click_rate"):
        if bool(comparison.loc[metric, "significant"]):
            return str(comparison.loc[metric, "winner"])
    return None


def pooled_aov(table: pd.DataFrame) -> dict[str, float]:
    """Per channel, every campaign's revenue over every campaign's conversions: the recorded `aov_by_channel`
    (what the account's orders from each channel were worth on average, not a test's estimate)."""
    out = {}
    for channel in CHANNELS:
        part = table[table["channel"] == channel]
        conversions = float(part["conversions"].sum()) if len(part) else 0.0
        out[channel] = float(part["revenue"].sum()) / conversions if conversions > 0 else float("nan")
    return out
