"""Flow-message performance (notebook 02): peer tests, funnel diagnosis, channel limits for rewrites.

A message is *underperforming* when it has at least `min_recipients` and, on one of its channel's metrics,
its rate is both significantly below its peers' pooled rate (one-sided test, Holm-corrected across every
test run) and materially below it (rate <= (1 - min_relative_gap) x peer rate). Peers are the *other*
messages of the same channel that also have enough recipients, pooled (recipient-weighted).

A message that is materially but not significantly lower on some metric is put on *watch*: over a short
timeframe (or a small flow) the tests lack the power to confirm a real gap, and such a message must not be
reported as clean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .channel_limits import check_rewrite, sms_length
from .flow_history import history_line, history_tests
from .stats import between_variance, holm
from .wording import timeframe_text

__all__ = [
    "CHANNEL_METRICS",
    "REPORT_STATISTICS",
    "STAGES",
    "DEFAULT_APPS",
    "check_rewrite",
    "evaluate_messages",
    "flagged_table",
    "flow_funnel",
    "message_performance",
    "parse_rewrite",
    "peers_line",
    "rewrite_requests",
    "sms_length",
    "summary_lines",
]

# metric -> (numerator column, denominator column). Klaviyo's rates, revenue per recipient included, are
# per delivered message; recomputing them from counts lets peers be pooled exactly.
RATE_DEFINITIONS: dict[str, tuple[str, str]] = {
    "open_rate": ("opens_unique", "delivered"),
    "click_rate": ("clicks_unique", "delivered"),
    "conversion_rate": ("conversion_uniques", "delivered"),
    "revenue_per_recipient": ("conversion_value", "delivered"),
}
# SMS has no opens; other channels (push) are shown but not tested.
CHANNEL_METRICS: dict[str, tuple[str, ...]] = {
    "email": ("open_rate", "click_rate", "conversion_rate", "revenue_per_recipient"),
    "sms": ("click_rate", "conversion_rate", "revenue_per_recipient"),
}
# Everything the flow-values report must return for this analysis (one report request for all flows).
REPORT_STATISTICS: tuple[str, ...] = (
    "recipients", "delivered", "opens_unique", "clicks_unique", "conversion_uniques", "conversion_value",
    "open_rate", "click_rate", "click_to_open_rate", "conversion_rate", "revenue_per_recipient",
)
_COUNT_COLUMNS = ("recipients", "delivered", "opens_unique", "clicks_unique", "conversion_uniques", "conversion_value")


@dataclass(frozen=True)
class Stage:
    """Where the funnel breaks, and which part of the message a rewrite must change."""

    name: str
    part: str  # subject_preview | body_cta | offer
    explanation: str


# The earliest failing metric in funnel order names the stage: a weak subject also depresses clicks and
# conversions, so later stages only count when the earlier ones held up.
STAGES: dict[str, Stage] = {
    "open_rate": Stage("opens", "subject_preview", "few recipients open: the subject line and preview text"),
    "click_rate": Stage("clicks", "body_cta", "openers do not click: the body and call to action"),
    "conversion_rate": Stage("conversion", "offer", "clickers do not buy: the offer"),
    "revenue_per_recipient": Stage("conversion", "offer", "revenue per recipient lags: the offer"),
}


def message_performance(messages: pd.DataFrame, report: pd.DataFrame) -> pd.DataFrame:
    """One row per flow message: its content joined to its report counts (zeros when it sent nothing).

    `messages` is `KlaviyoClient.flow_messages()`; `report` is `flow_values_report(...)` with at least the
    count columns of `REPORT_STATISTICS`. A message reported under several channels is summed per channel.
    """
    counts = [c for c in _COUNT_COLUMNS if c in report.columns]
    missing = {"recipients", "conversion_value"} - set(counts)
    if missing:
        raise ValueError(f"flow-values report lacks {sorted(missing)}; request statistics={list(REPORT_STATISTICS)}.")
    rep = report.rename(columns={"flow_message_id": "message_id"})
    rep = rep.groupby(["message_id", "send_channel"], as_index=False)[counts].sum()
    out = messages.merge(rep, how="left", left_on=["message_id", "channel"], right_on=["message_id", "send_channel"])
    out = out.drop(columns="send_channel")
    for col in _COUNT_COLUMNS:
        if col not in out.columns:
            # Without a delivered count, recipients is the closest denominator Klaviyo reports.
            out[col] = out["recipients"] if col == "delivered" else np.nan
        out[col] = pd.to_numeric(out[col], errors="coerce").fillna(0.0)
    for metric, (num, den) in RATE_DEFINITIONS.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            out[metric] = np.where(out[den] > 0, out[num] / out[den].where(out[den] > 0, 1), np.nan)
    # SMS (and push) report no opens: their open rate is unknown, not 0 %.
    out.loc[out["channel"] != "email", "open_rate"] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out["click_to_open_rate"] = np.where(
            out["opens_unique"] > 0, out["clicks_unique"] / out["opens_unique"].where(out["opens_unique"] > 0, 1), np.nan
        )
    return out


# What a flow is for, from its name: flows of one purpose are peers of each other (trigger types alone lump a
# winback with an abandoned cart: both are "Metric" flows). First match wins.
PURPOSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vip", ("vip", "loyalty")),  # before post-purchase: "VIP Thank You" is not an order follow-up
    ("post-purchase", ("post-purchase", "post purchase", "thank you", "order follow", "review request")),
    ("abandoned cart", ("abandoned cart", "cart abandon", "abandoned checkout", "checkout abandon", "cart")),
    ("browse abandonment", ("browse", "viewed product")),
    ("welcome", ("welcome", "new subscriber", "onboarding")),

    ("winback", ("winback", "win-back", "win back", "we miss you", "lapsed", "re-engage", "reengage", "sunset")),
    ("birthday", ("birthday", "anniversary")),
    ("back in stock", ("back in stock", "restock alert")),
    ("price drop", ("price drop",)),
    ("replenishment", ("replenish", "refill", "restock reminder")),
)


def flow_kind(flow_name: object, trigger_type: object = None) -> str | None:
    """The flow's purpose and trigger, e.g. "winback (Metric)"; None when the name names no known purpose."""
    name = str(flow_name or "").lower()
    for purpose, words in PURPOSES:
        if any(w in name for w in words):
            trigger = str(trigger_type) if trigger_type is not None and not pd.isna(trigger_type) else "any trigger"
            return f"{purpose} ({trigger})"
    return None


