"""JSON:API resource objects of revision 2026-07-15, rendered from the store on demand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np

from ..store.ids import event_id, short_id
from ..store.profiles import COUNTRIES, FIRST_NAMES, LAST_NAMES, LOYALTY, PLACES, SOURCES

CHANNEL_ORDERS = [["email", "sms", "push"], ["sms", "email", "push"], ["email", "push", "sms"]]


def iso(t: float | int | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def sparse(attrs: dict, fields: list[str] | None) -> dict:
    """Keep only the requested attributes; dotted names select nested keys ("location.city")."""
    if fields is None:
        return attrs
    out: dict = {}
    for f in fields:
        parts = f.split(".")
        src, dst = attrs, out
        for k, part in enumerate(parts):
            if not isinstance(src, dict) or part not in src:
                break
            if k == len(parts) - 1:
                dst[part] = src[part]
            else:
                src = src[part]
                if src is None:
                    dst[part] = None
                    break
                dst = dst.setdefault(part, {})
    return out


def rel(base: str, kind: str, ident: str, name: str, data=None) -> dict:
    out = {"links": {"self": f"{base}/api/{kind}/{ident}/relationships/{name}/",
                     "related": f"{base}/api/{kind}/{ident}/{name}/"}}
    if data is not None:
        out["data"] = data
    return out


def _num(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else round(x, 2)


def profile(store, i: int, base: str, additional: set[str], fields: list[str] | None,
            joined_at: int | None = None) -> dict:
    p = store.profiles
    pid = p.id_of(i)
    region, city, tz = PLACES[p.place[i]]
    attrs = {
        "email": p.email(i), "phone_number": p.phone(i), "external_id": None,
        "first_name": str(FIRST_NAMES[p.first[i]]), "last_name": str(LAST_NAMES[p.last[i]]),
        "organization": None, "locale": "en-US", "title": None, "image": None,
        "created": iso(p.created[i]), "updated": iso(p.updated[i]), "last_event_date": iso(p.last_event[i]),
        "location": {"address1": None, "address2": None, "city": city, "country": str(COUNTRIES[p.country[i]]),
                     "region": region, "zip": None, "timezone": tz, "ip": None},
        "properties": {"engagement_score": float(p.engagement[i]), "loyalty_tier": str(LOYALTY[p.loyalty[i]]),
                       "signup_source": str(SOURCES[p.source[i]]), "favorite_category": p.categories[p.favorite[i]],
                       "beta_tester": bool(p.beta[i]), "wholesale_interest": bool(p.wholesale[i])},
    }
    if joined_at is not None:
        attrs["joined_group_at"] = iso(joined_at)
    if "subscriptions" in additional:
        attrs["subscriptions"] = subscriptions(store, i)
    if "predictive_analytics" in additional:
        attrs["predictive_analytics"] = predictive(store, i)
    return {"type": "profile", "id": pid, "attributes": sparse(attrs, fields),
            "relationships": {"lists": rel(base, "profiles", pid, "lists"),
                              "segments": rel(base, "profiles", pid, "segments")},
            "links": {"self": f"{base}/api/profiles/{pid}/"}}


def subscriptions(store, i: int) -> dict:
    p = store.profiles
    since = iso(p.created[i])
    email_ok, sms_ok = bool(p.email_consent[i]), bool(p.sms_consent[i])
    return {
        "email": {"marketing": {
            "can_receive_email_marketing": email_ok, "consent": "SUBSCRIBED" if email_ok else "UNSUBSCRIBED",
            "consent_timestamp": since, "last_updated": since, "method": "FORM" if email_ok else "UNSUBSCRIBE",
            "method_detail": str(SOURCES[p.source[i]]), "custom_method_detail": None, "double_optin": False,
            "suppression": [] if email_ok else [{"reason": "UNSUBSCRIBE", "timestamp": iso(p.updated[i])}],
            "list_suppressions": []}},
        "sms": {"marketing": {
            "can_receive_sms_marketing": sms_ok, "consent": "SUBSCRIBED" if sms_ok else "NEVER_SUBSCRIBED",
            "consent_timestamp": since if sms_ok else None, "method": "TEXT" if sms_ok else None,
            "method_detail": "JOIN" if sms_ok else None, "last_updated": since if sms_ok else None}},
        "mobile_push": {"marketing": {"can_receive_push_marketing": False, "consent": "NEVER_SUBSCRIBED",
                                      "consent_timestamp": None}},
    }


def predictive(store, i: int) -> dict | None:
    p = store.profiles
    if not p.has_pred[i]:
        return None
    return {
        "historic_clv": _num(p.hist_clv[i]), "predicted_clv": _num(p.pred_clv[i]), "total_clv": _num(p.total_clv[i]),
        "historic_number_of_orders": int(p.hist_orders[i]), "predicted_number_of_orders": _num(p.pred_orders[i]),
        "average_days_between_orders": _num(p.days_between[i]),
        "average_order_value": _num(p.aov[i]) if p.hist_orders[i] else None,
        "churn_probability": float(p.churn[i]),
        "expected_date_of_next_order": iso(p.next_order[i]) if p.next_order[i] else None,
        "ranked_channel_affinity": CHANNEL_ORDERS[p.channel_order[i]],
    }


def segment(store, seg, base: str, fields, profile_count: bool = False) -> dict:
    attrs = {"name": seg.name, "definition": seg.definition, "created": iso(seg.created), "updated": iso(seg.updated),
             "is_active": True, "is_processing": False, "is_starred": seg.starred}
    if profile_count:
        attrs["profile_count"] = len(seg.members)
    return {"type": "segment", "id": seg.id, "attributes": sparse(attrs, fields),
            "relationships": {"profiles": rel(base, "segments", seg.id, "profiles"),
                              "tags": rel(base, "segments", seg.id, "tags", []),
                              "flow-triggers": rel(base, "segments", seg.id, "flow-triggers", [])},
            "links": {"self": f"{base}/api/segments/{seg.id}/"}}


def flow(store, f, base: str, fields, with_actions: bool = False, definition: bool = False) -> dict:
    attrs = {"name": f.name, "status": f.status, "archived": False, "created": iso(f.created),
             "updated": iso(f.updated), "trigger_type": f.trigger_type}
    if definition:  # only GET /api/flows/{id}?additional-fields[flow]=definition
        attrs["definition"] = flow_definition(store, f)
    data = [{"type": "flow-action", "id": a.id} for a in f.actions] if with_actions else None
    return {"type": "flow", "id": f.id, "attributes": sparse(attrs, fields),
            "relationships": {"flow-actions": rel(base, "flows", f.id, "flow-actions", data),
                              "tags": rel(base, "flows", f.id, "tags")},
            "links": {"self": f"{base}/api/flows/{f.id}/"}}


_METRIC_TRIGGERS = {"Abandoned Cart": "Checkout Started", "Browse Abandonment": "Checkout Started"}


def _trigger(store, f) -> dict:
    """definition.triggers[0]: the flow's own (a segment), else the one its trigger_type implies."""
    if f.trigger is not None:
        return dict(f.trigger)
    if f.trigger_type == "Added to List":
        return {"type": "list", "id": short_id(store.seed, "list", 0)}
    if f.trigger_type == "Metric":
        name = _METRIC_TRIGGERS.get(f.name, "Placed Order")
        metric = next(m for m in store.metrics if m.name == name and m.event_kind != "L")
        return {"type": "metric", "id": metric.id, "trigger_filter": None}
    if f.trigger_type == "Date Based":
        return {"type": "date", "date_field_type": "profile-property", "date_profile_property": "birthday",
                "timedelta_unit_before_date": "days", "timedelta_value_before_date": 0,
                "recurrence_frequency": "annually", "timezone": "profile", "trigger_time": "09:00:00", "trigger_days": None}
    if f.trigger_type == "Price Drop":
        return {"type": "price-drop", "trigger_filter": None, "price_drop_amount_value": 12.5,
                "price_drop_amount_unit": "percent", "audience": ["viewed", "checkout-started"], "timeframe_days": 30}
    return {"type": "low-inventory", "product_level": "product", "trigger_filter": None, "inventory_count": 10,
            "audience": ["viewed", "added-to-cart"], "timeframe_days": 30}


