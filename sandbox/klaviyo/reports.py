"""POST /api/flow-values-reports and /api/campaign-values-reports, summed from the stored daily counts."""

from __future__ import annotations

import calendar
import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from ..store.messaging import DAYS, S
from .call import Call, bad_param, encode_cursor
from .filters import FilterError, parse_datetime, parse_filter

DAY = 86400
PAGE = 500
STATISTICS = ["average_order_value", "bounce_rate", "bounced", "bounced_or_failed", "bounced_or_failed_rate",
              "click_rate", "click_to_open_rate", "clicks", "clicks_unique", "conversion_rate", "conversion_uniques",
              "conversion_value", "conversions", "delivered", "delivery_rate", "failed", "failed_rate",
              "message_segment_count_sum", "open_rate", "opens", "opens_unique", "recipients",
              "revenue_per_recipient", "spam_complaint_rate", "spam_complaints", "text_message_credit_usage_amount",
              "text_message_roi", "text_message_spend", "unsubscribe_rate", "unsubscribe_uniques", "unsubscribes"]
TIMEFRAME_KEYS = ["last_12_months", "last_30_days", "last_365_days", "last_3_months", "last_7_days", "last_90_days",
                  "last_month", "last_week", "last_year", "this_month", "this_week", "this_year", "today", "yesterday"]
SMS_COST_PER_SEGMENT = 0.0075


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def statistics(t: np.ndarray, wanted: list[str]) -> dict:
    """Klaviyo's statistics from summed counts; rates are fractions, per delivered message."""
    g = {name: float(t[k]) for name, k in S.items()}
    spend = g["message_segment_count_sum"] * SMS_COST_PER_SEGMENT
    values = {
        "recipients": g["recipients"], "delivered": g["delivered"], "bounced": g["bounced"], "failed": g["failed"],
        "bounced_or_failed": g["bounced"] + g["failed"], "opens": g["opens"], "opens_unique": g["opens_unique"],
        "clicks": g["clicks"], "clicks_unique": g["clicks_unique"], "conversions": g["conversions"],
        "conversion_uniques": g["conversion_uniques"], "conversion_value": round(g["conversion_value"], 2),
        "unsubscribes": g["unsubscribes"], "unsubscribe_uniques": g["unsubscribes"],
        "spam_complaints": g["spam_complaints"], "message_segment_count_sum": g["message_segment_count_sum"],
        "delivery_rate": _ratio(g["delivered"], g["recipients"]), "bounce_rate": _ratio(g["bounced"], g["recipients"]),
        "failed_rate": _ratio(g["failed"], g["recipients"]),
        "bounced_or_failed_rate": _ratio(g["bounced"] + g["failed"], g["recipients"]),
        "open_rate": _ratio(g["opens_unique"], g["delivered"]), "click_rate": _ratio(g["clicks_unique"], g["delivered"]),
        "click_to_open_rate": _ratio(g["clicks_unique"], g["opens_unique"]),
        "conversion_rate": _ratio(g["conversion_uniques"], g["delivered"]),
        "revenue_per_recipient": _ratio(g["conversion_value"], g["delivered"]),
        "average_order_value": _ratio(g["conversion_value"], g["conversions"]),
        "spam_complaint_rate": _ratio(g["spam_complaints"], g["delivered"]),
        "unsubscribe_rate": _ratio(g["unsubscribes"], g["delivered"]),
        "text_message_credit_usage_amount": g["message_segment_count_sum"],
        "text_message_spend": round(spend, 4), "text_message_roi": _ratio(g["conversion_value"], spend),
    }
    return {name: values[name] for name in wanted}


def _bounds(key: str, t_end: int, now: float) -> tuple[float, float]:
    today = datetime.fromtimestamp(t_end, UTC)

    def ts(d: datetime) -> float:
        return d.timestamp()

    def months_back(d: datetime, n: int) -> datetime:
        y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
        return d.replace(year=y, month=m + 1, day=min(d.day, calendar.monthrange(y, m + 1)[1]))

    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    year_start = today.replace(month=1, day=1)
    days = {"last_7_days": 7, "last_30_days": 30, "last_90_days": 90, "last_365_days": 365}
    if key in days:
        return t_end - days[key] * DAY, t_end
    return {
        "today": (t_end, now), "yesterday": (t_end - DAY, t_end),
        "this_week": (ts(week_start), now), "last_week": (ts(week_start - timedelta(days=7)), ts(week_start)),
        "this_month": (ts(month_start), now), "last_month": (ts(months_back(month_start, 1)), ts(month_start)),
        "this_year": (ts(year_start), now), "last_year": (ts(year_start.replace(year=year_start.year - 1)), ts(year_start)),
        "last_3_months": (ts(months_back(today, 3)), t_end), "last_12_months": (ts(months_back(today, 12)), t_end),
    }[key]


