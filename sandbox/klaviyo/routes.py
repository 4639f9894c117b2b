"""GET handlers for the Klaviyo collections and objects the notebooks read.

Each handler selects row indices (numpy arrays or ranges, never per-row objects), slices one page by
the cursor offset and renders only that page.
"""

from __future__ import annotations

import numpy as np

from . import render as R
from .call import Call, bad_param, not_found
from .filters import Condition

_CMP = {"greater-than": np.greater, "greater-or-equal": np.greater_equal, "less-than": np.less,
        "less-or-equal": np.less_equal, "equals": np.equal}


def _as_list(c: Condition) -> list:
    return c.value if isinstance(c.value, list) else [c.value]


def _time_value(c: Condition) -> float:
    if not isinstance(c.value, (int, float)) or isinstance(c.value, bool):
        raise bad_param("filter", f"Invalid filter provided: '{c.field}' needs an unquoted ISO-8601 datetime.")
    return float(c.value)


def _apply_time(values: np.ndarray, rows, conds: list[Condition]):
    for c in conds:
        rows = np.asarray(rows)
        rows = rows[_CMP[c.op](values[rows], _time_value(c))]
    return rows


def _page(call: Call, rows, render, extra: dict | None = None) -> dict:
    size = call.page_size()
    offset = call.cursor()
    page = rows[offset:offset + size]
    body = {"data": [render(r) for r in page], "links": call.page_links(offset, size, len(rows))}
    if extra:
        body.update(extra)
    return body


def _sort(call: Call, rows, keys: dict):
    """Order rows by the ``sort`` parameter; keys maps a sort field to a function rows -> sort keys."""
    sort = call.query.get("sort")
    if not sort:
        return rows
    name = sort.lstrip("-")
    rows = np.asarray(rows)
    order = np.argsort(keys[name](rows), kind="stable")
    rows = rows[order]
    return rows[::-1] if sort.startswith("-") else rows


def _index_rows(store, conds: list[Condition]) -> np.ndarray | None:
    """Rows picked by id/email/phone filters, or None when no such filter was given."""
    picked = None
    for c in conds:
        if c.field in ("id", "profile_id"):
            found = [store.profile_index(str(v)) for v in _as_list(c)]
        elif c.field == "email":
            found = [i for v in _as_list(c) for i in [store.profiles.index_from_email(str(v))]
                     if i is not None and i < store.profiles.n and store.profiles.email(i) == str(v)]
        elif c.field == "phone_number":
            found = [store.profiles.index_from_phone(str(v)) for v in _as_list(c)]
            found = [i for i in found if i is not None and i < store.profiles.n]
        elif c.field in ("external_id", "_kx", "push_token"):
            found = []  # the sandbox's profiles have no external ids, push tokens or _kx tokens
        else:
            continue
        rows = np.unique(np.array([i for i in found if i is not None], dtype=np.int64))
        picked = rows if picked is None else np.intersect1d(picked, rows)
    return picked


# --- profiles -------------------------------------------------------------------------------------
def _profile_options(call: Call) -> tuple[set[str], list[str] | None]:
    return set(call.listing("additional-fields[profile]")), call.fields("profile")


def list_profiles(store, call: Call) -> dict:
    p = store.profiles
    rows = _index_rows(store, call.filters)
    created = call.conditions("created")
    if rows is None:
        lo, hi = 0, p.n
        for c in created:
            t = _time_value(c)
            if c.op == "greater-than":
                lo = max(lo, int(np.searchsorted(p.created, t, side="right")))
            else:
                hi = min(hi, int(np.searchsorted(p.created, t, side="left")))
        rows = range(lo, max(lo, hi))
    else:
        rows = _apply_time(p.created, rows, created)
    if call.conditions("updated"):
        rows = _apply_time(p.updated, rows, call.conditions("updated"))
    for c in call.filters:
        if c.field.startswith("subscriptions."):
            # Only unsubscribes are recorded as suppressions in the sandbox.
            rows = np.asarray(rows)
            if c.field.endswith("suppression.reason"):
                rows = rows[~p.email_consent[rows]] if str(c.value) == "UNSUBSCRIBE" else rows[:0]
            elif c.field.endswith("suppression.timestamp"):
                rows = _apply_time(p.updated, rows[~p.email_consent[rows]], [Condition(c.op, c.field, c.value)])
            else:
                rows = rows[:0]
    rows = _sort(call, rows, {
        "created": lambda r: p.created[r], "id": lambda r: r, "updated": lambda r: p.updated[r],
        "email": lambda r: np.array([p.email(i) for i in r]),
        "subscriptions.email.marketing.suppression.timestamp": lambda r: p.updated[r],
        "subscriptions.email.marketing.list_suppressions.timestamp": lambda r: p.updated[r]})
    additional, fields = _profile_options(call)
    return _page(call, rows, lambda i: R.profile(store, int(i), call.base, additional, fields))