def _action_definition(a, next_id: str | None) -> dict:
    links = {"next": next_id}
    if a.kind == "time-delay":
        return {"id": a.id, "type": "time-delay", "links": links,
                "data": {"unit": "hours", "value": a.delay_hours, "secondary_value": None, "timezone": "profile"}}
    message = flow_message_definition(a.message) if a.message else None
    return {"id": a.id, "type": a.kind, "links": links, "data": {"message": message, "status": "live"}}


def flow_definition(store, f) -> dict:
    """A flow's encoded definition (revision 2026-07-15 FlowDefinition): trigger, profile filter, actions."""
    ids = [a.id for a in f.actions]
    actions = [_action_definition(a, ids[k + 1] if k + 1 < len(ids) else None) for k, a in enumerate(f.actions)]
    return {"triggers": [_trigger(store, f)], "profile_filter": f.profile_filter, "actions": actions,
            "entry_action_id": ids[0] if ids else None, "reentry_criteria": {"duration": 0, "unit": "alltime"}}


def flow_message_definition(m) -> dict:
    if m.channel == "email":
        return {"id": m.id, "name": m.name, "from_email": "hello@sandbox-goods.example", "from_label": "Sandbox Goods",
                "reply_to_email": None, "cc_email": None, "bcc_email": None, "subject_line": m.subject,
                "preview_text": m.preview, "template_id": None, "smart_sending_enabled": True, "transactional": False,
                "add_tracking_params": True, "custom_tracking_params": None, "additional_filters": None}
    return {"id": m.id, "name": m.name, "body": m.body, "image_id": None, "dynamic_image": None,
            "shorten_links": True, "include_contact_card": False, "add_org_prefix": True, "add_info_link": True,
            "add_opt_out_language": True, "smart_sending_enabled": True, "sms_quiet_hours_enabled": True,
            "transactional": False, "add_tracking_params": False, "custom_tracking_params": None,
            "template_id": None, "additional_filters": None}


