"""What moved since the last run: sentences comparing this run with the earlier one of the same kind.

Pure functions, one per job: they take the earlier run (:class:`helpers.report.earlier_runs.Previous`: its recorded
metrics and, through ``previous.csv(name)``, its artifacts) and this run's numbers, and return Markdown
bullets naming what changed — by name, never by id alone. An empty list means nothing moved. Which run
counts as the earlier one is :mod:`helpers.report.earlier_runs`' business, not this module's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from helpers.report.currency import Currency
from helpers.report.earlier_runs import Previous

MAX_NAMES = 4  # names listed in one sentence before "and N more"


def _names(ids: Iterable[str], names: Mapping[str, str]) -> str:
    ids = list(ids)
    shown = [f"'{names.get(i) or i}'" for i in ids[:MAX_NAMES]]
    more = len(ids) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _delta(before: float, after: float) -> str:
    diff = after - before
    return f"{diff:+,.0f}" if diff else "±0"


def _pct_change(before: float, after: float) -> str:
    if not before:
        return ""
    return f" ({(after - before) / before:+.0%})"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _column_map(frame, key: str, value: str) -> dict[str, Any]:
    """``{frame[key]: frame[value]}`` from an earlier artifact; {} when it lacks either column."""
    if frame is None or key not in frame.columns or value not in frame.columns:
        return {}
    return {str(k): v for k, v in zip(frame[key], frame[value], strict=True)}


# ---------------------------------------------------------------------------------------------- 01 tiers


def tiers(
    previous: Previous, tier_counts: Mapping[str, int], clv_at_risk: Mapping[str, float], currency: Currency
) -> list[str]:
    """Tier sizes and CLV at risk per tier, then and now. The earlier CLV at risk comes from its recorded
    ``clv_at_risk_by_tier``, else from its ``tiers.csv``."""
    lines: list[str] = []
    before = {str(k): int(v) for k, v in (previous.metrics.get("tier_counts") or {}).items()}
    now = {str(k): int(v) for k, v in tier_counts.items()}
    if before and set(before) != set(now):
        lines.append(f"The tiers are not the same as on {previous.date} (then: {', '.join(before)}; now: "
                     f"{', '.join(now)}), so sizes are compared only for tiers in both.")
    changed = bool(lines)
    common = [t for t in now if t in before]
    moved = [f"{t} {before[t]:,} → {now[t]:,} ({_delta(before[t], now[t])})" for t in common if before[t] != now[t]]
    if moved:
        changed = True
        lines.append("Tier sizes: " + "; ".join(moved) + ".")
    elif common:
        lines.append("Tier sizes unchanged: " + ", ".join(f"{t} {now[t]:,}" for t in common) + ".")

    risk_before = {str(k): _number(v) for k, v in (previous.metrics.get("clv_at_risk_by_tier") or {}).items()}
    if not risk_before:
        frame = previous.csv("tiers.csv")
        if frame is not None and len(frame.columns):
            risk_before = {k: _number(v) for k, v in _column_map(frame, frame.columns[0], "clv_at_risk").items()}
    risk_now = {str(k): _number(v) for k, v in clv_at_risk.items()}
    both = [t for t in risk_now if risk_before.get(t) is not None and risk_now[t] is not None]
    if both:
        total_before = sum(risk_before[t] for t in both)
        total_now = sum(risk_now[t] for t in both)
        biggest = max(both, key=lambda t: abs(risk_now[t] - risk_before[t]))
        changed = changed or abs(total_now - total_before) >= 0.5
        line = (f"CLV at risk: {currency.format(total_before, 0)} → {currency.format(total_now, 0)}"
                f"{_pct_change(total_before, total_now)}")
        if abs(risk_now[biggest] - risk_before[biggest]) >= 0.5:
            line += (f"; the biggest move is {biggest}, {currency.format(risk_before[biggest], 0)} → "
                     f"{currency.format(risk_now[biggest], 0)}")
        lines.append(line + ".")
    return lines if changed else []


# ---------------------------------------------------------------------------------------------- 02 messages


def messages(
    previous: Previous, flagged: Sequence[str], watch: Sequence[str], names: Mapping[str, str]
) -> list[str]:
    """Messages newly flagged for a rewrite, cleared since, and newly on watch. Names come from this run,
    else from the earlier run's ``messages.csv``."""
    names = {**_column_map(previous.csv("messages.csv"), "message_id", "message_name"), **dict(names)}
    now = set(flagged)
    ids_before = previous.metrics.get("underperforming_message_ids") or []
    before = set(_match_by_name({i: names.get(i, i) for i in ids_before}, {i: names.get(i, i) for i in now},
                                lambda name: name))
    lines = []
    new, cleared, kept = sorted(now - before), sorted(before - now), sorted(now & before)
    if new:
        lines.append(f"Newly flagged for a rewrite: {_names(new, names)}.")
    if cleared:
        lines.append(f"No longer flagged: {_names(cleared, names)}.")
    if (new or cleared) and kept:
        lines.append(f"Still flagged: {_names(kept, names)}.")
    watch_before = set(previous.metrics.get("watch_message_ids") or [])
    new_watch = sorted(set(watch) - watch_before - now)
    if new_watch:
        lines.append(f"Newly on watch: {_names(new_watch, names)}.")
    return lines