def _segment(store, call: Call):
    seg = store.segment_by_id.get(call.args["id"])
    if seg is None:
        raise not_found("segment", call.args["id"])
    return seg


def _segment_rows(store, call: Call, seg):
    p = store.profiles
    rows = seg.members
    picked = _index_rows(store, call.filters)
    if picked is not None:
        rows = np.intersect1d(rows, picked)
    joined = np.maximum(p.created, seg.created)
    rows = _apply_time(joined, rows, call.conditions("joined_group_at"))
    if call.query.get("sort") == "-joined_group_at":
        rows = rows[::-1]
    return rows, joined


def segment_profiles(store, call: Call) -> dict:
    seg = _segment(store, call)
    rows, joined = _segment_rows(store, call, seg)
    additional, fields = _profile_options(call)
    return _page(call, rows, lambda i: R.profile(store, int(i), call.base, additional, fields, int(joined[i])))


def segment_relationship_profiles(store, call: Call) -> dict:
    seg = _segment(store, call)
    rows, _ = _segment_rows(store, call, seg)
    return _page(call, rows, lambda i: {"type": "profile", "id": store.profiles.id_of(int(i))})


# --- segments -------------------------------------------------------------------------------------
def _match_objects(objs: list, call: Call, getters: dict) -> list:
    out = []
    for o in objs:
        ok = True
        for c in call.filters:
            value = getters[c.field](o)
            if c.op in ("greater-than", "greater-or-equal", "less-than", "less-or-equal") or (
                    c.op == "equals" and isinstance(c.value, float) and c.field in ("created", "updated", "created_at",
                                                                                   "updated_at", "scheduled_at")):
                ok = bool(_CMP[c.op](value, _time_value(c)))
            elif c.op == "equals":
                ok = value == c.value
            elif c.op == "any":
                ok = value in c.value
            elif c.op == "contains":
                ok = str(c.value).lower() in str(value).lower()
            elif c.op == "starts-with":
                ok = str(value).startswith(str(c.value))
            elif c.op == "ends-with":
                ok = str(value).endswith(str(c.value))
            if not ok:
                break
        if ok:
            out.append(o)
    return out


def _sort_objects(objs: list, call: Call, getters: dict) -> list:
    sort = call.query.get("sort")
    if not sort:
        return objs
    return sorted(objs, key=lambda o: getters[sort.lstrip("-")](o), reverse=sort.startswith("-"))


SEGMENT_FIELDS = {"id": lambda s: s.id, "name": lambda s: s.name, "created": lambda s: s.created,
                  "updated": lambda s: s.updated, "is_active": lambda s: True, "is_starred": lambda s: s.starred}


def list_segments(store, call: Call) -> dict:
    segs = _sort_objects(_match_objects(store.segments, call, SEGMENT_FIELDS), call, SEGMENT_FIELDS)
    fields = call.fields("segment")
    return _page(call, segs, lambda s: R.segment(store, s, call.base, fields))


def get_segment(store, call: Call) -> dict:
    seg = _segment(store, call)
    count = "profile_count" in call.listing("additional-fields[segment]")
    return {"data": R.segment(store, seg, call.base, call.fields("segment"), count),
            "links": {"self": call.url()}}


# --- flows ----------------------------------------------------------------------------------------
FLOW_FIELDS = {"id": lambda f: f.id, "name": lambda f: f.name, "status": lambda f: f.status,
               "archived": lambda f: False, "created": lambda f: f.created, "updated": lambda f: f.updated,
               "trigger_type": lambda f: f.trigger_type}