def _days(store, timeframe) -> np.ndarray:
    """Day indices (0 = yesterday) of the UTC days that overlap the timeframe (custom ranges include both ends)."""
    start, end = window(store, timeframe)
    day_starts = store.t_end - (np.arange(DAYS) + 1) * DAY
    return np.flatnonzero((day_starts + DAY > start) & (day_starts < end))


def window(store, timeframe) -> tuple[float, float]:
    """The timeframe's (start, end) in epoch seconds, or a 400 that says what is wrong with it."""
    if not isinstance(timeframe, dict):
        raise bad_param("timeframe", "timeframe must be an object: {\"key\": \"last_30_days\"} or {\"start\", \"end\"}.")
    if "key" in timeframe:
        if timeframe["key"] not in TIMEFRAME_KEYS:
            raise bad_param("timeframe", f"'{timeframe['key']}' is not a valid timeframe key "
                                         f"(one of {', '.join(TIMEFRAME_KEYS)}).")
        start, end = _bounds(timeframe["key"], store.t_end, time.time())
    elif "start" in timeframe and "end" in timeframe:
        try:
            start, end = parse_datetime(str(timeframe["start"])), parse_datetime(str(timeframe["end"]))
        except FilterError as exc:
            raise bad_param("timeframe", f"Invalid timeframe: {exc}.") from exc
        if end <= start:
            raise bad_param("timeframe", "timeframe end must be after its start.")
        if end - start > 366 * DAY:
            raise bad_param("timeframe", "A custom timeframe can be at most 1 year long.")
    else:
        raise bad_param("timeframe", "timeframe needs either 'key' or both 'start' and 'end'.")
    return start, end


def _body(call: Call, kind: str, required: tuple[str, ...] = ("statistics", "timeframe", "conversion_metric_id")) -> dict:
    try:
        body = json.loads(call.request.get_data(as_text=True) or "null")
    except json.JSONDecodeError as exc:
        raise bad_param("body", f"Request body is not valid JSON: {exc.msg}.") from exc
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("type") != kind or not isinstance(data.get("attributes"), dict):
        raise bad_param("body", f"Body must be {{\"data\": {{\"type\": \"{kind}\", \"attributes\": {{...}}}}}}.")
    attrs = data["attributes"]
    for name in required:
        if name not in attrs:
            raise bad_param(name, f"'{name}' is required in data.attributes.")
    stats = attrs["statistics"]
    if not isinstance(stats, list) or not stats:
        raise bad_param("statistics", "statistics must be a non-empty list.")
    for s in stats:
        if s not in STATISTICS:
            raise bad_param("statistics", f"'{s}' is not a valid statistic.")
    return attrs


def conversion_metric(store, attrs: dict):
    """The report's conversion metric, or the 400 Klaviyo answers for an unknown id."""
    metric = store.metric_by_id.get(str(attrs["conversion_metric_id"]))
    if metric is None:
        raise bad_param("conversion_metric_id", f"Metric {attrs['conversion_metric_id']} does not exist.")
    return metric


def selected(objects: list[dict], attrs: dict, scalar: list[str]) -> list[dict]:
    """The objects the report's ``filter`` keeps."""
    conditions = _conditions(attrs, scalar)
    return [obj for obj in objects if all(_matches(obj, c) for c in conditions)]


def _report(store, call: Call, kind: str, objects: list[dict], daily: np.ndarray, scalar: list[str],
            required_groups: list[str], default_groups: list[str], unsupported: list[str]) -> dict:
    attrs = _body(call, kind)
    days = _days(store, attrs["timeframe"])
    metric = conversion_metric(store, attrs)
    groups = _groups(attrs, scalar, required_groups, default_groups, unsupported)
    rows: dict[tuple, np.ndarray] = {}
    for obj in selected(objects, attrs, scalar):
        window = daily[obj["row"]][days].sum(axis=0)
        if window[S["recipients"]] <= 0:
            continue
        if metric is not store.placed_order:
            window = window.copy()
            for s in ("conversions", "conversion_uniques", "conversion_value"):
                window[S[s]] = 0
        key = tuple(obj[g] for g in groups)
        rows[key] = rows[key] + window if key in rows else window
    results = [{"groupings": dict(zip(groups, key, strict=True)), "statistics": statistics(t, attrs["statistics"])}
               for key, t in sorted(rows.items(), key=lambda kv: tuple(str(x) for x in kv[0]))]
    return _page(call, kind, results)


def _groups(attrs: dict, scalar: list[str], required: list[str], default: list[str], unsupported: list[str]) -> list:
    """The request's ``group_by`` (else ``default``), or a 400 for a value not emulated, not valid, or
    missing one that the report requires."""
    groups = attrs.get("group_by") or default
    for g in groups:
        if g in unsupported:
            raise bad_param("group_by", f"group_by '{g}' is not emulated by the sandbox.")
        if g not in scalar:
            raise bad_param("group_by", f"'{g}' is not a valid group_by value.")
    missing = [g for g in required if g not in groups]
    if missing:
        raise bad_param("group_by", f"group_by must include {', '.join(missing)}.")
    return groups


