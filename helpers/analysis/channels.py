"""Email vs SMS campaign comparison for notebook 05: pooled rates, significance, intervals, pairs, verdicts.

Input is the Klaviyo client's campaign-values report (one row per campaign message: `campaign_id,
campaign_message_id, send_channel` + one column per statistic, rates as fractions) joined to the campaigns
frame. Every channel figure is recipient-weighted: sum(rate × delivered) / sum(delivered), i.e. the rate
of the pooled audience, so a campaign sent to 50 000 people weighs 100 times one sent to 500. The weight is
the delivered count because Klaviyo's campaign rates (click, conversion, unsubscribe, revenue per
recipient) are all per delivered message; a report without `delivered` falls back to `recipients`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats as sps

from helpers.analysis import stats
from helpers.analysis.focus_groups import MIN_ANSWERS, note_line
from helpers.analysis.wording import p_text, timeframe_text

CHANNELS = ("email", "sms")
# Rates tested as proportions of recipients; for unsubscribes lower is better.
RATE_METRICS = {"click_rate": True, "conversion_rate": True, "unsubscribe_rate": False}
HEADLINE_METRICS = ("click_rate", "conversion_rate", "revenue_per_recipient")
# Order-value spread assumed by the revenue test (see stats.revenue_per_recipient_ztest).
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


def _revenue_se(revenue, conversions, recipients, cv: float = ORDER_VALUE_CV):
    """Standard error of revenue per recipient under the compound model of stats.revenue_per_recipient_ztest."""
    revenue, conversions, recipients = (
        np.asarray(v, dtype=float) for v in (revenue, conversions, recipients)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        p = conversions / recipients
        mu = np.where(conversions > 0, revenue / conversions, 0.0)
        var = np.clip(p * mu**2 * (1 + cv**2) - (p * mu) ** 2, 0.0, None)
        return np.sqrt(var / recipients)


def compare_channels(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """SMS vs email per metric, with a two-sided test and the winner.

    Rates (click, conversion, unsubscribe): two-proportion z-test on the pooled counts (successes =
    Σ rate × delivered per channel, trials = Σ delivered), pooled-variance SE under H0; the CI is the unpooled
    Wald interval of sms − email. Revenue per recipient: the per-recipient revenue is a compound of
    "converts" (binomial) and "order value" (spread cv = ORDER_VALUE_CV), so we use the compound-model
    z-test of `stats.revenue_per_recipient_ztest`; it uses the very totals the report gives (revenue,
    converters, recipients), where a t-test on per-campaign RPR would only have a handful of campaigns
    per channel and would test campaign-to-campaign spread rather than the channel's audience.
    `winner` is the channel with the better value (higher, or lower for unsubscribe_rate) whether or not
    the difference is significant. The four tests are one family (one question: "does the channel
    matter?"), so `p_adjusted` is Holm's step-down adjustment across them and `significant` is
    p_adjusted < alpha: the chance of any false "significant" among the four stays at alpha. The
    intervals are per metric (unadjusted). Needs both channels present.
    """
    totals = channel_totals(table)
    missing = [c for c in CHANNELS if c not in totals.index]
    if missing:
        raise ValueError(
            f"No {' or '.join(missing)} campaigns with deliveries in the timeframe; widen the timeframe."
        )
    email, sms = totals.loc["email"], totals.loc["sms"]
    z_crit = sps.norm.ppf(1 - alpha / 2)
    rows = []
    for metric, higher_is_better in RATE_METRICS.items():
        x1, n1 = email[metric] * email["delivered"], email["delivered"]
        x2, n2 = sms[metric] * sms["delivered"], sms["delivered"]
        _, p = stats.two_proportion_ztest(x2, n2, x1, n1, alternative="two-sided")
        se = np.sqrt(email[metric] * (1 - email[metric]) / n1 + sms[metric] * (1 - sms[metric]) / n2)
        rows.append(
            _row(
                metric, email[metric], sms[metric], se, float(p), z_crit, higher_is_better, "two-proportion z"
            )
        )
    conv = {c: totals.loc[c, "conversion_rate"] * totals.loc[c, "delivered"] for c in CHANNELS}
    _, p = stats.revenue_per_recipient_ztest(
        sms["revenue"], conv["sms"], sms["delivered"], email["revenue"], conv["email"], email["delivered"],
        order_value_cv=ORDER_VALUE_CV, alternative="two-sided",
    )  # fmt: skip
    se = np.hypot(
        _revenue_se(email["revenue"], conv["email"], email["delivered"]),
        _revenue_se(sms["revenue"], conv["sms"], sms["delivered"]),
    )
    rows.append(
        _row(
            "revenue_per_recipient",
            email["revenue_per_recipient"],
            sms["revenue_per_recipient"],
            float(se),
            float(p),
            z_crit,
            True,
            "compound-model z",
        )
    )
    result = pd.DataFrame(rows)
    result.insert(
        result.columns.get_loc("p_value") + 1, "p_adjusted", stats.holm(result["p_value"].to_numpy())
    )
    result["significant"] = result["p_adjusted"] < alpha
    return result.set_index("metric")


def _row(metric, email, sms, se, p, z_crit, higher_is_better, test):
    diff = float(sms - email)
    sms_better = diff > 0 if higher_is_better else diff < 0
    return {
        "metric": metric,
        "email": float(email),
        "sms": float(sms),
        "difference": diff,
        "ci_low": diff - z_crit * se,
        "ci_high": diff + z_crit * se,
        "p_value": p,
        "winner": "sms" if sms_better else "email",
        "test": test,
    }


def winners(comparison: pd.DataFrame) -> tuple[dict[str, str], dict[str, bool]]:
    """The recorded `winner_by_metric` and `significant` dicts for the three headline metrics."""
    winner = {m: str(comparison.loc[m, "winner"]) for m in HEADLINE_METRICS}
    significant = {m: bool(comparison.loc[m, "significant"]) for m in HEADLINE_METRICS}
    return winner, significant


def channel_intervals(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per channel and metric: value with a (1 − alpha) interval, for charts.

    Rates use the Wilson score interval (sound near 0, where SMS unsubscribe rates live); revenue per
    recipient uses the normal interval with the compound-model standard error.
    """
    totals = channel_totals(table)
    z = sps.norm.ppf(1 - alpha / 2)
    rows = []
    for channel, t in totals.iterrows():
        n = t["delivered"]
        for metric in RATE_METRICS:
            k = int(round(t[metric] * n))
            ci = sps.binomtest(k, int(n)).proportion_ci(confidence_level=1 - alpha, method="wilson")
            rows.append((channel, metric, t[metric], ci.low, ci.high))
        se = float(_revenue_se(t["revenue"], t["conversion_rate"] * n, n))
        rpr = t["revenue_per_recipient"]
        rows.append((channel, "revenue_per_recipient", rpr, rpr - z * se, rpr + z * se))
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


def data_channel(comparison: pd.DataFrame) -> str | None:
    """The channel the numbers favour: the winner of the most valuable significant metric.

    Priority is revenue per recipient, then conversion rate, then click rate (money over intent);
    None when no headline difference is significant.
    """
    for metric in ("revenue_per_recipient", "conversion_rate", "click_rate"):
        if bool(comparison.loc[metric, "significant"]):
            return str(comparison.loc[metric, "winner"])
    return None


def channel_recommendations(
    persona_scores: pd.DataFrame,
    preferences: pd.DataFrame,
    comparison: pd.DataFrame,
    act: str = "act",
    min_n: int = MIN_ANSWERS,
) -> pd.DataFrame:
    """The pooled data's channel and each persona's channel side by side, combined by a stated rule.

    `persona_scores`: `focus_groups.scores_by(..., by=["persona_id", "subject"])` where subject is the
    channel ("email"/"sms"), `act` the NPS-scale likelihood to act and `n` the respondents. `preferences`:
    `choice_shares` by persona, columns = options (those naming a channel count for it). A persona
    `prefers` the channel its respondents picked most; on a tie or a "both"/"either" answer, the channel
    with the higher likelihood to act. Its preference counts only with at least `min_n` respondents.

    `data_favours` is the pooled audience's channel (`data_channel`: a significant winner, else None).
    The rule, spelled out in `basis`: both point the same way → that channel; only one has a signal →
    that one (a persona-only call is directional); they disagree → "test both" (the pooled data speaks
    for the average recipient, the persona for its segment, so an A/B test on that segment decides);
    neither → "either (no clear signal)". `agree` is None when either side has no signal.
    """
    favoured = data_channel(comparison)
    act_by = persona_scores.pivot_table(index="persona_id", columns="subject", values=act, aggfunc="first")
    counts = (
        persona_scores.groupby("persona_id")["n"].max() if "n" in persona_scores else pd.Series(dtype=float)
    )
    rows = []
    for persona_id in act_by.index.union(preferences.index):
        shares = {c: 0.0 for c in CHANNELS}
        if persona_id in preferences.index:
            for option, share in preferences.loc[persona_id].items():
                channel = _option_channel(option)
                if channel:
                    shares[channel] += float(share)
        acts = {
            c: float(act_by.loc[persona_id, c]) if persona_id in act_by.index and c in act_by else np.nan
            for c in CHANNELS
        }
        if shares["email"] != shares["sms"]:
            prefers = max(CHANNELS, key=shares.get)
        elif not np.isnan(acts["email"]) and not np.isnan(acts["sms"]) and acts["email"] != acts["sms"]:
            prefers = max(CHANNELS, key=acts.get)
        else:
            prefers = None
        n = int(counts.get(persona_id, 0) or 0)
        persona = prefers if n >= min_n else None
        recommendation, basis = _combine(favoured, prefers, persona, n, min_n)
        rows.append(
            {
                "persona_id": persona_id,
                "n": n,
                "prefers": prefers,
                "email_share": shares["email"],
                "sms_share": shares["sms"],
                "act_nps_email": acts["email"],
                "act_nps_sms": acts["sms"],
                "data_favours": favoured,
                "recommendation": recommendation,
                "basis": basis,
                "agree": None if favoured is None or persona is None else favoured == persona,
            }
        )
    return pd.DataFrame(rows)


def _combine(
    data: str | None, prefers: str | None, persona: str | None, n: int, min_n: int
) -> tuple[str, str]:
    """(recommendation, basis) from the data's channel and the persona's (counted) channel."""
    if prefers and persona is None:
        quiet = f"the persona leans {_channel_name(prefers)} on only {n} answers (fewer than {min_n})"
    else:
        quiet = "the persona shows no preference"
    if data and persona:
        if data == persona:
            return data, "pooled data and persona agree"
        return "test both", (
            f"pooled data favours {_channel_name(data)}, the persona prefers {_channel_name(persona)}: "
            "A/B test this segment"
        )
    if data:
        return data, f"pooled data only ({quiet})"
    if persona:
        return persona, "persona preference only (directional: the pooled data shows no significant winner)"
    return "either (no clear signal)", f"no significant winner in the data and {quiet}"


def _option_channel(option: str) -> str | None:
    text = str(option).lower()
    has_email, has_sms = "email" in text or "e-mail" in text, "sms" in text or "text" in text
    if has_email != has_sms:
        return "email" if has_email else "sms"
    return None


def best_creative(
    table: pd.DataFrame, channel: str, metric: str = "conversion_rate", min_delivered: int = 500
) -> pd.Series:
    """The channel's campaign with the best `metric` among those delivered to at least `min_delivered`.

    Ties go to the larger audience. Raises ValueError (one sentence) when no campaign qualifies.
    """
    pool = table[(table["channel"] == channel) & (table["delivered"] >= min_delivered)]
    if pool.empty:
        raise ValueError(f"No {channel} campaign reached {min_delivered} deliveries; lower min_delivered.")
    return pool.sort_values([metric, "delivered"], ascending=[False, False]).iloc[0]


METRIC_LABELS = {
    "click_rate": "click rate",
    "conversion_rate": "conversion rate",
    "revenue_per_recipient": "revenue per recipient",
}


def _channel_name(channel: str) -> str:
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


def _text(value) -> str:
    """A copy field as text; a missing one (None, NaN or NA in a pandas row) is empty, never "nan"."""
    return "" if pd.api.types.is_scalar(value) and pd.isna(value) else str(value)


def creative_context(best_email: pd.Series, best_sms: pd.Series) -> str:
    """The focus-group stimulus: the best email's subject and preview and the best SMS's body, verbatim."""
    return (
        "Two real messages from our shop.\n"
        f"EMAIL (campaign '{best_email['name']}'): subject \"{_text(best_email['subject'])}\"; "
        f'preview "{_text(best_email["preview_text"])}".\n'
        f"SMS (campaign '{best_sms['name']}'): \"{_text(best_sms['body'])}\""
    )


def recommendation_table(
    scores: pd.DataFrame,
    shares: pd.DataFrame,
    comparison: pd.DataFrame,
    names: dict[str, str],
    min_n: int = MIN_ANSWERS,
) -> pd.DataFrame:
    """`channel_recommendations` with each persona's name and mean `relevance_<channel>`/`intrusiveness_<channel>`.

    `scores` is `focus_groups.scores_by(..., by=["persona_id", "subject"])` (subject = channel) with `act`,
    `relevance` and `intrusiveness` measures; `shares` the `choice_shares` by persona.
    """
    recommendations = channel_recommendations(scores, shares, comparison, act="act", min_n=min_n)
    feel = scores.pivot_table(index="persona_id", columns="subject", values=["relevance", "intrusiveness"])
    feel.columns = [f"{m}_{c}" for m, c in feel.columns]
    recommendations = recommendations.merge(feel, left_on="persona_id", right_index=True, how="left")
    recommendations.insert(1, "persona", recommendations["persona_id"].map(names))
    return recommendations


def summary_lines(
    comparison: pd.DataFrame,
    totals: pd.DataFrame,
    paired: pd.DataFrame,
    email_campaigns: int,
    sms_campaigns: int,
    timeframe: str,
    significance: float,
    verdict: str | None = None,
) -> list[str]:
    """Markdown bullets on the channel numbers: each headline metric's winner and test, SMS ROI, paired
    campaigns and the channel the numbers favour — or, given `verdict` (`channel_revenue.verdict_sentence`:
    which factor drives revenue per recipient and what it costs in unsubscribes), that sentence instead, since
    "the numbers favour email" alone hides both."""
    lines = [
        f"- {email_campaigns} email and {sms_campaigns} SMS campaigns in {timeframe_text(timeframe)}; "
        "SMS figures are over consented SMS audiences only."
    ]
    for metric in HEADLINE_METRICS:
        row = comparison.loc[metric]
        win, lose = ("sms", "email") if row["winner"] == "sms" else ("email", "sms")
        fmt = "${:.3f}" if metric == "revenue_per_recipient" else "{:.2%}"
        p_adjusted = row["p_adjusted"] if "p_adjusted" in row else row["p_value"]
        test_note = (
            f"(significant, Holm-adjusted {p_text(p_adjusted)})."
            if row["significant"]
            else f"(not significant at {significance:g} after the Holm correction)."
        )
        lines.append(
            f"- **{METRIC_LABELS[metric]}**: {_channel_name(win)} wins, "
            f"{fmt.format(row[win])} vs {fmt.format(row[lose])} {test_note}"
        )
    sms_roi = totals["roi"].get("sms", np.nan)
    if np.isfinite(sms_roi):
        lines.append(
            f"- SMS spend ${totals.loc['sms', 'spend']:,.2f} returned ${totals.loc['sms', 'revenue']:,.0f} "
            f"({sms_roi:.1f}× revenue per unit spent)."
        )
    if not paired.empty:
        lines.append(
            f"- Of {len(paired)} campaigns sent on both channels, SMS converted better in "
            f"{sms_wins(paired)['conversion_rate']}."
        )
    if verdict:
        lines.append(f"- **Verdict:** {verdict}")
    else:
        lines.append(f"- The numbers favour **{data_channel(comparison) or 'neither channel clearly'}**.")
    return lines


def recommendation_lines(recommendations: pd.DataFrame, mavera_note: str | None = None) -> list[str]:
    """Markdown bullets on the per-persona recommendations and where personas and data disagree.

    `recommendations` is `recommendation_table(...)`; without rows the bullet is `mavera_note` (why the
    focus group has no answers), or nothing.
    """
    if not len(recommendations):
        return [note_line(mavera_note)] if mavera_note else []
    # `agree` is None where either side has no preference: that is not a disagreement.
    disagree = recommendations[recommendations["agree"].isin([False])]
    return [
        "- Recommendation per persona (persona answers are directional): "
        + "; ".join(
            f"{r.persona}: **{_channel_name(r.recommendation)}** ({r.basis}, n = {r.n})"
            for r in recommendations.itertuples()
        )
        + ".",
        f"- Personas and data disagree for {len(disagree)} of {len(recommendations)} personas"
        + (": " + ", ".join(disagree["persona"]) + "." if len(disagree) else "."),
    ]