def flow_action(store, a, base: str, fields) -> dict:
    if a.kind == "time-delay":
        definition = {"id": a.id, "type": "time-delay", "data": {"unit": "hours", "value": a.delay_hours}}
    else:
        definition = {"id": a.id, "type": a.kind, "data": {"status": "live"}}
    attrs = {"created": iso(a.created), "updated": iso(a.updated), "definition": definition}
    f = store.messaging.flows[a.flow_index]
    msgs = [{"type": "flow-message", "id": a.message.id}] if a.message else []
    return {"type": "flow-action", "id": a.id, "attributes": sparse(attrs, fields),
            "relationships": {"flow": rel(base, "flow-actions", a.id, "flow", {"type": "flow", "id": f.id}),
                              "flow-messages": rel(base, "flow-actions", a.id, "flow-messages", msgs)},
            "links": {"self": f"{base}/api/flow-actions/{a.id}/"}}


def flow_message(store, m, base: str, fields) -> dict:
    attrs = {"channel": m.channel, "created": iso(m.created), "updated": iso(m.updated),
             "definition": flow_message_definition(m)}
    return {"type": "flow-message", "id": m.id, "attributes": sparse(attrs, fields),
            "relationships": {"flow-action": rel(base, "flow-messages", m.id, "flow-action",
                                                 {"type": "flow-action", "id": m.action_id}),
                              "template": rel(base, "flow-messages", m.id, "template")},
            "links": {"self": f"{base}/api/flow-messages/{m.id}/"}}


def campaign(store, c, base: str, fields, with_messages: bool = False) -> dict:
    tracking = ({"add_tracking_params": True, "custom_tracking_params": None, "is_tracking_clicks": True,
                 "is_tracking_opens": True} if c.channel == "email"
                else {"add_tracking_params": True, "custom_tracking_params": None})
    attrs = {"name": c.name, "status": c.status, "archived": False,
             "audiences": {"included": [c.audience], "excluded": list(c.excluded)},
             "send_options": {"use_smart_sending": True}, "tracking_options": tracking,
             "send_strategy": {"method": "static", "datetime": iso(c.send_time), "options": {"is_local": False}},
             "created_at": iso(c.created), "scheduled_at": iso(c.send_time - 3600), "updated_at": iso(c.updated),
             "send_time": iso(c.send_time)}
    data = [{"type": "campaign-message", "id": c.message_id}] if with_messages else None
    return {"type": "campaign", "id": c.id, "attributes": sparse(attrs, fields),
            "relationships": {"campaign-messages": rel(base, "campaigns", c.id, "campaign-messages", data),
                              "tags": rel(base, "campaigns", c.id, "tags")},
            "links": {"self": f"{base}/api/campaigns/{c.id}/"}}


def campaign_message(store, c, base: str, fields) -> dict:
    if c.channel == "email":
        definition = {"channel": "email", "label": c.name, "content": {
            "subject": c.subject, "preview_text": c.preview, "from_email": "hello@sandbox-goods.example",
            "from_label": "Sandbox Goods", "reply_to_email": None, "cc_email": None, "bcc_email": None}}
    elif c.channel == "mobile_push":
        definition = {"channel": "mobile_push", "notification_type": "standard", "content": {
            "title": c.subject, "body": c.body, "dynamic_image": None}, "kv_pairs": None}
    else:
        definition = {"channel": "sms", "content": {"body": c.body, "media_url": None},
                      "render_options": {"shorten_links": True, "add_org_prefix": True, "add_info_link": True,
                                         "add_opt_out_language": True}}
    attrs = {"definition": definition, "send_times": [{"datetime": iso(c.send_time), "is_local": False}],
             "created_at": iso(c.created), "updated_at": iso(c.updated)}
    mid = c.message_id
    return {"type": "campaign-message", "id": mid, "attributes": sparse(attrs, fields),
            "relationships": {"campaign": rel(base, "campaign-messages", mid, "campaign", {"type": "campaign", "id": c.id}),
                              "template": rel(base, "campaign-messages", mid, "template")},
            "links": {"self": f"{base}/api/campaign-messages/{mid}/"}}