def list_flows(store, call: Call) -> dict:
    flows = _sort_objects(_match_objects(store.messaging.flows, call, FLOW_FIELDS), call, FLOW_FIELDS)
    include = set(call.listing("include"))
    fields = call.fields("flow")
    body = _page(call, flows, lambda f: R.flow(store, f, call.base, fields, "flow-actions" in include))
    if "flow-actions" in include:
        shown = {d["id"] for d in body["data"]}
        body["included"] = [R.flow_action(store, a, call.base, call.fields("flow-action"))
                            for f in flows if f.id in shown for a in f.actions]
    return body


def _flow(store, call: Call):
    f = store.messaging.flow_by_id.get(call.args["id"])
    if f is None:
        raise not_found("flow", call.args["id"])
    return f


def get_flow(store, call: Call) -> dict:
    f = _flow(store, call)
    include = set(call.listing("include"))
    definition = "definition" in call.listing("additional-fields[flow]")
    body = {"data": R.flow(store, f, call.base, call.fields("flow"), "flow-actions" in include, definition),
            "links": {"self": call.url()}}
    if "flow-actions" in include:
        body["included"] = [R.flow_action(store, a, call.base, call.fields("flow-action")) for a in f.actions]
    return body


ACTION_FIELDS = {"id": lambda a: a.id, "action_type": lambda a: a.kind.upper().replace("-", "_"),
                 "status": lambda a: "live", "created": lambda a: a.created, "updated": lambda a: a.updated}


def flow_actions(store, call: Call) -> dict:
    f = _flow(store, call)
    actions = _sort_objects(_match_objects(f.actions, call, ACTION_FIELDS), call, ACTION_FIELDS)
    fields = call.fields("flow-action")
    return _page(call, actions, lambda a: R.flow_action(store, a, call.base, fields))


MESSAGE_FIELDS = {"id": lambda m: m.id, "name": lambda m: m.name, "created": lambda m: m.created,
                  "updated": lambda m: m.updated}


def action_messages(store, call: Call) -> dict:
    a = store.messaging.action_by_id.get(call.args["id"])
    if a is None:
        raise not_found("flow-action", call.args["id"])
    msgs = [a.message] if a.message else []
    msgs = _sort_objects(_match_objects(msgs, call, MESSAGE_FIELDS), call, MESSAGE_FIELDS)
    fields = call.fields("flow-message")
    return _page(call, msgs, lambda m: R.flow_message(store, m, call.base, fields))


def get_flow_message(store, call: Call) -> dict:
    m = store.messaging.flow_message_by_id.get(call.args["id"])
    if m is None:
        raise not_found("flow-message", call.args["id"])
    body = {"data": R.flow_message(store, m, call.base, call.fields("flow-message")), "links": {"self": call.url()}}
    if "flow-action" in call.listing("include"):
        body["included"] = [R.flow_action(store, store.messaging.action_by_id[m.action_id], call.base,
                                          call.fields("flow-action"))]
    return body


# --- campaigns ------------------------------------------------------------------------------------
CAMPAIGN_FIELDS = {"id": lambda c: c.id, "messages.channel": lambda c: c.channel, "name": lambda c: c.name,
                   "status": lambda c: c.status, "archived": lambda c: False, "created_at": lambda c: c.created,
                   "scheduled_at": lambda c: c.send_time - 3600, "updated_at": lambda c: c.updated}


def list_campaigns(store, call: Call) -> dict:
    channel = call.conditions("messages.channel")
    if not channel:
        raise bad_param("filter", "A channel filter is required: filter=equals(messages.channel,'email') "
                                  "(or 'sms', 'mobile_push').")
    if channel[0].value not in ("email", "sms", "mobile_push"):
        raise bad_param("filter", f"Invalid filter provided: messages.channel must be email, sms or mobile_push, "
                                  f"not {channel[0].value!r}.")
    camps = _sort_objects(_match_objects(store.messaging.all_campaigns, call, CAMPAIGN_FIELDS), call, CAMPAIGN_FIELDS)
    include = set(call.listing("include"))
    fields = call.fields("campaign")
    body = _page(call, camps, lambda c: R.campaign(store, c, call.base, fields, "campaign-messages" in include))
    if "campaign-messages" in include:
        shown = {d["id"] for d in body["data"]}
        body["included"] = [R.campaign_message(store, c, call.base, call.fields("campaign-message"))
                            for c in camps if c.id in shown]
    return body