# ---------------------------------------------------------------------------------------------- 03 segments


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _plan_entries(frame, names: Mapping[str, str]) -> dict[str, tuple[str, str, str]]:
    """``{segment id: (action, segment name, target name)}`` from a plan frame (``plan.csv``)."""
    if frame is None or not {"segment_id", "action"} <= set(frame.columns):
        return {}
    blank = [None] * len(frame)
    into = frame["into"] if "into" in frame.columns else blank
    into_name = frame["into_name"] if "into_name" in frame.columns else blank
    name = frame["name"] if "name" in frame.columns else frame["segment_id"]
    entries = {}
    for sid, action, target, target_name, label in zip(frame["segment_id"], frame["action"], into, into_name, name,
                                                        strict=True):
        target = _text(target)
        entries[str(sid)] = (str(action), _text(label) or str(sid), _text(target_name) or names.get(target, target))
    return entries


def _match_by_name(before: dict[str, tuple], now: dict[str, tuple], name_of) -> dict[str, tuple]:
    """``before`` re-keyed so that an entry whose id is gone but whose name is still there matches that one:
    ids are stable in an account, but a rebuilt store (another sandbox seed) has new ids for the same names."""
    unmatched_now = {name_of(v): k for k, v in now.items() if k not in before}
    return {(unmatched_now.get(name_of(v), k) if k not in now else k): v for k, v in before.items()}


def _change(action: str, name: str, into: str) -> str:
    return f"{action} '{name}' into '{into}'" if into else f"{action} '{name}'"


def _cut(items: list[str]) -> str:
    return "; ".join(items[:MAX_NAMES]) + (f" and {len(items) - MAX_NAMES} more" if len(items) > MAX_NAMES else "")


def segment_plan(
    previous: Previous, plan, names: Mapping[str, str], counts: Mapping[str, int] | None = None
) -> list[str]:
    """Changes to the simplification plan (``plan.csv``: merges, retirements, folds) and to the number of
    redundant pairs, nested pairs and tiny segments (``counts``, compared with the earlier run's records)."""
    now = _plan_entries(plan, names)
    before = _match_by_name(_plan_entries(previous.csv("plan.csv"), names), now, lambda entry: entry[1])
    lines = []
    added = [_change(*now[s]) for s in now if s not in before]
    dropped = [_change(*before[s]) for s in before if s not in now]
    if added:
        lines.append(f"Newly in the plan: {_cut(added)}.")
    if dropped:
        lines.append(f"No longer in the plan: {_cut(dropped)}.")
    for s in [s for s in now if s in before and (now[s][0], now[s][2]) != (before[s][0], before[s][2])][:MAX_NAMES]:
        was = f"{before[s][0]} into '{before[s][2]}'" if before[s][2] else before[s][0]
        is_now = f"{now[s][0]} into '{now[s][2]}'" if now[s][2] else now[s][0]
        lines.append(f"'{now[s][1]}': was {was}, now {is_now}.")
    moved = []
    for key, label in (("redundant_pairs", "redundant pairs"), ("nested_pairs", "nested pairs"),
                       ("tiny_segments", "tiny segments")):
        if key in (counts or {}) and isinstance(previous.metrics.get(key), list):
            then, now_n = len(previous.metrics[key]), int(counts[key])
            if then != now_n:
                moved.append(f"{label} {then} → {now_n}")
    if moved:
        lines.append("Flagged " + ", ".join(moved) + ".")
    return lines


