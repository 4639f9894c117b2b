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

from .stats import holm, revenue_per_recipient_ztest, two_proportion_ztest
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


def evaluate_messages(
    perf: pd.DataFrame,
    min_recipients: int = 500,
    significance: float = 0.05,
    min_relative_gap: float = 0.25,
    order_value_cv: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test every eligible message against its channel peers; returns `(tests, messages)`.

    `perf` is `message_performance(...)`. `tests` has one row per (message, metric) test run: `rate,
    peer_rate, ratio, z, p_value, p_holm, significant, material, flagged`. `messages` is `perf` plus
    `eligible` (enough recipients), `evaluated` (at least one test ran), `underperforming`,
    `flagged_metrics` (tuple), `stage`, `rewrite_part`, `diagnosis`, and `watch` / `watch_metrics`: not
    flagged, but materially lower on those metrics without the evidence to confirm it (tests also get a
    `watch` column). Low-volume messages are kept and shown but never flagged.
    """
    rows = []
    perf = perf.reset_index(drop=True)
    eligible = (perf["recipients"] >= min_recipients) & perf["channel"].isin(list(CHANNEL_METRICS))
    for channel, metrics in CHANNEL_METRICS.items():
        group = perf[eligible & (perf["channel"] == channel)]
        if len(group) < 2:
            continue  # no peers to compare with
        for metric in metrics:
            num, den = RATE_DEFINITIONS[metric]
            x, n = group[num].to_numpy(float), group[den].to_numpy(float)
            # leave-one-out pooling: peers are everyone else in the channel
            x_peer, n_peer = x.sum() - x, n.sum() - n
            ok = (n > 0) & (n_peer > 0)
            if not ok.any():
                continue
            if metric == "revenue_per_recipient":
                conv = group["conversion_uniques"].to_numpy(float)
                z, p = revenue_per_recipient_ztest(
                    x[ok], conv[ok], n[ok], x_peer[ok], conv.sum() - conv[ok], n_peer[ok], order_value_cv
                )
            else:
                z, p = two_proportion_ztest(x[ok], n[ok], x_peer[ok], n_peer[ok], alternative="less")
            rate, peer_rate = x[ok] / n[ok], x_peer[ok] / n_peer[ok]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(peer_rate > 0, rate / np.where(peer_rate > 0, peer_rate, 1), np.nan)
            rows.append(pd.DataFrame({
                "message_id": group["message_id"].to_numpy()[ok], "channel": channel, "metric": metric,
                "recipients": group["recipients"].to_numpy()[ok], "rate": rate, "peer_rate": peer_rate,
                "ratio": ratio, "z": z, "p_value": p,
            }))
    columns = ["message_id", "channel", "metric", "recipients", "rate", "peer_rate", "ratio", "z", "p_value"]
    tests = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
    tests["p_holm"] = holm(tests["p_value"].to_numpy(float)) if len(tests) else pd.Series(dtype=float)
    tests["significant"] = tests["p_holm"] <= significance
    tests["material"] = tests["ratio"] <= 1 - min_relative_gap
    tests["flagged"] = tests["significant"] & tests["material"]
    tests["watch"] = tests["material"] & ~tests["significant"]

    out = perf.copy()
    out["eligible"] = eligible
    out["evaluated"] = out["message_id"].isin(set(tests["message_id"]))
    flagged = tests[tests["flagged"]]
    order = {m: i for i, m in enumerate(STAGES)}
    by_message = flagged.groupby("message_id")["metric"].agg(lambda s: tuple(sorted(s, key=order.get)))
    out["flagged_metrics"] = [by_message.get(m, ()) for m in out["message_id"]]
    out["underperforming"] = out["flagged_metrics"].map(bool)
    watched = tests[tests["watch"]].groupby("message_id")["metric"].agg(lambda s: tuple(sorted(s, key=order.get)))
    out["watch_metrics"] = [() if flagged_ else watched.get(m, ())
                            for m, flagged_ in zip(out["message_id"], out["underperforming"], strict=True)]
    out["watch"] = out["watch_metrics"].map(bool)
    first = out["flagged_metrics"].map(lambda ms: STAGES[ms[0]] if ms else None)
    out["stage"] = first.map(lambda s: s.name if s else None)
    out["rewrite_part"] = first.map(lambda s: s.part if s else None)
    out["diagnosis"] = first.map(lambda s: s.explanation if s else None)
    return tests, out


def flow_funnel(perf: pd.DataFrame) -> pd.DataFrame:
    """Per flow and channel: recipients → delivered → opens → clicks → conversions, plus revenue."""
    cols = ["recipients", "delivered", "opens_unique", "clicks_unique", "conversion_uniques", "conversion_value"]
    return perf.groupby(["flow_id", "flow_name", "channel"], as_index=False)[cols].sum()


def summary_lines(evaluated: pd.DataFrame, tests: pd.DataFrame, rewrites: pd.DataFrame, timeframe: str) -> list[str]:
    """The notebook's closing bullets (markdown): how many messages need a rewrite, the biggest gap, where
    the funnel breaks, and how many rewrites were made and break a channel limit.

    `tests` and `evaluated` come from `evaluate_messages`; `rewrites` has a `checks` column ("ok" when a
    rewrite fits its channel's limits).
    """
    flagged = evaluated[evaluated["underperforming"]]
    lines = [f"- {len(flagged)} of {int(evaluated['evaluated'].sum())} evaluated messages need a rewrite over {timeframe_text(timeframe)}."]
    if len(flagged):
        worst = tests[tests["flagged"]].sort_values("ratio").iloc[0]
        name = evaluated.set_index("message_id").at[worst["message_id"], "message_name"]
        lines.append(f"- The biggest gap: '{name}' ({worst['channel']}) at {worst['ratio']:.0%} of its peers' "
                     f"{worst['metric'].replace('_', ' ')}.")
        stages = flagged["stage"].value_counts()
        lines.append("- Where the funnel breaks: " + ", ".join(f"{n} at {s}" for s, n in stages.items()) + ".")
    if "watch" in evaluated and evaluated["watch"].any():
        watch = evaluated[evaluated["watch"]]
        lines.append(f"- {len(watch)} more on watch — materially below their peers but not confirmed over {timeframe_text(timeframe)}: "
                     + ", ".join(f"'{n}'" for n in watch["message_name"]) + "; check them again over a longer timeframe.")
    low_volume = int((~evaluated["eligible"]).sum())
    lines.append(f"- {low_volume} low-volume messages were not judged; {len(rewrites)} rewrites made"
                 + (f", {int((rewrites['checks'] != 'ok').sum())} of them break a channel limit." if len(rewrites) else "."))
    return lines


def flagged_table(evaluated: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """The flagged and watched messages, readable: one row each, with the metrics as words and each one's ratio.

    Columns `flow_name, message_name, channel, recipients (int), status ("rewrite"|"watch"), metrics` (e.g.
    "conversion rate 61%, revenue per recipient 58%" — the message's rate as a share of its peers'),
    `stage`, `diagnosis` (empty for watched messages).
    """
    picked = evaluated[evaluated["underperforming"] | evaluated["watch"]]
    ratio = tests.set_index(["message_id", "metric"])["ratio"]
    rows = []
    for r in picked.itertuples(index=False):
        metrics = r.flagged_metrics if r.underperforming else r.watch_metrics
        rows.append({
            "flow_name": r.flow_name, "message_name": r.message_name, "channel": r.channel,
            "recipients": int(r.recipients), "status": "rewrite" if r.underperforming else "watch",
            "metrics": ", ".join(f"{m.replace('_', ' ')} {ratio[(r.message_id, m)]:.0%}" for m in metrics),
            "stage": r.stage or "", "diagnosis": r.diagnosis or "",
        })
    columns = ["flow_name", "message_name", "channel", "recipients", "status", "metrics", "stage", "diagnosis"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["status", "flow_name", "message_name"], ignore_index=True)


# GSM 03.38 basic set (1 unit each) and extension table (2 units each); anything else forces UCS-2.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_length(body: str, opt_out: str = "Reply STOP to opt out.") -> dict:
    """Length of an SMS as sent: the body plus opt-out language unless it already says STOP.

    Returns `{"text", "encoding": "GSM-7"|"UCS-2", "units", "segments", "has_opt_out"}`; one segment holds
    160 GSM-7 units (153 when concatenated) or 70 UCS-2 characters (67 when concatenated).
    """
    has_opt_out = "stop" in body.lower()
    text = body if has_opt_out else f"{body.rstrip()} {opt_out}".strip()
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        encoding, units = "GSM-7", sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
    else:
        encoding, units = "UCS-2", sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi = 70, 67
    segments = 1 if units <= single else -(-units // multi)
    return {"text": text, "encoding": encoding, "units": units, "segments": segments, "has_opt_out": has_opt_out}


def check_rewrite(
    channel: str,
    subject: str | None = None,
    preview_text: str | None = None,
    body: str | None = None,
    subject_max: int = 60,
    preview_max: int = 100,
    sms_max_segments: int = 1,
    opt_out: str = "Reply STOP to opt out.",
) -> list[str]:
    """Channel-limit problems of one rewrite, as short sentences (empty list = ready to paste).

    Email: subject <= `subject_max` characters (inbox clients cut longer ones), preview text <= `preview_max`.
    SMS: the body *with* opt-out language must fit in `sms_max_segments` segments (each extra segment is
    billed).
    """
    problems = []
    if channel == "email":
        if subject is not None and len(subject) > subject_max:
            problems.append(f"subject is {len(subject)} characters (limit {subject_max})")
        if subject is not None and not subject.strip():
            problems.append("subject is empty")
        if preview_text is not None and len(preview_text) > preview_max:
            problems.append(f"preview text is {len(preview_text)} characters (limit {preview_max})")
    elif channel == "sms":
        if body is None or not body.strip():
            problems.append("SMS body is empty")
        else:
            info = sms_length(body, opt_out)
            if info["segments"] > sms_max_segments:
                limit = 160 if info["encoding"] == "GSM-7" else 70
                problems.append(
                    f"SMS with opt-out is {info['units']} {info['encoding']} units = {info['segments']} segments "
                    f"(limit {sms_max_segments} x {limit})"
                )
    return problems


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
        numbers = "; ".join(
            f"{t.metric.replace('_', ' ')} {_pct(t.rate) if t.metric != 'revenue_per_recipient' else f'{t.rate:.2f}'}"
            f" vs peers {_pct(t.peer_rate) if t.metric != 'revenue_per_recipient' else f'{t.peer_rate:.2f}'}"
            f" ({t.ratio:.0%} of peers)"
            for t in mine.itertuples(index=False)
        )
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