def _campaign(store, call: Call):
    c = store.messaging.campaign_by_id.get(call.args["id"])
    if c is None:
        raise not_found("campaign", call.args["id"])
    return c


def get_campaign(store, call: Call) -> dict:
    c = _campaign(store, call)
    include = set(call.listing("include"))
    body = {"data": R.campaign(store, c, call.base, call.fields("campaign"), "campaign-messages" in include),
            "links": {"self": call.url()}}
    if "campaign-messages" in include:
        body["included"] = [R.campaign_message(store, c, call.base, call.fields("campaign-message"))]
    return body


def campaign_messages(store, call: Call) -> dict:
    c = _campaign(store, call)
    body = {"data": [R.campaign_message(store, c, call.base, call.fields("campaign-message"))],
            "links": {"self": call.url()}}
    if "campaign" in call.listing("include"):
        body["included"] = [R.campaign(store, c, call.base, call.fields("campaign"))]
    return body


# --- metrics and events ---------------------------------------------------------------------------
METRIC_FIELDS = {"integration.name": lambda m: m.integration["name"],
                 "integration.category": lambda m: m.integration["category"]}


def list_metrics(store, call: Call) -> dict:
    metrics = _match_objects(store.metrics, call, METRIC_FIELDS)
    fields = call.fields("metric")
    offset = call.cursor()
    page = metrics[offset:offset + 200]
    return {"data": [R.metric(store, m, call.base, fields) for m in page],
            "links": call.page_links(offset, 200, len(metrics))}


def get_metric(store, call: Call) -> dict:
    m = store.metric_by_id.get(call.args["id"])
    if m is None:
        raise not_found("metric", call.args["id"])
    return {"data": R.metric(store, m, call.base, call.fields("metric")), "links": {"self": call.url()}}


def _event_rows(store, call: Call) -> tuple[np.ndarray, np.ndarray]:
    """(kinds, row indices) of the selected events, ordered by time (or by ``sort``)."""
    o = store.orders
    kinds = ["P", "L"]
    for c in call.conditions("metric_id"):
        m = store.metric_by_id.get(str(c.value))
        kinds = [k for k in kinds if m is not None and m.event_kind == k]
    time_conds = call.conditions("datetime") + call.conditions("timestamp")
    parts = []
    for kind in kinds:
        times = o.time if kind == "P" else o.line_time
        lo, hi = 0, len(times)
        for c in time_conds:
            # Check the type before converting: a quoted string here is the caller's error (400), not ours.
            if not isinstance(c.value, (int, float)) or isinstance(c.value, bool):
                raise bad_param("filter", f"Invalid filter provided: '{c.field}' needs an unquoted datetime "
                                          "(or epoch seconds for timestamp).")
            t = float(c.value)
            side = "right" if c.op in ("greater-than", "less-or-equal") else "left"
            pos = int(np.searchsorted(times, t, side=side))
            if c.op.startswith("greater"):
                lo = max(lo, pos)
            else:
                hi = min(hi, pos)
        rows = np.arange(lo, max(lo, hi))
        profile_conds = call.conditions("profile_id")
        if profile_conds:
            idx = store.profile_index(str(profile_conds[0].value))
            owner = o.profile if kind == "P" else o.profile[o.line_order]
            rows = rows[owner[rows] == (-1 if idx is None else idx)]
        parts.append((kind, rows, times[rows]))
    kind_arr = np.concatenate([np.full(len(r), k) for k, r, _ in parts]) if parts else np.array([], dtype="<U1")
    row_arr = np.concatenate([r for _, r, _ in parts]) if parts else np.array([], dtype=np.int64)
    if len(parts) > 1:
        order = np.argsort(np.concatenate([t for _, _, t in parts]), kind="stable")
        kind_arr, row_arr = kind_arr[order], row_arr[order]
    if call.query.get("sort", "").startswith("-"):
        kind_arr, row_arr = kind_arr[::-1], row_arr[::-1]
    return kind_arr, row_arr


