"""Every Klaviyo endpoint the notebooks use, walked with plain requests; each response matches the spec."""

from __future__ import annotations

from collections import Counter

import pytest


def _once(resources: list[dict]) -> list[str]:
    ids = [r["id"] for r in resources]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"ids served more than once: {dupes[:5]}"
    return ids


def test_profiles_paginate_each_exactly_once(kv, sandbox):
    ids = _once(kv.walk("/api/profiles", {"page[size]": "100", "fields[profile]": "created"}))
    assert len(ids) == sandbox.store.profiles.n == sandbox.truth()["profiles_total"]
    assert ids == sorted(ids), "default order is creation order, and ids sort like creation"


def test_profiles_additional_fields_and_sparse_fieldsets(kv, sandbox):
    resp = kv.get("/api/profiles", {"page[size]": "50", "additional-fields[profile]": "predictive_analytics,subscriptions",
                                    "fields[profile]": "created,location.country,predictive_analytics,subscriptions"})
    assert resp.status_code == 200
    data = resp.json()["data"]
    assert len(data) == 50
    for p in data:
        attrs = p["attributes"]
        assert set(attrs) == {"created", "location", "predictive_analytics", "subscriptions"}
        assert set(attrs["location"]) == {"country"}
        assert "email" not in attrs and "phone_number" not in attrs
        pa = attrs["predictive_analytics"]
        if pa is not None:
            assert pa["ranked_channel_affinity"] and pa["churn_probability"] is not None
        assert isinstance(attrs["subscriptions"]["email"]["marketing"]["can_receive_email_marketing"], bool)
    default = kv.get("/api/profiles", {"page[size]": "1"}).json()["data"][0]["attributes"]
    assert default["email"].endswith("@example.com") and "predictive_analytics" not in default


def test_profiles_without_predictions_match_truth(kv, sandbox):
    profiles = kv.walk("/api/profiles", {"page[size]": "100", "additional-fields[profile]": "predictive_analytics",
                                         "fields[profile]": "predictive_analytics"})
    missing = sum(p["attributes"]["predictive_analytics"] is None for p in profiles)
    assert missing == sandbox.truth()["profiles_without_predictions"]
    assert 0.07 * len(profiles) < missing < 0.13 * len(profiles)


