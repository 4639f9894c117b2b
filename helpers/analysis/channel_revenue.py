"""Why one channel earns more per recipient (notebook 05): conversion rate × average order value, the
unsubscribe cost, and the one-sentence verdict that follows from them.

Klaviyo's revenue per recipient is per delivered message, so for a channel with n deliveries, k
conversions and revenue R it splits exactly:

    R / n  =  (k / n)  ×  (R / k)
    revenue per recipient = conversion rate × average order value (revenue per conversion)

"SMS converts better in 14 of 14 campaigns, yet email earns more per recipient" is only a puzzle until
the second factor is shown: the verdict must name which factor drives the difference, with each factor's
interval and test, and weigh what the winning channel costs in unsubscribes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from helpers.analysis import stats
from helpers.analysis.channels import (
    CHANNELS,
    ORDER_VALUE_CV,
    channel_estimate,
    channel_name,
    order_value_spread,
)
from helpers.analysis.money import NO_SYMBOL
from helpers.analysis.money import Money as Currency

__all__ = [
    "FACTORS",
    "factor_table",
    "revenue_decomposition",
    "revenue_driver",
    "unsubscribe_cost",
    "verdict_sentence",
]

FACTORS = ("conversion_rate", "average_order_value")
_COLUMNS = [
    "email", "sms", "email_low", "email_high", "sms_low", "sms_high", "ratio", "difference", "ci_low",
    "ci_high", "p_value", "p_adjusted", "significant", "test",
]


def _campaigns(table: pd.DataFrame, conversions: str) -> pd.DataFrame:
    missing = {"channel", "delivered", "revenue", conversions} - set(table.columns)
    if missing:
        raise ValueError(f"revenue_decomposition needs columns {sorted(missing)}; pass channels.campaign_table(...).")
    rows = table[table["delivered"] > 0]
    absent = [c for c in CHANNELS if not (rows["channel"] == c).any()]
    if absent:
        raise ValueError(f"No {' or '.join(absent)} deliveries to decompose; widen the timeframe.")
    rows = rows.assign(conversions=pd.to_numeric(rows[conversions], errors="coerce").fillna(0.0))
    return rows.assign(conversion_rate=rows["conversions"] / rows["delivered"])


def _order_source(order_values):
    """The account's orders for `order_value_spread`: events, an array, or {channel: values} (pooled)."""
    if isinstance(order_values, Mapping):
        arrays = [np.asarray(v, dtype=float).ravel() for v in order_values.values() if v is not None]
        return np.concatenate(arrays) if arrays else None
    return order_values