def _peer_sets(group: pd.DataFrame, channel: str) -> list[tuple[np.ndarray, str]]:
    """Per message of `group` (one channel, eligible): positions of its peers and what they are, in words.

    Peers are the other messages of its own flow; a message alone on its channel in its flow is judged
    against the messages of flows of the same kind (`flow_kind`: purpose and trigger); with neither it has
    no peers and is not judged.
    """
    flows_ = group["flow_id"].to_numpy()
    names = group["flow_name"].astype(str).to_numpy() if "flow_name" in group else flows_.astype(str)
    triggers = group["trigger_type"].to_numpy() if "trigger_type" in group else [None] * len(group)
    kinds = np.array([flow_kind(n, t) for n, t in zip(names, triggers, strict=True)], dtype=object)
    out = []
    for i in range(len(group)):
        own = np.flatnonzero((flows_ == flows_[i]) & (np.arange(len(group)) != i))
        if own.size:
            out.append((own, f"{own.size} other {channel} message{'s' if own.size > 1 else ''} of '{names[i]}'"))
            continue
        same = np.flatnonzero((kinds == kinds[i]) & (flows_ != flows_[i])) if kinds[i] else np.array([], int)
        if same.size:
            n_flows = len(set(flows_[same]))
            out.append((same, f"{same.size} {channel} message{'s' if same.size > 1 else ''} of {n_flows} other "
                              f"{kinds[i]} flow{'s' if n_flows > 1 else ''}"))
        else:
            out.append((np.array([], int), ""))
    return out


