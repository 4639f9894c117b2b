"""Attributes of the JSON:API resources of revision 2026-07-15, rendered from the store on demand.

Each function returns one resource's full ``attributes`` (``graph.py`` applies sparse fieldsets and adds
the type, id, relationships and links); ``opts`` is the set of ``additional-fields`` asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from ..store.profiles import COUNTRIES, EMAIL_SUPPRESSED, FIRST_NAMES, LAST_NAMES, LOYALTY, PLACES, SOURCES

CHANNEL_ORDERS = [["email", "sms", "push"], ["sms", "email", "push"], ["email", "push", "sms"]]
SENDER = {"from_email": "hello@sandbox-goods.example", "from_label": "Sandbox Goods"}


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


def _num(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else round(x, 2)


# --- profiles -------------------------------------------------------------------------------------
def profile(store, i: int, opts: set[str]) -> dict:
    p = store.profiles
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
    if "subscriptions" in opts:
        attrs["subscriptions"] = subscriptions(store, i)
    if "predictive_analytics" in opts:
        attrs["predictive_analytics"] = predictive(store, i)
    return attrs


def email_suppression(store, i: int) -> tuple[str, str | None]:
    """(consent, global suppression reason or None) of profile i's email marketing."""
    state = int(store.profiles.email_state[i])
    if state == 0:
        return "SUBSCRIBED", None
    consent, reason, _ = EMAIL_SUPPRESSED[state - 1]
    return consent, reason


def subscriptions(store, i: int) -> dict:
    p = store.profiles
    since, changed = iso(p.created[i]), iso(p.updated[i])
    email_ok, sms_ok = bool(p.email_consent[i]), bool(p.sms_consent[i])
    consent, reason = email_suppression(store, i)
    subscribed = consent == "SUBSCRIBED"
    email = {"can_receive_email_marketing": email_ok, "consent": consent,
             "consent_timestamp": since if subscribed else changed if consent == "UNSUBSCRIBED" else None,
             "last_updated": changed if reason else since,
             "method": ("FORM" if subscribed else "SPAM_COMPLAINT" if reason == "SPAM_COMPLAINT"
                        else "PREFERENCE_PAGE" if consent == "UNSUBSCRIBED" else None),
             "method_detail": str(SOURCES[p.source[i]]) if subscribed else None, "custom_method_detail": None,
             "double_optin": False if subscribed else None,
             "suppression": [{"reason": reason, "timestamp": changed}] if reason else [],
             "list_suppressions": []}
    sms_state = int(p.sms_state[i])
    sms = {"can_receive_sms_marketing": sms_ok,
           "consent": ("SUBSCRIBED", "NEVER_SUBSCRIBED", "UNSUBSCRIBED")[sms_state],
           "consent_timestamp": since if sms_ok else changed if sms_state == 2 else None,
           "method": "TEXT" if sms_state != 1 else None,
           "method_detail": "JOIN" if sms_ok else "STOP" if sms_state == 2 else None,
           "last_updated": since if sms_ok else changed if sms_state == 2 else None}
    return {"email": {"marketing": email}, "sms": {"marketing": sms},
            "mobile_push": {"marketing": {"can_receive_push_marketing": False, "consent": "NEVER_SUBSCRIBED",
                                          "consent_timestamp": None}}}


PREDICTIVE_KEYS = ("historic_clv", "predicted_clv", "total_clv", "historic_number_of_orders",
                   "predicted_number_of_orders", "average_days_between_orders", "average_order_value",
                   "churn_probability", "expected_date_of_next_order", "ranked_channel_affinity")


def predictive(store, i: int) -> dict | None:
    p = store.profiles
    if not p.has_pred[i]:
        # Not scored: null, or (store.unscored_as_object, per seed) the object with every field null.
        return dict.fromkeys(PREDICTIVE_KEYS) if store.unscored_as_object else None
    return {
        "historic_clv": _num(p.hist_clv[i]), "predicted_clv": _num(p.pred_clv[i]), "total_clv": _num(p.total_clv[i]),
        "historic_number_of_orders": int(p.hist_orders[i]), "predicted_number_of_orders": _num(p.pred_orders[i]),
        "average_days_between_orders": _num(p.days_between[i]),
        "average_order_value": _num(p.aov[i]) if p.hist_orders[i] else None,
        "churn_probability": float(p.churn[i]),
        "expected_date_of_next_order": iso(p.next_order[i]) if p.next_order[i] else None,
        "ranked_channel_affinity": CHANNEL_ORDERS[p.channel_order[i]],
    }


