"""GET handlers for the Klaviyo collections, with their filters and sorts.

Each handler selects row indices (numpy arrays or ranges, never per-row objects) or store objects, and
``graph.page`` slices one page by the cursor offset and renders only that page. Objects by id and the
relationship endpoints are ``graph.py``'s generic handlers; events are ``events.py``.
"""

from __future__ import annotations

import numpy as np

from ..store.profiles import EMAIL_SUPPRESSED
from . import events
from . import graph as G
from .call import Call, bad_param, not_found
from .filters import Condition
from .render import iso
from .select import CMP as _CMP
from .select import match_objects as _match_objects
from .select import sort_objects as _sort_objects
from .select import time_value as _time_value


def _as_list(c: Condition) -> list:
    return c.value if isinstance(c.value, list) else [c.value]


def _apply_time(values: np.ndarray, rows, conds: list[Condition]):
    for c in conds:
        rows = np.asarray(rows)
        rows = rows[_CMP[c.op](values[rows], _time_value(c))]
    return rows


def _sort(call: Call, rows, keys: dict):
    """Order rows by the ``sort`` parameter; keys maps a sort field to a function rows -> sort keys."""
    sort = call.query.get("sort")
    if not sort:
        return rows
    name = sort.lstrip("-")
    rows = np.asarray(rows, dtype=np.int64)  # an empty range would otherwise be float and fail as an index
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
            # Global suppressions (email_state > 0) carry a reason and the profile's updated time; the
            # sandbox has no list suppressions.
            rows = np.asarray(rows)
            suppressed = rows[p.email_state[rows] > 0]
            if c.field.endswith("suppression.reason"):
                reasons = np.array([""] + [r for _, r, _ in EMAIL_SUPPRESSED])
                rows = suppressed[reasons[p.email_state[suppressed]] == str(c.value)]
            elif c.field == "subscriptions.email.marketing.suppression.timestamp":
                rows = _apply_time(p.updated, suppressed, [Condition(c.op, c.field, c.value)])
            else:
                rows = rows[:0]
    rows = _sort(call, rows, {
        "created": lambda r: p.created[r], "id": lambda r: r, "updated": lambda r: p.updated[r],
        "email": lambda r: np.array([p.email(i) for i in r]),
        "subscriptions.email.marketing.suppression.timestamp": lambda r: p.updated[r],
        "subscriptions.email.marketing.list_suppressions.timestamp": lambda r: p.updated[r]})
    return G.page(store, "profile", rows, call, obj_of=int)


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
    return G.page(store, "profile", rows, call, obj_of=int,
                  extra_of=lambda i: {"joined_group_at": iso(int(joined[i]))})


def segment_relationship_profiles(store, call: Call) -> dict:
    seg = _segment(store, call)
    rows, _ = _segment_rows(store, call, seg)
    size, offset = call.page_size(), call.cursor()
    return {"data": [{"type": "profile", "id": store.profiles.id_of(int(i))} for i in rows[offset:offset + size]],
            "links": call.page_links(offset, size, len(rows))}


# --- segments -------------------------------------------------------------------------------------
SEGMENT_FIELDS = {"id": lambda s: s.id, "name": lambda s: s.name, "created": lambda s: s.created,
                  "updated": lambda s: s.updated, "is_active": lambda s: True, "is_starred": lambda s: s.starred}


def list_segments(store, call: Call) -> dict:
    segs = _sort_objects(_match_objects(store.segments, call, SEGMENT_FIELDS), call, SEGMENT_FIELDS)
    return G.page(store, "segment", segs, call)


# --- flows ----------------------------------------------------------------------------------------
FLOW_FIELDS = {"id": lambda f: f.id, "name": lambda f: f.name, "status": lambda f: f.status,
               "archived": lambda f: False, "created": lambda f: f.created, "updated": lambda f: f.updated,
               "trigger_type": lambda f: f.trigger_type}


def list_flows(store, call: Call) -> dict:
    flows = _sort_objects(_match_objects(store.messaging.flows, call, FLOW_FIELDS), call, FLOW_FIELDS)
    return G.page(store, "flow", flows, call)


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
    return G.page(store, "campaign", camps, call)


# --- metrics --------------------------------------------------------------------------------------
METRIC_FIELDS = {"integration.name": lambda m: m.integration["name"],
                 "integration.category": lambda m: m.integration["category"]}


def list_metrics(store, call: Call) -> dict:
    metrics = _match_objects(store.metrics, call, METRIC_FIELDS)
    offset = call.cursor()
    return G.document(store, "metric", metrics[offset:offset + 200], call, call.page_links(offset, 200, len(metrics)))


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
    return G.page(store, "catalog-item", rows, call)


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
    return G.page(store, "catalog-category", rows, call)


HANDLERS = {
    "GET /api/profiles": list_profiles,
    "GET /api/segments": list_segments,
    "GET /api/segments/{id}/profiles": segment_profiles,
    "GET /api/segments/{id}/relationships/profiles": segment_relationship_profiles,
    "GET /api/flows": list_flows,
    "GET /api/campaigns": list_campaigns,
    "GET /api/metrics": list_metrics,
    "GET /api/events": events.list_events,
    "GET /api/catalog-items": list_catalog_items,
    "GET /api/catalog-categories": list_catalog_categories,
}
