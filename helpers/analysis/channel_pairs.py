"""Email and SMS campaigns that are the same send on two channels (notebook 05).

A pair is a natural experiment only when it is the same offer at the same moment: the name alone is not
enough ("Back to School" by SMS on 2026-01-09 and by email on 2026-08-03 are two different campaigns
seven months apart). So campaigns pair when their names match after normalisation (`channels.pairing_key`:
channel words and punctuation dropped) **and** their send times are at most `window_days` apart; every
campaign left over is listed with the reason it has no partner.
"""

from __future__ import annotations

import pandas as pd
from statsmodels.stats.weightstats import DescrStatsW

from helpers.analysis.channels import RATE_METRICS, attribution_note, channel_name, pairing_key
from helpers.analysis.stats import holm

__all__ = [
    "PAIR_COLUMNS", "UNPAIRED_COLUMNS", "pair_campaigns", "paired_comparison", "paired_ids", "paired_test_line",
    "paired_tests",
]

PAIR_COLUMNS = [
    "campaign", "email_campaign_id", "sms_campaign_id", "email_campaign", "sms_campaign",
    "email_send_time", "sms_send_time", "days_apart",
]
UNPAIRED_COLUMNS = ["campaign_id", "channel", "name", "send_time", "reason"]


def _campaign_rows(frame: pd.DataFrame, channel: str) -> pd.DataFrame:
    """One row per campaign (the client gives one per message): id, name, earliest send time, key."""
    missing = {"campaign_id", "name"} - set(frame.columns)
    if missing:
        raise ValueError(f"pair_campaigns needs columns {sorted(missing)} (and send_time); pass kc.campaigns(...).")
    rows = frame.assign(
        send_time=pd.to_datetime(frame["send_time"], utc=True, errors="coerce")
        if "send_time" in frame else pd.NaT
    )
    rows = rows.sort_values("send_time").drop_duplicates("campaign_id")[["campaign_id", "name", "send_time"]]
    # A missing name matches nothing (pairing_key would turn NaN into the word "nan").
    keys = [pairing_key(n) if isinstance(n, str) else "" for n in rows["name"]]
    rows = rows.assign(channel=channel, key=keys)
    return rows.sort_values(["send_time", "campaign_id"], na_position="last").reset_index(drop=True)


def _day(ts) -> str:
    return ts.strftime("%Y-%m-%d") if pd.notna(ts) else "unknown"