def segment(store, seg, opts: set[str]) -> dict:
    attrs = {"name": seg.name, "definition": seg.definition, "created": iso(seg.created), "updated": iso(seg.updated),
             "is_active": True, "is_processing": False, "is_starred": seg.starred}
    if "profile_count" in opts:
        attrs["profile_count"] = len(seg.members)
    return attrs


# --- flows ----------------------------------------------------------------------------------------
def flow(store, f, opts: set[str]) -> dict:
    attrs = {"name": f.name, "status": f.status, "archived": False, "created": iso(f.created),
             "updated": iso(f.updated), "trigger_type": f.trigger_type}
    if "definition" in opts:
        attrs["definition"] = flow_definition(store, f)
    return attrs


def flow_message_definition(store, m) -> dict:
    if m.channel == "email":
        template = store.assets.template_of.get(m.id)
        return {"id": m.id, "name": m.name, **SENDER, "reply_to_email": None, "cc_email": None,
                "bcc_email": None, "subject_line": m.subject, "preview_text": m.preview,
                "template_id": template.id if template else None, "smart_sending_enabled": True,
                "transactional": False, "add_tracking_params": True, "custom_tracking_params": None,
                "additional_filters": None}
    return {"id": m.id, "name": m.name, "body": m.body, "image_id": None, "dynamic_image": None,
            "shorten_links": True, "include_contact_card": False, "add_org_prefix": True, "add_info_link": True,
            "add_opt_out_language": True, "smart_sending_enabled": True, "sms_quiet_hours_enabled": True,
            "transactional": False, "add_tracking_params": False, "custom_tracking_params": None,
            "template_id": None, "additional_filters": None}


def action_definition(store, a, next_id: str | None = None, with_message: bool = False) -> dict:
    """A flow action as the flow definition (and the flow-action resource) spell it."""
    if a.kind == "time-delay":
        out = {"id": a.id, "type": "time-delay", "data": {"unit": "hours", "value": a.delay_hours}}
    else:
        data: dict = {"status": "live"}
        if with_message and a.message is not None:
            data["message"] = flow_message_definition(store, a.message)
        out = {"id": a.id, "type": a.kind, "data": data}
    if with_message:
        out["links"] = {"next": next_id}
    return out


def flow_definition(store, f) -> dict:
    """``additional-fields[flow]=definition``: the trigger, the actions linked in order, the entry action."""
    kind, ref = store.assets.triggers.get(f.id, ("unconfigured", None))
    if kind in ("metric", "list", "segment"):
        triggers = [{"type": kind, "id": ref}]
    elif kind == "date":
        # trigger_time is required by the document; 12.5 below, not 10: an integer matches both members of
        # price_drop_amount_value's oneOf (integer, number), which the document rejects.
        triggers = [{"type": "date", "date_field_type": "profile-property", "date_profile_property": "birthday",
                     "timedelta_unit_before_date": "days", "timedelta_value_before_date": 0,
                     "recurrence_frequency": "annually", "timezone": "profile", "trigger_time": "09:00:00",
                     "trigger_days": None}]
    elif kind == "price-drop":
        triggers = [{"type": "price-drop", "trigger_filter": None, "price_drop_amount_value": 12.5,
                     "price_drop_amount_unit": "percent", "audience": ["viewed", "checkout-started"],
                     "timeframe_days": 30, "currency_type": "usd"}]
    elif kind == "low-inventory":
        triggers = [{"type": "low-inventory", "product_level": "variant", "trigger_filter": None,
                     "inventory_count": 5, "audience": ["viewed", "added-to-cart"], "timeframe_days": 30}]
    else:
        triggers = []
    ids = [a.id for a in f.actions]
    actions = [action_definition(store, a, ids[k + 1] if k + 1 < len(ids) else None, with_message=True)
               for k, a in enumerate(f.actions)]
    return {"triggers": triggers, "profile_filter": f.profile_filter, "actions": actions,
            # Re-entry: once a month for metric-triggered flows (a shopper abandons carts again), never otherwise.
            "entry_action_id": ids[0] if ids else None,
            "reentry_criteria": {"duration": 30, "unit": "day"} if kind == "metric" else {"duration": 1, "unit": "alltime"}}