def _conditions(attrs: dict, scalar: list[str]) -> list:
    """The body's ``filter`` parsed, at most one condition per attribute, or a 400."""
    allowed = {f: ["contains-any", "equals"] for f in scalar}
    allowed.update({"tag_id": ["contains-all", "contains-any"], "tag_name": ["contains-all", "contains-any"]})
    try:
        conditions = parse_filter(attrs["filter"], allowed) if attrs.get("filter") else []
    except FilterError as exc:
        raise bad_param("filter", f"Invalid filter provided: {exc}") from exc
    seen = set()
    for c in conditions:
        if c.field in seen:
            raise bad_param("filter", f"Only one filter can be used per attribute ('{c.field}').")
        seen.add(c.field)
    return conditions


def _matches(obj: dict, c) -> bool:
    """Whether a report row's object passes condition ``c``; nothing carries tags here, so a tag filter
    matches none."""
    if c.op == "contains-any":
        return obj.get(c.field) in c.value
    return obj.get(c.field) == c.value if c.field not in ("tag_id", "tag_name") else False


def _page(call: Call, kind: str, results: list[dict]) -> dict:
    """The page of ``results`` the request's cursor points at, with a ``next`` link while more remain."""
    offset = call.cursor()
    page = results[offset:offset + PAGE]
    links = {"self": call.url()}
    if offset + PAGE < len(results):
        links["next"] = call.url(page_cursor=encode_cursor(offset + PAGE))
    return {"data": {"type": kind, "attributes": {"results": page}}, "links": links}


# What a flow report (values or series) may group and filter by; the required and default groupings.
FLOW_SCALAR = ["flow_id", "flow_message_id", "flow_message_name", "flow_name", "send_channel", "text_message_format",
               "variation", "variation_name"]
FLOW_REQUIRED = ["flow_id", "flow_message_id"]
FLOW_DEFAULT = ["flow_id", "flow_message_id", "send_channel"]
TAGS = ["tag_id", "tag_name"]


def flow_objects(store) -> list[dict]:
    """One report row source per flow message: its groupings and its row of the daily table."""
    m = store.messaging
    return [{"row": msg.row, "flow_id": m.flows[msg.flow_index].id, "flow_message_id": msg.id,
             "send_channel": msg.channel, "flow_name": m.flows[msg.flow_index].name,
             "flow_message_name": msg.name, "variation": None, "variation_name": None,
             "text_message_format": "SMS" if msg.channel == "sms" else None} for msg in m.flow_messages]


def flow_relationships(results: list[dict]) -> dict:
    """The flows and flow messages a flow report's results name."""
    flows = sorted({r["groupings"]["flow_id"] for r in results})
    msgs = sorted({r["groupings"]["flow_message_id"] for r in results})
    return {"flows": {"data": [{"type": "flow", "id": f} for f in flows]},
            "flow-messages": {"data": [{"type": "flow-message", "id": i} for i in msgs]}}


def flow_values(store, call: Call) -> dict:
    body = _report(store, call, "flow-values-report", flow_objects(store), store.messaging.flow_daily,
                   FLOW_SCALAR, FLOW_REQUIRED, FLOW_DEFAULT, TAGS)
    body["data"]["relationships"] = flow_relationships(body["data"]["attributes"]["results"])
    return body


def campaign_values(store, call: Call) -> dict:
    m = store.messaging
    objects = [{"row": c.row, "campaign_id": c.id, "campaign_message_id": c.message_id, "send_channel": c.channel,
                "campaign_message_name": c.name, "variation": None, "variation_name": None, "group": None,
                "group_name": None, "text_message_format": "SMS" if c.channel == "sms" else None}
               for c in m.campaigns]
    body = _report(store, call, "campaign-values-report", objects, m.campaign_daily,
                   ["campaign_id", "campaign_message_id", "campaign_message_name", "group", "group_name",
                    "send_channel", "text_message_format", "variation", "variation_name"],
                   ["campaign_id", "campaign_message_id"], ["campaign_id", "campaign_message_id", "send_channel"],
                   ["tag_id", "tag_name"])
    res = body["data"]["attributes"]["results"]
    camps = sorted({r["groupings"]["campaign_id"] for r in res})
    msgs = sorted({r["groupings"]["campaign_message_id"] for r in res})
    body["data"]["relationships"] = {
        "campaigns": {"data": [{"type": "campaign", "id": c} for c in camps]},
        "campaign-messages": {"data": [{"type": "campaign-message", "id": i} for i in msgs]}}
    return body


HANDLERS = {"POST /api/flow-values-reports": flow_values, "POST /api/campaign-values-reports": campaign_values}