def test_profiles_created_filter_and_sort(kv, sandbox):
    created = sandbox.store.profiles.created
    cut = created[len(created) // 2]
    from sandbox.klaviyo.render import iso

    newer = kv.walk("/api/profiles", {"page[size]": "100", "fields[profile]": "created",
                                      "filter": f"greater-than(created,{iso(cut).replace('+00:00', 'Z')})"})
    assert len(newer) == int((created > cut).sum())
    desc = kv.get("/api/profiles", {"page[size]": "5", "sort": "-created"}).json()["data"]
    stamps = [p["attributes"]["created"] for p in desc]
    assert stamps == sorted(stamps, reverse=True)
    by_update = kv.get("/api/profiles", {"page[size]": "20", "sort": "updated",
                                         "filter": "less-than(updated,2100-01-01T00:00:00Z)"}).json()["data"]
    ups = [p["attributes"]["updated"] for p in by_update]
    assert ups == sorted(ups)


def test_profile_lookup_by_email_and_id(kv, sandbox):
    first = kv.get("/api/profiles", {"page[size]": "3"}).json()["data"]
    email = first[1]["attributes"]["email"]
    hit = kv.get("/api/profiles", {"filter": f'equals(email,"{email}")'}).json()["data"]
    assert [p["id"] for p in hit] == [first[1]["id"]]
    ids = ",".join(f'"{p["id"]}"' for p in first)
    assert len(kv.get("/api/profiles", {"filter": f"any(id,[{ids}])"}).json()["data"]) == 3


def test_segments_ten_a_page_with_counts_and_members(kv, sandbox):
    segs = _once(kv.walk("/api/segments"))
    first = kv.get("/api/segments").json()
    assert len(first["data"]) == 10 and first["links"]["next"]
    assert len(segs) == len(sandbox.store.segments)
    assert 15 <= len(segs) <= 25
    seg_id = segs[0]
    one = kv.get(f"/api/segments/{seg_id}", {"additional-fields[segment]": "profile_count"}).json()["data"]
    count = one["attributes"]["profile_count"]
    members = _once(kv.walk(f"/api/segments/{seg_id}/relationships/profiles", {"page[size]": "100"}))
    assert len(members) == count > 0
    full = _once(kv.walk(f"/api/segments/{seg_id}/profiles", {"page[size]": "100", "fields[profile]": "joined_group_at"}))
    assert full == members


def test_flows_actions_messages(kv, sandbox):
    flows = kv.walk("/api/flows")
    assert 6 <= len(flows) <= 10
    messages = []
    for f in flows:
        actions = kv.walk(f"/api/flows/{f['id']}/flow-actions")
        sends = [a for a in actions if a["attributes"]["definition"]["type"].startswith("send-")]
        assert 3 <= len(sends) <= 6
        for a in sends:
            msgs = kv.walk(f"/api/flow-actions/{a['id']}/flow-messages")
            assert len(msgs) == 1
            messages += msgs
    assert len(messages) == sandbox.truth()["flow_messages_total"]
    email = next(m for m in messages if m["attributes"]["channel"] == "email")
    sms = next(m for m in messages if m["attributes"]["channel"] == "sms")
    got = kv.get(f"/api/flow-messages/{email['id']}", {"include": "flow-action"}).json()
    assert got["data"]["attributes"]["definition"]["subject_line"]
    assert got["included"][0]["type"] == "flow-action"
    assert "STOP" in kv.get(f"/api/flow-messages/{sms['id']}").json()["data"]["attributes"]["definition"]["body"]


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_campaigns_by_channel_with_messages(kv, sandbox, channel):
    camps = kv.walk("/api/campaigns", {"filter": f"equals(messages.channel,'{channel}')",
                                       "include": "campaign-messages"})
    truth = sandbox.truth()
    assert len(camps) == truth[f"{channel}_campaigns"]
    body = kv.get("/api/campaigns", {"filter": f"equals(messages.channel,'{channel}')",
                                     "include": "campaign-messages"}).json()
    included = {m["id"]: m for m in body["included"]}
    for c in body["data"]:
        (rel,) = c["relationships"]["campaign-messages"]["data"]
        assert included[rel["id"]]["attributes"]["definition"]["channel"] == channel
    msgs = kv.get(f"/api/campaigns/{camps[0]['id']}/campaign-messages").json()["data"]
    content = msgs[0]["attributes"]["definition"]["content"]
    assert content["subject" if channel == "email" else "body"]


def test_metrics_and_placed_order_events(kv, sandbox):
    metrics = kv.walk("/api/metrics")
    placed = [m for m in metrics if m["attributes"]["name"] == "Placed Order"]
    assert len(placed) == 2
    real = next(m for m in placed if m["attributes"]["integration"]["key"] == "shopify")
    stale = next(m for m in placed if m["attributes"]["integration"]["key"] == "api")
    assert stale["attributes"]["updated"] < real["attributes"]["updated"]
    events = _once(kv.walk("/api/events", {"filter": f'equals(metric_id,"{real["id"]}")', "page[size]": "1000"}))
    assert len(events) == sandbox.truth()["orders_total"]
    assert kv.get("/api/events", {"filter": f'equals(metric_id,"{stale["id"]}")'}).json()["data"] == []


def test_events_datetime_range_and_include(kv, sandbox):
    from sandbox.klaviyo.render import iso

    metric = sandbox.store.placed_order.id
    t = sandbox.store.t_end
    start, end = iso(t - 30 * 86400).replace("+00:00", "Z"), iso(t - 10 * 86400).replace("+00:00", "Z")
    flt = f'and(equals(metric_id,"{metric}"),greater-or-equal(datetime,{start}),less-than(datetime,{end}))'
    events = kv.walk("/api/events", {"filter": flt, "page[size]": "200", "sort": "datetime"})
    times = sandbox.store.orders.time
    assert len(events) == int(((times >= t - 30 * 86400) & (times < t - 10 * 86400)).sum()) > 0
    stamps = [e["attributes"]["datetime"] for e in events]
    assert stamps == sorted(stamps)
    page = kv.get("/api/events", {"filter": flt, "include": "profile,metric", "page[size]": "5"}).json()
    types = Counter(i["type"] for i in page["included"])
    assert types["metric"] == 1 and 1 <= types["profile"] <= 5
    props = page["data"][0]["attributes"]["event_properties"]
    assert props["Items"][0]["ProductID"].startswith("SKU-") and props["$value"] > 0


def test_catalog_items_and_categories(kv, sandbox):
    items = _once(kv.walk("/api/catalog-items"))
    assert len(items) == 150
    cats = kv.walk("/api/catalog-categories")
    assert len(cats) == len(sandbox.store.catalog.categories)
    per_cat = sum(len(kv.walk("/api/catalog-items", {"filter": f'equals(category.id,"{c["id"]}")'})) for c in cats)
    assert per_cat >= 150
    one = kv.get("/api/catalog-items", {"page[size]": "1"}).json()["data"][0]
    assert one["id"] == "$custom:::$default:::" + one["attributes"]["external_id"]