def pair_campaigns(
    email_df: pd.DataFrame, sms_df: pd.DataFrame, window_days: float = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`(paired, unpaired)`: same-name campaigns sent within `window_days` of each other, one to one.

    Why: only a same-offer, same-moment pair isolates the channel; a name reused months later compares
    seasons, not channels. Within a name, the closest send times pair first (ties: earlier email, then
    smaller ids), and each campaign pairs at most once, so the result does not depend on input order.

    `email_df`, `sms_df`: `kc.campaigns("email")` / `kc.campaigns("sms")` (`campaign_id, name, send_time`;
    one row per message is fine). `paired` has `PAIR_COLUMNS` (`days_apart` = |sms − email| in days),
    by email send time; `unpaired` has `UNPAIRED_COLUMNS`, `reason` saying why (no same-name campaign on
    the other channel, sent too far apart — with both dates —, no send time, or its same-name partners
    within the window already paired with a closer campaign).
    """
    if window_days < 0:
        raise ValueError(f"pair_window_days must be ≥ 0, got {window_days}.")
    email, sms = _campaign_rows(email_df, "email"), _campaign_rows(sms_df, "sms")
    window = pd.Timedelta(days=window_days)
    candidates = []
    for key in sorted(set(email["key"]) & set(sms["key"]) - {""}):
        e_rows, s_rows = email[email["key"] == key], sms[sms["key"] == key]
        for e in e_rows.itertuples(index=False):
            for s in s_rows.itertuples(index=False):
                if pd.notna(e.send_time) and pd.notna(s.send_time):
                    gap = abs(s.send_time - e.send_time)
                    if gap <= window:
                        candidates.append((gap, e.send_time, e.campaign_id, s.campaign_id, key, e, s))
    candidates.sort(key=lambda c: (c[0], c[1], str(c[2]), str(c[3])))
    used_e, used_s, pairs = set(), set(), []
    for gap, _, e_id, s_id, key, e, s in candidates:
        if e_id in used_e or s_id in used_s:
            continue
        used_e.add(e_id)
        used_s.add(s_id)
        pairs.append({
            "campaign": key, "email_campaign_id": e_id, "sms_campaign_id": s_id, "email_campaign": e.name,
            "sms_campaign": s.name, "email_send_time": e.send_time, "sms_send_time": s.send_time,
            "days_apart": gap.total_seconds() / 86400,
        })
    paired = pd.DataFrame(pairs, columns=PAIR_COLUMNS)
    if len(paired):
        paired = paired.sort_values(["email_send_time", "email_campaign_id"], ignore_index=True)
    unpaired = [
        _unpaired(row, sms if row.channel == "email" else email, window, window_days)
        for side, used in ((email, used_e), (sms, used_s))
        for row in side.itertuples(index=False)
        if row.campaign_id not in used
    ]
    return paired, pd.DataFrame(unpaired, columns=UNPAIRED_COLUMNS)


def _unpaired(row, other: pd.DataFrame, window: pd.Timedelta, window_days: float) -> dict:
    other_channel = channel_name("sms" if row.channel == "email" else "email")
    base = {"campaign_id": row.campaign_id, "channel": row.channel, "name": row.name, "send_time": row.send_time}
    same = other[other["key"] == row.key] if row.key else other.iloc[0:0]
    if not row.key:
        named = isinstance(row.name, str) and row.name.strip()
        return {**base, "reason": "its name is only channel words, nothing to match on" if named
                else "it has no name to match on"}
    if same.empty:
        return {**base, "reason": f"no {other_channel} campaign has the same name"}
    if pd.isna(row.send_time):
        return {**base, "reason": "it has no send time, so its timing cannot be matched"}
    timed = same[same["send_time"].notna()]
    if timed.empty:
        return {**base, "reason": f"the same-name {other_channel} campaign has no send time"}
    gaps = (timed["send_time"] - row.send_time).abs()
    closest = timed.loc[gaps.idxmin()]
    days = gaps.min().total_seconds() / 86400
    if gaps.min() > window:
        return {**base, "reason": (
            f"the same-name {other_channel} campaign went out {days:.0f} days apart ({_day(row.send_time)} vs "
            f"{_day(closest['send_time'])}), outside the {window_days:g}-day window")}
    return {**base, "reason": (
        f"its same-name {other_channel} campaign within {window_days:g} days ({_day(closest['send_time'])}) "
        "was paired with a closer one")}


def paired_comparison(table: pd.DataFrame, paired: pd.DataFrame) -> pd.DataFrame:
    """Per pair of `pair_campaigns`: each channel's rates and the difference (sms − email).

    Why: the same columns as `channels.paired_campaigns` (`campaign, email_campaign, sms_campaign, …,
    <metric>_email, <metric>_sms, <metric>_diff`), so `channels.sms_wins`, `channels.paired_line` and the
    paired chart work unchanged, but over time-matched pairs only; plus `days_apart`. `table` is
    `channels.campaign_table(...)`; a pair whose campaigns delivered nothing in the timeframe is dropped.
    """
    metrics = [*RATE_METRICS, "revenue_per_recipient"]
    ordered = ["campaign", "email_campaign", "sms_campaign", "email_campaign_id", "sms_campaign_id",
               "recipients_email", "recipients_sms"]
    ordered += [f"{m}_{s}" for m in metrics for s in ("email", "sms", "diff")] + ["days_apart"]
    if paired.empty:
        return pd.DataFrame(columns=ordered)
    out = paired[["campaign", "email_campaign", "sms_campaign", "email_campaign_id", "sms_campaign_id",
                  "days_apart"]].copy()
    for channel in ("email", "sms"):
        part = table[table["channel"] == channel].set_index("campaign_id")
        part = part[~part.index.duplicated()]
        cols = part[["recipients", *metrics]].add_suffix(f"_{channel}")
        out = out.merge(cols, left_on=f"{channel}_campaign_id", right_index=True, how="inner")
    for metric in metrics:
        out[f"{metric}_diff"] = out[f"{metric}_sms"] - out[f"{metric}_email"]
    return out[ordered].reset_index(drop=True)


def paired_ids(paired: pd.DataFrame) -> list[list[str]]:
    """The recorded `paired_campaigns`: `[[email campaign id, sms campaign id], …]` in pair order."""
    return [[str(e), str(s)] for e, s in zip(paired["email_campaign_id"], paired["sms_campaign_id"], strict=True)]


def paired_tests(paired: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per metric, SMS − email over the matched pairs: a paired t-test, its interval and how often SMS won.

    Why: a pair is the same offer at the same moment on two channels, so its difference removes what the
    campaigns share; the pairs, not the recipients, are the observations (statsmodels `DescrStatsW` on the
    per-pair differences: t-test of mean 0 and its t interval). Rows (index `metric`): click, conversion,
    unsubscribe rate and revenue per recipient; columns `pairs`, `mean_difference`, `ci_low`, `ci_high`,
    `p_value`, `p_adjusted` (Holm over the four, one family like `channels.compare_channels`), `significant`,
    `sms_better` (pairs where SMS did better: higher, or lower for unsubscribes). Fewer than three pairs: no
    test (NaN, not significant).
    """
    rows = []
    for metric, higher_is_better in {**RATE_METRICS, "revenue_per_recipient": True}.items():
        column = f"{metric}_diff"
        diffs = pd.to_numeric(paired[column], errors="coerce").dropna().to_numpy(float) if column in paired else []
        row = {"metric": metric, "pairs": len(diffs), "mean_difference": float("nan"), "ci_low": float("nan"),
               "ci_high": float("nan"), "p_value": float("nan"),
               "sms_better": int(((diffs > 0) if higher_is_better else (diffs < 0)).sum()) if len(diffs) else 0}
        if len(diffs) >= 3:
            d = DescrStatsW(diffs)
            row["mean_difference"] = float(d.mean)
            if d.std > 0:
                row["p_value"] = float(d.ttest_mean(0)[1])
                row["ci_low"], row["ci_high"] = (float(v) for v in d.tconfint_mean(alpha))
            else:  # every pair differs by the same amount: no spread to test against
                row["ci_low"] = row["ci_high"] = float(d.mean)
        rows.append(row)
    out = pd.DataFrame(rows).set_index("metric")
    out["p_adjusted"] = holm(out["p_value"].to_numpy())
    out["significant"] = out["p_adjusted"] < alpha
    out["attribution"] = [attribution_note(m) for m in out.index]
    return out


def paired_test_line(tests: pd.DataFrame) -> str:
    """One sentence on the paired tests of the headline metrics (`paired_tests`)."""
    if tests.empty or tests["pairs"].max() < 3:
        return "Too few campaigns ran on both channels (fewer than 3 pairs) for a paired test."
    parts = []
    for metric, label in (("click_rate", "click rate"), ("conversion_rate", "conversion rate"),
                          ("revenue_per_recipient", "revenue per recipient")):
        row = tests.loc[metric]
        if row["significant"]:
            side = "SMS" if row["mean_difference"] > 0 else "email"
            parts.append(f"{label}: {side} higher, significantly (Holm-adjusted p = {row['p_adjusted']:.2g})")
        else:
            parts.append(f"{label}: no significant difference")
    return (f"Paired t-test over the {int(tests['pairs'].max())} pairs (each pair one observation, Holm over the "
            "four metrics): " + "; ".join(parts) + ".")