def revenue_decomposition(
    table: pd.DataFrame,
    alpha: float = 0.05,
    order_values=None,
    comparison: pd.DataFrame | None = None,
    order_value_cv: float = ORDER_VALUE_CV,
    conversions: str = "conversions",
) -> pd.DataFrame:
    """Revenue per recipient and its two factors per channel, each with intervals and an SMS − email test.

    Why: a revenue winner can win on how many recipients buy or on how much each order is worth; the two
    call for different actions (more sends vs bigger baskets), so each factor gets its own interval and test.

    `table` has one row per campaign and channel (`channels.campaign_table`: `channel, delivered,
    conversions, revenue`; pass `conversions="orders"` for a column of order counts). Rows (index
    `factor`): `conversion_rate` (k / n), `average_order_value` (R / k, revenue per conversion) and
    `revenue_per_recipient` (R / n). Columns: the value per channel with its interval (`email_low` …
    `sms_high`), `ratio` (sms / email), `difference` (sms − email) with its interval, `p_value`,
    `p_adjusted`, `significant`, `test`.

    Every factor is estimated and tested at the campaign level, like `channels.compare_channels` (campaigns
    differ from each other; the next campaign is what a channel decision is about): the random-effects mean
    of the campaigns' values, SMS − email by Welch's t on the two means. Order values enter through their
    spread: `order_values` is the account's orders (Placed Order events, an array of values, or {channel:
    values}), from which `channels.order_value_spread` measures it; without them the named fallback
    `order_value_cv`, which the `test` column then names. The two factors are one family ("which factor
    differs?"), Holm-adjusted. Revenue per recipient: pass `comparison` (`channels.compare_channels`) to take
    its p-values, so this row never contradicts the recorded `significant` of the four-test family.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}.")
    rows_in = _campaigns(table, conversions)
    cv, source = order_value_spread(_order_source(order_values), order_value_cv)
    rows = {f: _factor_row(rows_in, f, alpha, cv) for f in (*FACTORS, "revenue_per_recipient")}
    rows["average_order_value"]["test"] += f"; order values: {source}"
    factor_p = [rows[f]["p_value"] for f in FACTORS]
    for factor, p_adj in zip(FACTORS, stats.holm(np.asarray(factor_p, dtype=float)), strict=True):
        rows[factor]["p_adjusted"] = float(p_adj)
    rpr = rows["revenue_per_recipient"]
    if comparison is not None and "revenue_per_recipient" in comparison.index:
        src = comparison.loc["revenue_per_recipient"]
        rpr["p_value"] = float(src["p_value"])
        rpr["p_adjusted"] = float(src["p_adjusted"]) if "p_adjusted" in src else rpr["p_value"]
        rpr["test"] = f"{src.get('test', 'campaign-level t')} (Holm over the four channel tests)"
    else:
        rpr["p_adjusted"] = rpr["p_value"]
        rpr["test"] += f"; order values: {source}"
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame["significant"] = frame["p_adjusted"] < alpha
    frame.index.name = "factor"
    return frame[_COLUMNS]


def _ratio(sms: float, email: float) -> float:
    return float(sms / email) if email > 0 else float("nan")


def _factor_row(rows: pd.DataFrame, factor: str, alpha: float, cv: float) -> dict:
    est = {c: channel_estimate(rows, c, factor, cv) for c in CHANNELS}
    test = stats.difference_test(est["email"], est["sms"])
    row = {"ratio": _ratio(est["sms"].mean, est["email"].mean), "difference": test["difference"],
           "p_value": test["p_value"] if np.isfinite(test["p_value"]) else 1.0,
           "test": f"campaign-level t ({est['email'].k} email, {est['sms'].k} SMS campaigns)"}
    for c in CHANNELS:
        e = est[c]
        half = sps.t.ppf(1 - alpha / 2, e.df) * np.sqrt(e.variance) if e.df > 0 else float("nan")
        row[c], row[f"{c}_low"], row[f"{c}_high"] = e.mean, e.mean - half, e.mean + half
    half = sps.t.ppf(1 - alpha / 2, test["df"]) * test["se"] if np.isfinite(test["df"]) else float("nan")
    row["ci_low"], row["ci_high"] = test["difference"] - half, test["difference"] + half
    return row


def revenue_driver(decomposition: pd.DataFrame) -> dict:
    """Which factor drives the revenue-per-recipient gap, as shares of its log ratio.

    Why: because RPR = conversion rate × AOV, log(RPR_sms / RPR_email) = log(CR ratio) + log(AOV ratio)
    (exactly for pooled figures, closely for the campaign-level estimates, so the gap is taken as that sum), so each factor's share of the log gap says how much of the difference it explains. Shares sum
    to 1; a negative share is a factor pulling the other way (SMS converts better but its orders are so
    much smaller that email still earns more), and then the other share is above 1.

    Returns `{"leader": channel with the higher RPR or None, "driver": the factor with the largest share
    (None when RPR is equal or a factor is missing), "offset": a factor pulling against the leader or
    None, "shares": {factor: share}, "driver_significant": bool, "offset_significant": bool}`.
    """
    rpr = decomposition.loc["revenue_per_recipient"]
    out = {"leader": None, "driver": None, "offset": None, "shares": dict.fromkeys(FACTORS, float("nan")),
           "driver_significant": False, "offset_significant": False}
    values = [decomposition.loc[f, c] for f in (*FACTORS, "revenue_per_recipient") for c in CHANNELS]
    if not all(np.isfinite(v) and v > 0 for v in values):
        if np.isfinite(rpr["email"]) and np.isfinite(rpr["sms"]) and rpr["email"] != rpr["sms"]:
            out["leader"] = "sms" if rpr["sms"] > rpr["email"] else "email"
        return out
    logs = {f: np.log(decomposition.loc[f, "sms"] / decomposition.loc[f, "email"]) for f in FACTORS}
    # The campaign-level estimates multiply only approximately, so the gap is the sum of the factors' logs.
    total = sum(logs.values())
    if abs(total) < 1e-12:
        return out
    shares = {f: float(logs[f] / total) for f in FACTORS}
    driver = max(FACTORS, key=shares.get)
    offset = next((f for f in FACTORS if shares[f] < 0), None)
    sig = decomposition["significant"]
    out.update(
        leader="sms" if total > 0 else "email", driver=driver, offset=offset, shares=shares,
        driver_significant=bool(sig.get(driver, False)),
        offset_significant=bool(sig.get(offset, False)) if offset else False,
    )
    return out


def unsubscribe_cost(comparison: pd.DataFrame, leader: str | None = None) -> dict:
    """How many more subscribers one channel loses, and whether that falls on the revenue leader.

    Why: revenue per recipient counts this send; an unsubscribe removes every later send to that person,
    so a channel that wins revenue while losing significantly more subscribers must say so.

    `comparison` is `channels.compare_channels(...)` (its `unsubscribe_rate` row, Holm-adjusted with the
    other channel tests); `leader` the revenue leader (`revenue_driver(...)["leader"]`). Returns
    `{"email", "sms" (rates), "higher": channel losing more or None, "ratio": higher / lower rate,
    "significant": bool, "p_adjusted", "leader_pays": the leader loses significantly more}`.
    """
    row = comparison.loc["unsubscribe_rate"]
    email, sms = float(row["email"]), float(row["sms"])
    higher = None if email == sms else ("sms" if sms > email else "email")
    low = min(email, sms)
    ratio = float(max(email, sms) / low) if low > 0 else (float("inf") if higher else float("nan"))
    p_adj = float(row["p_adjusted"]) if "p_adjusted" in row else float(row["p_value"])
    significant = bool(row["significant"]) and higher is not None
    return {"email": email, "sms": sms, "higher": higher, "ratio": ratio, "significant": significant,
            "p_adjusted": p_adj, "leader_pays": bool(significant and leader is not None and higher == leader)}


def _pct(x: float) -> str:
    return f"{x:.2%}"


# How the verdict says a factor: (of a channel: "SMS converts better (…)", of the leader: "because …"). The values
# fill {mine} and {theirs}: conversion as a rate, order value as money.
_WORDS = {
    "conversion_rate": ("{name} converts {how}better ({mine} vs {theirs})",
                        "because {how}more of its recipients buy ({mine} vs {theirs} conversion rate)"),
    "average_order_value": ("{name}'s orders are {how}larger ({mine} vs {theirs} average order value)",
                            "because its orders are {how}larger ({mine} vs {theirs} average order value)"),
}


def _said(which: int, factor: str, channel: str, decomposition: pd.DataFrame, significant: bool,
          money: Currency) -> str:
    row = decomposition.loc[factor]
    show = _pct if factor == "conversion_rate" else money.format
    return _WORDS[factor][which].format(name=channel_name(channel), how="significantly " if significant else "",
                                        mine=show(row[channel]), theirs=show(row["email" if channel == "sms" else "sms"]))


def _factor_phrase(factor: str, channel: str, decomposition: pd.DataFrame, significant: bool,
                   money: Currency) -> str:
    return _said(0, factor, channel, decomposition, significant, money)


def _because(factor: str, leader: str, decomposition: pd.DataFrame, significant: bool, money: Currency) -> str:
    return _said(1, factor, leader, decomposition, significant, money)


def verdict_sentence(
    decomposition: pd.DataFrame, comparison: pd.DataFrame | None = None, currency: Currency | None = None
) -> str:
    """The one-sentence channel verdict, built only from the numbers it quotes.

    Why: "the numbers favour email" read as advice while SMS converted better and lost twice the
    subscribers; the sentence names the revenue leader only when its revenue-per-recipient difference is
    significant, says which factor drives it (`revenue_driver`) and which pulls the other way, and, with
    `comparison` (`channels.compare_channels`), adds the unsubscribe cost when it is significant — saying
    so when it falls on the revenue leader. Significance of revenue per recipient comes from `comparison`
    when given (the recorded four-test family), else from the decomposition. Money is written in
    `currency` (the report's `job.currency`; without it bare numbers, `money.NO_SYMBOL`), never a bare "$".
    """
    currency = currency or NO_SYMBOL
    rpr = decomposition.loc["revenue_per_recipient"]
    significant = bool(rpr["significant"])
    if comparison is not None and "revenue_per_recipient" in comparison.index:
        significant = bool(comparison.loc["revenue_per_recipient", "significant"])
    drive = revenue_driver(decomposition)
    leader = drive["leader"]
    unsub = unsubscribe_cost(comparison, leader if significant else None) if comparison is not None else None
    money = f"{currency.format(rpr['email'], 3)} email vs {currency.format(rpr['sms'], 3)} SMS"
    if significant and leader:
        other = "email" if leader == "sms" else "sms"
        sentence = f"{channel_name(leader).capitalize()} earns significantly more revenue per recipient ({money})"
        if drive["driver"]:
            sentence += " " + _because(drive["driver"], leader, decomposition, drive["driver_significant"], currency)
        if drive["offset"]:
            sentence += ", although " + _factor_phrase(drive["offset"], other, decomposition, drive["offset_significant"], currency)
    else:
        sentence = f"Neither channel earns significantly more revenue per recipient ({money})"
        differing = [f for f in FACTORS if bool(decomposition.loc[f, "significant"])]
        clauses = []
        for factor in differing:
            row = decomposition.loc[factor]
            better = "sms" if row["sms"] > row["email"] else "email"
            clauses.append(_factor_phrase(factor, better, decomposition, True, currency))
        if clauses:
            sentence += ", though " + " and ".join(clauses)
    if unsub is not None:
        if unsub["significant"]:
            rates = f"{_pct(unsub[unsub['higher']])} vs {_pct(unsub['email' if unsub['higher'] == 'sms' else 'sms'])}"
            name = channel_name(unsub["higher"])
            if unsub["leader_pays"]:
                sentence += (f"; but {name} also loses significantly more subscribers ({rates} unsubscribe rate), "
                             "a cost to weigh against that revenue")
            else:
                sentence += f"; {name} also loses significantly more subscribers ({rates} unsubscribe rate)"
        else:
            sentence += "; unsubscribe rates do not differ significantly"
    return sentence + "."


def factor_table(decomposition: pd.DataFrame, driver: dict, currency: Currency | None = None) -> pd.DataFrame:
    """The decomposition as the report shows it: one row per factor, each value with its interval as text.

    Columns `factor` (words), `email`, `sms` ("value (low to high)"), `SMS − email` (difference with its
    interval), `adjusted p` (a number: the report's table writes it in words), `significant`, `share of gap` (`revenue_driver`'s share, signed) and `test`.
    Rates are percentages; order value and revenue per recipient are money in `currency`.
    """
    currency = currency or NO_SYMBOL
    fmt = {"conversion_rate": "{:.2%}".format, "average_order_value": currency.format,
           "revenue_per_recipient": lambda v: currency.format(v, 3)}
    shares = driver.get("shares", {})
    rows = []
    for factor, r in decomposition.iterrows():
        f = fmt[factor]
        rows.append({
            "factor": factor.replace("_", " "),
            **{c: f"{f(r[c])} ({f(r[c + '_low'])} to {f(r[c + '_high'])})" for c in CHANNELS},
            "SMS − email": f"{f(r['difference'])} ({f(r['ci_low'])} to {f(r['ci_high'])})",
            "adjusted p": float(r["p_adjusted"]), "significant": bool(r["significant"]),
            "share of gap": f"{shares[factor]:+.0%}" if factor in shares and np.isfinite(shares[factor]) else "",
            "test": r["test"],
        })
    return pd.DataFrame(rows)