def list_events(store, call: Call) -> dict:
    for c in call.filters:
        if c.field in ("profile", "metric"):
            raise bad_param("filter", f"Invalid filter provided: the sandbox does not emulate has({c.field},...); "
                                      "filter on profile_id or metric_id instead.")
    kinds, rows = _event_rows(store, call)
    size, offset = call.page_size(), call.cursor()
    include = set(call.listing("include"))
    fields = call.fields("event")
    data, profiles, metrics = [], {}, {}
    for kind, k in zip(kinds[offset:offset + size], rows[offset:offset + size], strict=True):
        res, row, metric_id = R.event(store, str(kind), int(k), call.base, fields)
        data.append(res)
        profiles[row] = True
        metrics[metric_id] = True
    body = {"data": data, "links": call.page_links(offset, size, len(rows))}
    included = []
    if "profile" in include:
        fp = call.fields("profile")
        included += [R.profile(store, r, call.base, set(), fp) for r in profiles]
    if "metric" in include:
        included += [R.metric(store, store.metric_by_id[m], call.base, call.fields("metric")) for m in metrics]
    if include:
        body["included"] = included
    return body


# --- catalog --------------------------------------------------------------------------------------
def list_catalog_items(store, call: Call) -> dict:
    cat = store.catalog
    rows = list(range(cat.n))
    for c in call.filters:
        if c.field == "ids":
            wanted = set(_as_list(c))
            rows = [k for k in rows if cat.item_id(k) in wanted]
        elif c.field == "category.id":
            rows = [k for k in rows if any(cat.category_id(x) == c.value for x in cat.item_categories[k])]
        elif c.field == "title":
            rows = [k for k in rows if str(c.value).lower() in cat.titles[k].lower()]
        elif c.field == "published":
            rows = [k for k in rows if bool(cat.published[k]) == bool(c.value)]
    if call.query.get("sort"):
        rows = sorted(rows, key=lambda k: cat.created[k], reverse=call.query["sort"].startswith("-"))
    fields = call.fields("catalog-item")
    return _page(call, rows, lambda k: R.catalog_item(store, k, call.base, fields))


def list_catalog_categories(store, call: Call) -> dict:
    cat = store.catalog
    rows = list(range(len(cat.categories)))
    for c in call.filters:
        if c.field == "ids":
            rows = [k for k in rows if cat.category_id(k) in set(_as_list(c))]
        elif c.field == "item.id":
            item = next((k for k in range(cat.n) if cat.item_id(k) == c.value), None)
            rows = [k for k in rows if item is not None and k in cat.item_categories[item]]
        elif c.field == "name":
            rows = [k for k in rows if str(c.value).lower() in cat.categories[k].lower()]
    fields = call.fields("catalog-category")
    return _page(call, rows, lambda k: R.catalog_category(store, k, call.base, fields))


HANDLERS = {
    "GET /api/profiles": list_profiles,
    "GET /api/segments": list_segments,
    "GET /api/segments/{id}": get_segment,
    "GET /api/segments/{id}/profiles": segment_profiles,
    "GET /api/segments/{id}/relationships/profiles": segment_relationship_profiles,
    "GET /api/flows": list_flows,
    "GET /api/flows/{id}": get_flow,
    "GET /api/flows/{id}/flow-actions": flow_actions,
    "GET /api/flow-actions/{id}/flow-messages": action_messages,
    "GET /api/flow-messages/{id}": get_flow_message,
    "GET /api/campaigns": list_campaigns,
    "GET /api/campaigns/{id}": get_campaign,
    "GET /api/campaigns/{id}/campaign-messages": campaign_messages,
    "GET /api/metrics": list_metrics,
    "GET /api/metrics/{id}": get_metric,
    "GET /api/events": list_events,
    "GET /api/catalog-items": list_catalog_items,
    "GET /api/catalog-categories": list_catalog_categories,
}
