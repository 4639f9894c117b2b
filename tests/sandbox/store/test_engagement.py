"""Engagement events agree with the flow and campaign reports they summarise; consent states and order values
look like a real account's. All over HTTP, as a client would read them."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from sandbox.klaviyo.render import iso

DAY = 86400
KINDS = {"Received Email": ("email", "delivered"), "Opened Email": ("email", "opens"),
         "Clicked Email": ("email", "clicks"), "Unsubscribed from Email Marketing": ("email", "unsubscribes"),
         "Received SMS": ("sms", "delivered"), "Clicked SMS": ("sms", "clicks"),
         "Unsubscribed from SMS Marketing": ("sms", "unsubscribes")}
UNIQUE = {"Opened Email": "opens_unique", "Clicked Email": "clicks_unique", "Clicked SMS": "clicks_unique"}
STATS = ["recipients", "delivered", "opens", "opens_unique", "clicks", "clicks_unique", "unsubscribes"]


def _z(t: int) -> str:
    return iso(t).replace("+00:00", "Z")


def _metric_ids(kv) -> dict[str, str]:
    return {m["attributes"]["name"]: m["id"] for m in kv.walk("/api/metrics")
            if m["attributes"]["integration"]["key"] != "api"}


def _events(kv, metric_id: str, start: int, end: int) -> list[dict]:
    flt = f'and(equals(metric_id,"{metric_id}"),greater-or-equal(datetime,{_z(start)}),less-than(datetime,{_z(end)}))'
    return kv.walk("/api/events", {"filter": flt, "page[size]": "1000", "sort": "datetime",
                                   "fields[event]": "datetime,event_properties"}, validate_all=False)


def _report(kv, kind: str, timeframe: dict, metric_id: str) -> dict[str, dict]:
    body = {"data": {"type": kind, "attributes": {"statistics": STATS, "timeframe": timeframe,
                                                  "conversion_metric_id": metric_id}}}
    resp = kv.post(f"/api/{kind}s", body)
    assert resp.status_code == 200, resp.text
    key = "flow_message_id" if kind.startswith("flow") else "campaign_message_id"
    return {r["groupings"][key]: r["statistics"] for r in resp.json()["data"]["attributes"]["results"]}


def _tally(kv, ids: dict[str, str], start: int, end: int) -> dict[str, Counter]:
    """Per message id: each statistic as counted from the events of [start, end)."""
    out: dict[str, Counter] = defaultdict(Counter)
    for name, (_, stat) in KINDS.items():
        sends = defaultdict(set)
        for e in _events(kv, ids[name], start, end):
            props = e["attributes"]["event_properties"]
            out[props["$message"]][stat] += 1
            # A unique open or click is one recipient of one send; a send here is (profile, day).
            sends[props["$message"]].add((e["relationships"]["profile"]["data"]["id"], e["attributes"]["datetime"][:10]))
        if name in UNIQUE:
            for message, who in sends.items():
                out[message][UNIQUE[name]] = len(who)
    return out


def _agree(report: dict[str, dict], tally: dict[str, Counter]) -> int:
    checked = 0
    for message, stats in report.items():
        for stat in STATS[1:]:
            assert tally[message][stat] == stats[stat], (message, stat, tally[message][stat], stats[stat])
            checked += stats[stat] > 0
    return checked


def test_flow_report_equals_its_events(kv, sandbox):
    ids = _metric_ids(kv)
    t = sandbox.store.t_end
    report = _report(kv, "flow-values-report", {"key": "last_7_days"}, sandbox.store.placed_order.id)
    tally = _tally(kv, ids, t - 7 * DAY, t)
    assert _agree(report, tally) > 3 * len(report)
    flow_ids = {m.id for m in sandbox.store.messaging.flow_messages}
    assert set(report) <= flow_ids
    assert {m for m in tally if m in flow_ids} == set(report)  # no events of a message the report lacks


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_campaign_report_equals_its_events_on_the_send_day(kv, sandbox, channel):
    ids = _metric_ids(kv)
    t = sandbox.store.t_end
    camp = max((c for c in sandbox.store.messaging.campaigns if c.channel == channel), key=lambda c: c.send_time)
    start = t - ((t - camp.send_time) // DAY + 1) * DAY
    report = _report(kv, "campaign-values-report", {"start": _z(start), "end": _z(start + DAY)},
                     sandbox.store.placed_order.id)
    tally = _tally(kv, ids, start, start + DAY)
    assert camp.message_id in report
    assert _agree({camp.message_id: report[camp.message_id]}, tally) >= (4 if channel == "email" else 2)
    assert report[camp.message_id]["delivered"] > 100


def test_a_profiles_events_are_the_same_events(kv, sandbox):
    ids = _metric_ids(kv)
    t = sandbox.store.t_end
    day = _events(kv, ids["Received Email"], t - 2 * DAY, t - DAY)
    profile = Counter(e["relationships"]["profile"]["data"]["id"] for e in day).most_common(1)[0][0]
    mine = [e["id"] for e in day if e["relationships"]["profile"]["data"]["id"] == profile]
    flt = (f'and(equals(metric_id,"{ids["Received Email"]}"),equals(profile_id,"{profile}"),'
           f'greater-or-equal(datetime,{_z(t - 2 * DAY)}),less-than(datetime,{_z(t - DAY)}))')
    assert [e["id"] for e in kv.walk("/api/events", {"filter": flt})] == mine
    one = kv.get(f"/api/events/{mine[0]}", {"include": "profile,metric"}).json()
    assert one["data"]["id"] == mine[0] and {o["type"] for o in one["included"]} == {"profile", "metric"}


def test_every_metric_but_the_stale_duplicate_has_events(kv, sandbox):
    t = sandbox.store.t_end
    for name, metric_id in _metric_ids(kv).items():
        flt = f'and(equals(metric_id,"{metric_id}"),greater-or-equal(datetime,{_z(t - 30 * DAY)}))'
        page = kv.get("/api/events", {"filter": flt, "page[size]": "5"}).json()
        assert len(page["data"]) == 5, f"{name} has no events in the last 30 days"


def test_consent_states_are_those_of_a_real_account(kv, sandbox):
    profiles = kv.walk("/api/profiles", {"page[size]": "100", "additional-fields[profile]": "subscriptions",
                                         "fields[profile]": "subscriptions"}, validate_all=False)
    email = [p["attributes"]["subscriptions"]["email"]["marketing"] for p in profiles]
    sms = [p["attributes"]["subscriptions"]["sms"]["marketing"] for p in profiles]
    assert {e["consent"] for e in email} == {"SUBSCRIBED", "UNSUBSCRIBED", "NEVER_SUBSCRIBED"}
    assert {s["consent"] for s in sms} == {"SUBSCRIBED", "UNSUBSCRIBED", "NEVER_SUBSCRIBED"}
    reasons = Counter(e["suppression"][0]["reason"] for e in email if e["suppression"])
    assert reasons["UNSUBSCRIBE"] > reasons["HARD_BOUNCE"] > 0 and reasons["SPAM_COMPLAINT"] > 0
    for e in email:
        # Klaviyo: can_receive_email_marketing is true exactly when there is no global suppression.
        assert e["can_receive_email_marketing"] == (not e["suppression"])
        assert (e["consent"] == "UNSUBSCRIBED") <= bool(e["suppression"])
    assert all(s["can_receive_sms_marketing"] == (s["consent"] == "SUBSCRIBED") for s in sms)
    assert sum(e["can_receive_email_marketing"] for e in email) == int(sandbox.store.profiles.email_consent.sum())
    bounced = kv.walk("/api/profiles", {"page[size]": "100", "fields[profile]": "email",
                                        "filter": "equals(subscriptions.email.marketing.suppression.reason,"
                                                  "'HARD_BOUNCE')"}, validate_all=False)
    assert len(bounced) == reasons["HARD_BOUNCE"]


def test_campaign_order_values_are_drawn_per_order(kv, sandbox):
    body = {"data": {"type": "campaign-values-report", "attributes": {
        "statistics": ["conversions", "conversion_value", "average_order_value"], "timeframe": {"key": "last_365_days"},
        "conversion_metric_id": sandbox.store.placed_order.id}}}
    rows = kv.post("/api/campaign-values-reports", body).json()["data"]["attributes"]["results"]
    for channel in ("email", "sms"):
        aov = [r["statistics"]["average_order_value"] for r in rows
               if r["groupings"]["send_channel"] == channel and r["statistics"]["conversions"] >= 3]
        assert len(aov) >= 10
        assert len({round(a, 2) for a in aov}) >= 0.9 * len(aov), f"{channel}: order values look constant"
        assert max(aov) > 1.2 * min(aov)