# ---------------------------------------------------------------------------------------------- 04 pairs


def _pair_key(pair: Sequence) -> tuple[str, str]:
    a, b = str(pair[0]), str(pair[1])
    return (a, b) if a <= b else (b, a)


def pairs(previous: Previous, top_pairs: Sequence[Sequence], titles: Mapping[str, str]) -> list[str]:
    """Top pairs (by lift) gained and lost, and the strongest pair then and now. ``top_pairs``:
    ``[[product id, product id, lift], ...]`` strongest first, as recorded; ``titles``: product id → name
    (this run's catalog; the earlier run's ``pairs.csv`` fills gaps)."""
    earlier = previous.csv("pairs.csv")
    names = {**_column_map(earlier, "product_a", "title_a"), **_column_map(earlier, "product_b", "title_b"),
             **dict(titles)}

    def label(key: tuple[str, str]) -> str:
        return f"{names.get(key[0], key[0])} + {names.get(key[1], key[1])}"

    before = {_pair_key(p): _number(p[2]) if len(p) > 2 else None for p in previous.metrics.get("top_pairs") or []}
    now = {_pair_key(p): _number(p[2]) if len(p) > 2 else None for p in top_pairs}
    lines = []
    gained = [k for k in now if k not in before]
    lost = [k for k in before if k not in now]
    if gained:
        lines.append("New among the top pairs: " + "; ".join(
            f"{label(k)}" + (f" (lift {now[k]:.1f})" if now[k] is not None else "") for k in gained[:MAX_NAMES]) + ".")
    if lost:
        lines.append("Dropped out of the top pairs: " + "; ".join(label(k) for k in lost[:MAX_NAMES]) + ".")
    if before and now:
        first_before, first_now = next(iter(before)), next(iter(now))
        if first_before != first_now:
            lines.append(f"The strongest pair is now {label(first_now)} (it was {label(first_before)}).")
    return lines


# ---------------------------------------------------------------------------------------------- 05 channels


_METRICS = {"click_rate": "click rate", "conversion_rate": "conversion rate",
            "revenue_per_recipient": "revenue per recipient"}


def _channel(name: Any) -> str:
    return {"sms": "SMS", "email": "email"}.get(str(name).lower(), str(name))


def channels(previous: Previous, winner_by_metric: Mapping[str, str], significant: Mapping[str, bool]) -> list[str]:
    """Per metric: a channel winner that changed, or a difference that became (or stopped being)
    significant."""
    won_before = previous.metrics.get("winner_by_metric") or {}
    sig_before = previous.metrics.get("significant") or {}
    lines = []
    for key, label in _METRICS.items():
        if key not in winner_by_metric or key not in won_before:
            continue
        then, now = won_before[key], winner_by_metric[key]
        sig_then, sig_now = bool(sig_before.get(key)), bool(significant.get(key))
        if then != now:
            lines.append(f"{label.capitalize()}: {_channel(now)} now wins ({_channel(then)} did on {previous.date})"
                         + ("" if sig_now else ", not significantly") + ".")
        elif sig_then != sig_now:
            lines.append(f"{label.capitalize()}: {_channel(now)} still wins, and the difference is "
                         + ("now significant." if sig_now else "no longer significant."))
    return lines