def _relative_variance(metric: str, x_peer, n_peer, conv_peer, order_value_cv: float) -> np.ndarray:
    """Sampling variance of one recipient's outcome relative to the peers' rate squared (rate θ: (1 − θ) / θ;
    revenue per recipient: (1 + cv²) / p − 1 with p the peers' conversion rate)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = x_peer / n_peer
        if metric == "revenue_per_recipient":
            p = np.clip(conv_peer / n_peer, 1e-9, 1.0)
            return (1 + order_value_cv**2) / p - 1
        theta = np.clip(theta, 1e-9, 1 - 1e-9)
        return (1 - theta) / theta


def _metric_tests(group: pd.DataFrame, peers: list, channel: str, metric: str, order_value_cv: float,
                  lagging: frozenset = frozenset()) -> pd.DataFrame:
    """One row per message with peers: its rate, its peers' pooled rate, relative gap and sampling variance.

    Messages in `lagging` ((message id, metric) pairs flagged by an earlier pass) are not peers on that
    metric: a weak message must not lower the bar for its flow-mates, nor make them look strong.
    """
    num, den = RATE_DEFINITIONS[metric]
    x, n = group[num].to_numpy(float), group[den].to_numpy(float)
    conv = group["conversion_uniques"].to_numpy(float)
    ids = group["message_id"].to_numpy()
    keep = np.array([(m, metric) not in lagging for m in ids])
    rows = []
    for i, (all_idx, words) in enumerate(peers):
        idx = all_idx[keep[all_idx]]
        if not idx.size or n[i] <= 0 or n[idx].sum() <= 0 or x[idx].sum() <= 0:
            continue
        n_peer = n[idx].sum()
        # The median of the peers' rates, not their pooled rate: one weak flow-mate must not drag the bar
        # down for the others (and make them look strong, which would widen everyone's limits).
        peer_rate = float(np.median(x[idx] / n[idx]))
        if peer_rate <= 0:
            continue
        unit = _relative_variance(metric, x[idx].sum(), n_peer, conv[idx].sum(), order_value_cv)
        rows.append({
            "message_id": group["message_id"].iat[i], "channel": channel, "metric": metric,
            "recipients": group["recipients"].iat[i], "rate": x[i] / n[i], "peer_rate": peer_rate,
            "ratio": (x[i] / n[i]) / peer_rate, "peers": words, "peer_messages": idx.size,
            # sampling variance of (rate / peer rate − 1): the message's own and its peers' pooled rate
            "_sampling": float(unit) * (1 / n[i] + 1 / n_peer),
            # the peers' mean also carries their own message-to-message spread: Σ n² / (Σ n)² of it
            "_concentration": float((n[idx] ** 2).sum() / n_peer**2),
        })
    return pd.DataFrame(rows)


def _add_spread(tests: pd.DataFrame) -> pd.DataFrame:
    """Message-to-message spread τ² per (channel, metric), pooled over channels when one has fewer than ten
    tested messages (a median of a handful is too easily moved by the one weak message among them);
    then z = (ratio − 1) / √(sampling + τ² (1 + concentration)) and the one-sided p of a lower rate."""
    tests = tests.copy()
    tests["spread"] = 0.0
    for _, part in tests.groupby("metric"):
        pooled = between_variance(part["ratio"] - 1, part["_sampling"], 1 + part["_concentration"])
        for _, sub in part.groupby("channel"):
            own = between_variance(sub["ratio"] - 1, sub["_sampling"], 1 + sub["_concentration"])
            tests.loc[sub.index, "spread"] = own if len(sub) >= 10 else pooled
    sd = np.sqrt(tests["_sampling"] + tests["spread"] * (1 + tests["_concentration"]))
    tests["z"] = (tests["ratio"] - 1) / sd
    tests["p_value"] = sps.norm.cdf(tests["z"])
    tests["_sd"] = sd
    return tests


def evaluate_messages(
    perf: pd.DataFrame,
    min_recipients: int = 500,
    significance: float = 0.05,
    min_relative_gap: float = 0.25,
    order_value_cv: float = 1.0,
    history: pd.DataFrame | None = None,
    recent_start: object = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Judge every eligible message against messages of its own kind and, given `history`, against its own
    earlier period; returns `(tests, messages)`.

    Why not against every message of the channel: flows differ by nature (a winback converts far below an
    abandoned cart), so a pooled channel average flags the messages of low-converting flows, not the weak
    messages (on simulated accounts whose messages all match their own flow, about 10 flags per account).

    Peers (`_peer_sets`): the other messages of the same channel in the message's own flow; a message alone
    on its channel in its flow is compared with same-channel messages of flows of the same kind (`flow_kind`:
    purpose from the flow's name, and trigger); with neither it is not judged. Funnel-plot test: the
    message's rate relative to its peers' median rate, with a limit that allows for the spread between
    messages of one flow (τ², `stats.between_variance`, estimated per channel and metric over the account
    by a median, so the messages being judged do not widen their own limits) on top of binomial (or, for
    revenue per recipient, compound conversion × order value with spread `order_value_cv`) sampling of
    the message and of its peers. One-sided p of a lower rate, Holm-corrected across every test run.

    `perf` is `message_performance(...)`. `tests` has one row per (message, metric) test: `rate, peer_rate,
    ratio, peers (in words), peer_messages, spread (τ², relative), z, p_value, p_holm, limit (the share of
    its peers' rate below which a message is flagged on significance alone at the strictest Holm step),
    significant, material, flagged, watch`. `messages` is `perf` plus `eligible` (enough recipients),
    `evaluated` (at least one test ran), `peers`, `underperforming` (a metric both significantly and
    materially — rate <= (1 - min_relative_gap) × peers' — lower), `flagged_metrics` (tuple), `stage`,
    `rewrite_part`, `diagnosis`, and `watch` / `watch_metrics`: not flagged, but materially lower on those
    metrics without the evidence to confirm it. Low-volume messages are kept and shown but never flagged.

    Own history (`history`: `KlaviyoClient.flow_series_report(...)`, weekly; `recent_start`: the first day of
    the report's timeframe): each message's recent weeks against its own earlier weeks
    (`flow_history.history_tests`: a quasi-binomial / quasi-Poisson GLM whose dispersion is the week-to-week
    spread; material when the drop, net of its flow-mates' common change, is at least `min_relative_gap`).
    Those rows (`check` = "history"; `peer_rate` is then its own earlier rate) join the peer tests (`check` =
    "peers") in ONE Holm family, so a message is flagged when it is significantly and materially below its
    peers OR below its own past, and the chance of flagging any message of an account where none changed or
    lags stays at most `significance` (Holm controls the family-wise error over the union). Without history
    the family and the verdicts are exactly the peer tests'. `messages` then also has `history_checked`
    (the message had enough history) and `history_metrics` (metrics flagged against its own past).
    """
    perf = perf.reset_index(drop=True)
    hist = None
    if history is not None:
        hist = history_tests(history, recent_start, min_recipients, min_relative_gap)
        hist = hist[hist["message_id"].isin(set(perf.loc[perf["recipients"] >= min_recipients, "message_id"]))]
    eligible = (perf["recipients"] >= min_recipients) & perf["channel"].isin(list(CHANNEL_METRICS))
    groups, peer_words = {}, {}
    for channel in CHANNEL_METRICS:
        group = perf[eligible & (perf["channel"] == channel)].reset_index(drop=True)
        if len(group):
            groups[channel] = (group, _peer_sets(group, channel))
            peer_words.update(dict(zip(group["message_id"], (w for _, w in groups[channel][1]), strict=True)))
    # Flagged messages leave their flow-mates' peers and the test runs again, until the flags settle.
    lagging: frozenset = frozenset()
    for _ in range(4):
        tests = _run_tests(groups, order_value_cv, significance, min_relative_gap, lagging, hist)
        peer_flags = tests[tests["flagged"] & (tests["check"] == "peers")]
        found = frozenset(zip(peer_flags["message_id"], peer_flags["metric"], strict=True))
        if found == lagging:
            break
        lagging = found
    judged = _judge(perf, eligible, tests, peer_words)
    if hist is not None:
        by_history = tests[tests["flagged"] & (tests["check"] == "history")].groupby("message_id")["metric"]
        flagged_history = by_history.agg(lambda s: tuple(sorted(set(s), key=list(STAGES).index)))
        judged["history_checked"] = judged["message_id"].isin(set(hist["message_id"]))
        judged["history_metrics"] = [flagged_history.get(m, ()) for m in judged["message_id"]]
    return tests, judged