def metric(store, m, base: str, fields) -> dict:
    attrs = {"name": m.name, "created": iso(m.created), "updated": iso(m.updated), "integration": m.integration}
    return {"type": "metric", "id": m.id, "attributes": sparse(attrs, fields),
            "relationships": {"flow-triggers": rel(base, "metrics", m.id, "flow-triggers")},
            "links": {"self": f"{base}/api/metrics/{m.id}/"}}


def event(store, kind: str, k: int, base: str, fields) -> tuple[dict, int, str]:
    """(event resource, profile row, metric id) for placed order k ("P") or order line k ("L")."""
    o, cat = store.orders, store.catalog
    if kind == "P":
        t, row, metric_id = int(o.time[k]), int(o.profile[k]), store.placed_order.id
        lines = range(o.line_start[k], o.line_start[k + 1])
        items = [{"ProductID": cat.external_ids[o.line_product[j]], "SKU": cat.external_ids[o.line_product[j]],
                  "ProductName": cat.titles[o.line_product[j]], "Quantity": int(o.line_qty[j]),
                  "ItemPrice": float(o.line_price[j]), "RowTotal": round(float(o.line_price[j] * o.line_qty[j]), 2),
                  "ProductURL": f"https://sandbox-goods.example/products/{cat.external_ids[o.line_product[j]].lower()}",
                  "Categories": cat.category_names(o.line_product[j])} for j in lines]
        props = {"OrderId": o.order_number(k), "$value": float(o.value[k]), "$event_id": o.order_number(k),
                 "Items": items, "ItemNames": [it["ProductName"] for it in items],
                 "Categories": sorted({c for it in items for c in it["Categories"]}), "ItemCount": len(items)}
    else:
        order = int(o.line_order[k])
        t, row, metric_id = int(o.time[order]), int(o.profile[order]), store.ordered_product.id
        prod = int(o.line_product[k])
        props = {"OrderId": o.order_number(order), "ProductID": cat.external_ids[prod], "SKU": cat.external_ids[prod],
                 "ProductName": cat.titles[prod], "Quantity": int(o.line_qty[k]),
                 "Categories": cat.category_names(prod), "$value": round(float(o.line_price[k] * o.line_qty[k]), 2),
                 "$event_id": f"{o.order_number(order)}-{k}"}
    eid = event_id(kind, k)
    pid = store.profiles.id_of(row)
    attrs = {"timestamp": t, "event_properties": props, "datetime": iso(t),
             "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox:{store.seed}:{eid}"))}
    res = {"type": "event", "id": eid, "attributes": sparse(attrs, fields),
           "relationships": {"profile": rel(base, "events", eid, "profile", {"type": "profile", "id": pid}),
                             "metric": rel(base, "events", eid, "metric", {"type": "metric", "id": metric_id})},
           "links": {"self": f"{base}/api/events/{eid}/"}}
    return res, row, metric_id


def catalog_item(store, k: int, base: str, fields) -> dict:
    cat = store.catalog
    iid = cat.item_id(k)
    ext = cat.external_ids[k]
    attrs = {"external_id": ext, "title": cat.titles[k],
             "description": f"{cat.titles[k]}: a {cat.categories[cat.primary[k]].lower()} staple from Sandbox Goods.",
             "price": float(cat.price[k]), "url": f"https://sandbox-goods.example/products/{ext.lower()}",
             "image_full_url": f"https://sandbox-goods.example/images/{ext.lower()}.jpg",
             "image_thumbnail_url": f"https://sandbox-goods.example/images/{ext.lower()}-thumb.jpg",
             "images": [f"https://sandbox-goods.example/images/{ext.lower()}.jpg"], "custom_metadata": {},
             "published": bool(cat.published[k]), "created": iso(cat.created[k]), "updated": iso(cat.updated[k])}
    return {"type": "catalog-item", "id": iid, "attributes": sparse(attrs, fields),
            "relationships": {"variants": rel(base, "catalog-items", iid, "variants")},
            "links": {"self": f"{base}/api/catalog-items/{iid}/"}}


def catalog_category(store, c: int, base: str, fields) -> dict:
    cat = store.catalog
    cid = cat.category_id(c)
    attrs = {"external_id": cid.rsplit(":::", 1)[1], "name": cat.categories[c], "updated": iso(cat.category_updated[c])}
    return {"type": "catalog-category", "id": cid, "attributes": sparse(attrs, fields),
            "relationships": {"items": rel(base, "catalog-categories", cid, "items")},
            "links": {"self": f"{base}/api/catalog-categories/{cid}/"}}
