"""POST /api/flow-series-reports: the flow-values statistics per day, week or month, from the same daily counts.

Each step of a series sums the stored daily counts (``store.messaging.flow_daily``) of the UTC days it covers,
and the steps partition the timeframe's days, so a series summed over its steps is the flow-values report
of the same timeframe, count for count. Steps: ``daily`` one UTC day each (timeframe at most 60 days),
``weekly`` seven days each counted from the timeframe's first day (the last step may be shorter),
``monthly`` the calendar months the timeframe touches (at most 52 weeks), as the document limits them.
``hourly`` is refused with a 400: the store keeps daily counts only. ``date_times[i]`` is the start of step
``i`` (UTC, the sandbox account's timezone).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from ..store.messaging import S
from .call import Call, bad_param, encode_cursor
from .reports import (
    DAY,
    FLOW_DEFAULT,
    FLOW_REQUIRED,
    FLOW_SCALAR,
    PAGE,
    TAGS,
    _body,
    _days,
    _groups,
    conversion_metric,
    flow_objects,
    flow_relationships,
    selected,
    statistics,
    window,
)

KIND = "flow-series-report"
REQUIRED = ("statistics", "timeframe", "interval", "conversion_metric_id")
INTERVALS = ("daily", "hourly", "monthly", "weekly")
# The longest timeframe each interval allows (the document: daily 60 days, monthly 52 weeks; weekly is bound
# only by the one-year limit of every timeframe).
LONGEST = {"daily": 60 * DAY, "monthly": 52 * 7 * DAY}


def _check_interval(interval: object, start: float, end: float) -> str:
    if interval not in INTERVALS:
        raise bad_param("interval", f"'{interval}' is not a valid interval (one of {', '.join(INTERVALS)}).")
    if interval == "hourly":
        raise bad_param("interval", "interval 'hourly' is not emulated: the sandbox keeps daily counts only; "
                                    "use daily, weekly or monthly.")
    longest = LONGEST.get(str(interval))
    # A custom range includes its last day (see reports._days): allow that day on top of the limit.
    if longest and end - start >= longest + DAY:
        days = longest // DAY
        raise bad_param("interval", f"With interval '{interval}' the timeframe cannot be longer than "
                                    f"{days} days ({days // 7} weeks); use a shorter timeframe or a longer interval.")
    return str(interval)


def steps(store, interval: str, days: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(date_time, day indices) per step of the series, oldest first; day index 0 is yesterday."""
    chron = np.sort(days)[::-1]  # oldest day first
    starts = store.t_end - (chron + 1) * DAY
    if interval == "daily":
        groups = [np.array([d]) for d in chron]
    elif interval == "weekly":
        groups = [chron[k:k + 7] for k in range(0, len(chron), 7)]
    else:
        months = [(t.year, t.month) for t in (datetime.fromtimestamp(s, UTC) for s in starts)]
        cuts = [k for k in range(1, len(months)) if months[k] != months[k - 1]]
        groups = np.split(chron, cuts) if len(chron) else []
    out = []
    for g in groups:
        first = datetime.fromtimestamp(store.t_end - (int(g[0]) + 1) * DAY, UTC)
        out.append((first.isoformat(), g))
    return out


def _series(daily: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
    """Summed counts per step: steps x statistics."""
    return np.stack([daily[idx].sum(axis=0) for idx in parts]) if parts else np.zeros((0, daily.shape[-1]))


def _rows(store, attrs: dict, parts: list[np.ndarray]) -> dict[tuple, np.ndarray]:
    """Per grouping key, its counts per step (messages that sent nothing in the timeframe are left out)."""
    metric = conversion_metric(store, attrs)
    groups = _groups(attrs, FLOW_SCALAR, FLOW_REQUIRED, FLOW_DEFAULT, TAGS)
    rows: dict[tuple, np.ndarray] = {}
    for obj in selected(flow_objects(store), attrs, FLOW_SCALAR):
        counts = _series(store.messaging.flow_daily[obj["row"]], parts)
        if counts[:, S["recipients"]].sum() <= 0:
            continue
        if metric is not store.placed_order:  # conversions count only for the metric asked for
            for s in ("conversions", "conversion_uniques", "conversion_value"):
                counts[:, S[s]] = 0
        key = tuple(obj[g] for g in groups)
        rows[key] = rows[key] + counts if key in rows else counts
    return {"groups": groups, "rows": rows}


def flow_series(store, call: Call) -> dict:
    attrs = _body(call, KIND, REQUIRED)
    start, end = window(store, attrs["timeframe"])
    interval = _check_interval(attrs["interval"], start, end)
    plan = steps(store, interval, _days(store, attrs["timeframe"]))
    found = _rows(store, attrs, [idx for _, idx in plan])
    results = []
    for key, counts in sorted(found["rows"].items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        per_step = [statistics(t, attrs["statistics"]) for t in counts]
        results.append({"groupings": dict(zip(found["groups"], key, strict=True)),
                        "statistics": {name: [s[name] for s in per_step] for name in attrs["statistics"]}})
    offset = call.cursor()
    page = results[offset:offset + PAGE]
    links = {"self": call.url()}
    if offset + PAGE < len(results):
        links["next"] = call.url(page_cursor=encode_cursor(offset + PAGE))
    # fields[flow-series-report] is accepted and both attributes are always sent: the document's response
    # schema requires results and date_times (as the values reports, which ignore their sparse fieldset too).
    attributes = {"results": page, "date_times": [t for t, _ in plan]}
    return {"data": {"type": KIND, "attributes": attributes, "relationships": flow_relationships(page)},
            "links": links}


HANDLERS = {"POST /api/flow-series-reports": flow_series}