def _run_tests(groups: dict, order_value_cv: float, significance: float, min_relative_gap: float,
               lagging: frozenset, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One pass of `evaluate_messages`' tests, with the messages in `lagging` left out of peers; the history
    tests (`flow_history.history_tests`), when given, join the same Holm family."""
    parts = [_metric_tests(group, peers, channel, metric, order_value_cv, lagging)
             for channel, (group, peers) in groups.items() for metric in CHANNEL_METRICS[channel]]
    parts = [p for p in parts if len(p)]
    columns = ["message_id", "channel", "metric", "check", "recipients", "rate", "peer_rate", "ratio", "peers",
               "peer_messages", "spread", "z", "p_value"]
    tests = _add_spread(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame(columns=columns)
    tests["check"] = "peers"
    tests["material"] = tests["ratio"] <= 1 - min_relative_gap
    if history is not None and len(history):
        tests = pd.concat([tests, history.drop(columns=["flow_id"])], ignore_index=True)
    if len(tests):
        tests["p_holm"] = holm(tests["p_value"].to_numpy(float))
        tests["limit"] = _limits(tests, significance)
        tests = tests.drop(columns=["_sampling", "_concentration", "_sd", "_coef", "_se", "_df"], errors="ignore")
    else:
        tests = pd.DataFrame(columns=[*columns, "material", "p_holm", "limit"])
    tests["significant"] = tests["p_holm"] <= significance
    tests["material"] = tests["material"].astype(bool)
    tests["flagged"] = tests["significant"] & tests["material"]
    tests["watch"] = tests["material"] & ~tests["significant"]
    return tests


def _limits(tests: pd.DataFrame, significance: float) -> np.ndarray:
    """The share of the reference rate (peers' or its own earlier) below which a test is significant at the
    strictest Holm step: normal limits for the peer tests, t limits on the log scale for the history tests."""
    m = len(tests)
    limit = np.full(m, np.nan)
    peers = (tests["check"] == "peers").to_numpy()
    if "_sd" in tests:
        limit[peers] = 1 + sps.norm.ppf(significance / m) * tests.loc[peers, "_sd"].to_numpy(float)
    if "_se" in tests:
        hist = ~peers
        df = tests.loc[hist, "_df"].to_numpy(float)
        with np.errstate(invalid="ignore"):
            limit[hist] = np.exp(sps.t.ppf(significance / m, np.where(df > 0, df, np.nan))
                                 * tests.loc[hist, "_se"].to_numpy(float))
    return limit


def _judge(perf: pd.DataFrame, eligible: pd.Series, tests: pd.DataFrame, peer_words: dict) -> pd.DataFrame:
    """`perf` with each message's verdict from its tests (see `evaluate_messages`)."""
    out = perf.copy()
    out["eligible"] = eligible
    out["evaluated"] = out["message_id"].isin(set(tests["message_id"]))
    out["peers"] = [peer_words.get(m, "") for m in out["message_id"]]
    flagged = tests[tests["flagged"]]
    order = {m: i for i, m in enumerate(STAGES)}
    by_message = flagged.groupby("message_id")["metric"].agg(lambda s: tuple(sorted(set(s), key=order.get)))
    out["flagged_metrics"] = [by_message.get(m, ()) for m in out["message_id"]]
    out["underperforming"] = out["flagged_metrics"].map(bool)
    watched = tests[tests["watch"]].groupby("message_id")["metric"].agg(lambda s: tuple(sorted(set(s), key=order.get)))
    out["watch_metrics"] = [() if flagged_ else watched.get(m, ())
                            for m, flagged_ in zip(out["message_id"], out["underperforming"], strict=True)]
    out["watch"] = out["watch_metrics"].map(bool)
    first = out["flagged_metrics"].map(lambda ms: STAGES[ms[0]] if ms else None)
    out["stage"] = first.map(lambda s: s.name if s else None)
    out["rewrite_part"] = first.map(lambda s: s.part if s else None)
    out["diagnosis"] = first.map(lambda s: s.explanation if s else None)
    return out


def flow_funnel(perf: pd.DataFrame) -> pd.DataFrame:
    """Per flow and channel: recipients → delivered → opens → clicks → conversions, plus revenue."""
    cols = ["recipients", "delivered", "opens_unique", "clicks_unique", "conversion_uniques", "conversion_value"]
    return perf.groupby(["flow_id", "flow_name", "channel"], as_index=False)[cols].sum()


def summary_lines(evaluated: pd.DataFrame, tests: pd.DataFrame, rewrites: pd.DataFrame, timeframe: str) -> list[str]:
    """The notebook's closing bullets (markdown): how many messages need a rewrite, the biggest gap, where
    the funnel breaks, and how many rewrites were made and how many of them need editing (a check failed twice:
    the wording of ``helpers.steps.rewrites`` and section 4).

    `tests` and `evaluated` come from `evaluate_messages`; `rewrites` has a `checks` column ("ok" when a
    rewrite fits its channel's limits).
    """
    flagged = evaluated[evaluated["underperforming"]]
    lines = [f"- {len(flagged)} of {int(evaluated['evaluated'].sum())} evaluated messages need a rewrite over {timeframe_text(timeframe)}."]
    lines.append(peers_line(evaluated, tests))
    own = history_line(evaluated, tests)
    if own:
        lines.append(own)
    peer_flags = tests[tests["flagged"] & (tests["check"] == "peers")] if "check" in tests else tests[tests["flagged"]]
    if len(peer_flags):
        worst = peer_flags.sort_values("ratio").iloc[0]
        name = evaluated.set_index("message_id").at[worst["message_id"], "message_name"]
        lines.append(f"- The biggest gap: '{name}' ({worst['channel']}) at {worst['ratio']:.0%} of its peers' "
                     f"{worst['metric'].replace('_', ' ')}.")
    if len(flagged):
        stages = flagged["stage"].value_counts()
        lines.append("- Where the funnel breaks: " + ", ".join(f"{n} at {s}" for s, n in stages.items()) + ".")
    if "watch" in evaluated and evaluated["watch"].any():
        watch = evaluated[evaluated["watch"]]
        lines.append(f"- {len(watch)} more on watch — materially below their peers but not confirmed over {timeframe_text(timeframe)}: "
                     + ", ".join(f"'{n}'" for n in watch["message_name"]) + "; check them again over a longer timeframe.")
    low_volume = int((~evaluated["eligible"]).sum())
    lines.append(f"- {low_volume} low-volume messages were not judged; {len(rewrites)} rewrites made"
                 + (f", {int((~rewrites['checks'].isin(['', 'ok'])).sum())} of them need editing." if len(rewrites) else "."))
    return lines


def peers_line(evaluated: pd.DataFrame, tests: pd.DataFrame) -> str:
    """What a message was compared with, in one bullet: its own flow's other messages of its channel, or
    flows of its kind; the message-to-message spread the limits allow for; how many had no peers."""
    if "peers" not in evaluated:
        return "- Peers: every other message of the same channel."
    judged = evaluated[evaluated["eligible"]]
    kind = int(judged["peers"].str.contains(" other .* flow", regex=True).sum())
    none = int((judged["peers"] == "").sum())
    spread = ""
    if "spread" in tests and len(tests):
        typical = float(np.sqrt(tests.groupby(["channel", "metric"])["spread"].first().median()))
        spread = (f" The limits allow for how much messages of one flow differ from each other (typically ±{typical:.0%}"
                  " of the flow's rate), on top of chance.")
    return ("- Peers: each message is judged against the other messages of its channel in its own flow (the median "
            f"of their rates), not against every message of the channel, since flows differ by nature; {kind} "
            "alone on their channel in their flow were judged against flows of the same kind (purpose and trigger), "
            f"{none} had no such peers and were not judged.{spread}")


def flagged_table(evaluated: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """The flagged and watched messages, readable: one row each, with the metrics as words and each one's ratio.

    Columns `flow_name, message_name, channel, recipients (int), status ("rewrite"|"watch"), metrics` (e.g.
    "conversion rate 61%, revenue per recipient 58%" — the message's rate as a share of its peers'),
    `stage`, `diagnosis` (empty for watched messages), `peers` (what it was compared with).
    """
    picked = evaluated[evaluated["underperforming"] | evaluated["watch"]]
    rows = []
    for r in picked.itertuples(index=False):
        metrics = r.flagged_metrics if r.underperforming else r.watch_metrics
        mine = tests[(tests["message_id"] == r.message_id) & tests["flagged" if r.underperforming else "watch"]]
        against = ", ".join(dict.fromkeys(mine.loc[mine["check"] == "history", "peers"])) if "check" in mine else ""
        rows.append({
            "flow_name": r.flow_name, "message_name": r.message_name, "channel": r.channel,
            "recipients": int(r.recipients), "status": "rewrite" if r.underperforming else "watch",
            "metrics": ", ".join(_metric_words(mine[mine["metric"] == m]) for m in metrics),
            "stage": r.stage or "", "diagnosis": r.diagnosis or "",
            "peers": "; ".join(w for w in (getattr(r, "peers", ""), against) if w),
        })
    columns = ["flow_name", "message_name", "channel", "recipients", "status", "metrics", "stage", "diagnosis", "peers"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["status", "flow_name", "message_name"], ignore_index=True)


def _metric_words(rows: pd.DataFrame) -> str:
    """"click rate 61%" (share of its peers' rate), or "click rate 68% of its own earlier rate"."""
    parts = []
    for t in rows.itertuples(index=False):
        own = getattr(t, "check", "peers") == "history"
        parts.append(f"{t.metric.replace('_', ' ')} {t.ratio:.0%}{' of its own earlier rate' if own else ''}")
    return ", ".join(parts)


# Which generation app rewrites which part (the notebook may override the ids for its workspace).
DEFAULT_APPS: dict[str, str] = {
    "subject_preview": "email-subject-line",
    "body_cta": "email-body",
    "offer": "email-body",
    "sms": "sms-message",
}
_GOALS = {
    "body_cta": "get readers who opened to click through: a clearer body and one strong call to action",
    "offer": "turn clicks into orders: a more compelling, concrete offer",
}


def _text(x) -> str:
    """Content cells may be None or NaN (an SMS has no subject); requests need plain strings."""
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)


def _pct(x: float) -> str:
    return f"{x:.1%}" if pd.notna(x) else "n/a"


def _numbers(t) -> str:
    """One test's numbers for a rewrite's context: "click rate 2.1% vs peers 3.9% (54% of peers)"."""
    def show(x: float) -> str:
        return _pct(x) if t.metric != "revenue_per_recipient" else f"{x:.2f}"
    if getattr(t, "check", "peers") == "history":
        return (f"{t.metric.replace('_', ' ')} {show(t.rate)} vs {show(t.peer_rate)} in its own earlier weeks "
                f"({t.ratio:.0%} of before)")
    return f"{t.metric.replace('_', ' ')} {show(t.rate)} vs peers {show(t.peer_rate)} ({t.ratio:.0%} of peers)"


def rewrite_requests(
    messages: pd.DataFrame, tests: pd.DataFrame, variants: int = 2, apps: dict[str, str] | None = None
) -> list[dict]:
    """One Generate request per flagged message and variant: `{message_id, channel, part, variant, app_id,
    input_data}`. The context carries the flow's purpose and the numbers that flagged the message, and the
    original text of exactly the part being rewritten.
    """
    apps = {**DEFAULT_APPS, **(apps or {})}
    out = []
    for row in messages[messages["underperforming"]].itertuples(index=False):
        mine = tests[(tests["message_id"] == row.message_id) & tests["flagged"]]
        numbers = "; ".join(_numbers(t) for t in mine.itertuples(index=False))
        trigger = getattr(row, "trigger_type", None) or "unknown trigger"
        context = (
            f"Klaviyo flow '{row.flow_name}' ({trigger}), message '{row.message_name}', {int(row.recipients):,} "
            f"recipients. Problem: {row.diagnosis}. Numbers: {numbers}. Rewrite only this part; keep the "
            "flow's purpose."
        )
        product = f"{row.flow_name}: {row.message_name}"
        if row.channel == "sms":
            app, original = apps["sms"], _text(row.body)
        elif row.rewrite_part == "subject_preview":
            app = apps["subject_preview"]
            original = f"Subject: {_text(row.subject)} | Preview: {_text(row.preview_text)}"
        else:
            app, original = apps[row.rewrite_part], _text(row.body)
        for k in range(1, variants + 1):
            data = {"product": product, "original": original, "context": context, "variant": k}
            if row.channel == "email" and row.rewrite_part in _GOALS:
                data["goal"] = _GOALS[row.rewrite_part]
            out.append({"message_id": row.message_id, "channel": row.channel, "part": row.rewrite_part,
                        "variant": k, "app_id": app, "input_data": data})
    return out


def parse_rewrite(channel: str, part: str, text: str) -> dict:
    """Split generated markdown into the fields Klaviyo takes: `subject`, `preview_text` or `body`.

    Subject-line apps answer "Subject: ... / Preview text: ..." (labels optionally bold); without labels the
    first line is the subject. Body and SMS text is kept whole, markdown emphasis removed.
    """
    clean = text.replace("**", "").strip()
    if channel == "email" and part == "subject_preview":
        fields = {"subject": None, "preview_text": None}
        for line in clean.splitlines():
            label, sep, value = line.partition(":")
            key = label.strip().lower()
            if sep and key in {"subject", "subject line"}:
                fields["subject"] = value.strip()
            elif sep and key in {"preview", "preview text", "preheader"}:
                fields["preview_text"] = value.strip()
        if fields["subject"] is None:
            lines = [ln.strip() for ln in clean.splitlines() if ln.strip()]
            fields["subject"] = lines[0] if lines else ""
        return fields
    return {"body": clean}