def flow_action(store, a, opts: set[str]) -> dict:
    return {"created": iso(a.created), "updated": iso(a.updated), "definition": action_definition(store, a)}


def flow_message(store, m, opts: set[str]) -> dict:
    return {"channel": m.channel, "created": iso(m.created), "updated": iso(m.updated),
            "definition": flow_message_definition(store, m)}


# --- campaigns ------------------------------------------------------------------------------------
def campaign(store, c, opts: set[str]) -> dict:
    tracking = ({"add_tracking_params": True, "custom_tracking_params": None, "is_tracking_clicks": True,
                 "is_tracking_opens": True} if c.channel == "email"
                else {"add_tracking_params": True, "custom_tracking_params": []})  # not nullable for SMS
    return {"name": c.name, "status": c.status, "archived": False,
            "audiences": {"included": [c.audience], "excluded": list(c.excluded)},
            "send_options": {"use_smart_sending": True}, "tracking_options": tracking,
            "send_strategy": {"method": "static", "datetime": iso(c.send_time), "options": {"is_local": False}},
            "created_at": iso(c.created), "scheduled_at": iso(c.send_time - 3600), "updated_at": iso(c.updated),
            "send_time": iso(c.send_time)}


def campaign_message(store, c, opts: set[str]) -> dict:
    """The message of campaign ``c`` (one per campaign here)."""
    if c.channel == "email":
        definition = {"channel": "email", "label": c.name, "content": {
            "subject": c.subject, "preview_text": c.preview, **SENDER, "reply_to_email": None, "cc_email": None,
            "bcc_email": None}}
    elif c.channel == "mobile_push":
        definition = {"channel": "mobile_push", "notification_type": "standard", "content": {
            "title": c.subject, "body": c.body, "dynamic_image": None}, "kv_pairs": None}
    else:
        image = store.assets.image_of.get(c.message_id)
        definition = {"channel": "sms", "content": {"body": c.body, "media_url": image.url if image else None},
                      "render_options": {"shorten_links": True, "add_org_prefix": True, "add_info_link": True,
                                         "add_opt_out_language": True}}
    return {"definition": definition, "send_times": [{"datetime": iso(c.send_time), "is_local": False}],
            "created_at": iso(c.created), "updated_at": iso(c.updated)}


# --- metrics and events ---------------------------------------------------------------------------
def metric(store, m, opts: set[str]) -> dict:
    return {"name": m.name, "created": iso(m.created), "updated": iso(m.updated), "integration": m.integration}


def event(store, ev, opts: set[str]) -> dict:
    """``ev`` is an ``events.Event`` (its source, key, time, profile row and properties)."""
    return {"timestamp": ev.time, "event_properties": ev.props, "datetime": iso(ev.time), "uuid": ev.uuid}


# --- catalog --------------------------------------------------------------------------------------
def catalog_item(store, k: int, opts: set[str]) -> dict:
    cat = store.catalog
    ext = cat.external_ids[k]
    return {"external_id": ext, "title": cat.titles[k],
            "description": f"{cat.titles[k]}: a {cat.categories[cat.primary[k]].lower()} staple from Sandbox Goods.",
            "price": float(cat.price[k]), "url": f"https://sandbox-goods.example/products/{ext.lower()}",
            "image_full_url": f"https://sandbox-goods.example/images/{ext.lower()}.jpg",
            "image_thumbnail_url": f"https://sandbox-goods.example/images/{ext.lower()}-thumb.jpg",
            "images": [f"https://sandbox-goods.example/images/{ext.lower()}.jpg"], "custom_metadata": {},
            "published": bool(cat.published[k]), "created": iso(cat.created[k]), "updated": iso(cat.updated[k])}


def catalog_category(store, c: int, opts: set[str]) -> dict:
    cat = store.catalog
    return {"external_id": cat.category_id(c).rsplit(":::", 1)[1], "name": cat.categories[c],
            "updated": iso(cat.category_updated[c])}
