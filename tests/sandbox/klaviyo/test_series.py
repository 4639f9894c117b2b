"""POST /api/flow-series-reports in the emulator: the document's request and response shapes, steps that add up to
the flow-values report, and a clear 400 for what the document refuses or the sandbox does not emulate."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from sandbox import Sandbox

COUNTS = ["recipients", "delivered", "opens_unique", "clicks_unique", "conversion_uniques", "conversion_value"]


@pytest.fixture(scope="module")
def kv(klaviyo_caller):
    with Sandbox(seed=7, profiles=600, rate_scale=0) as sb:
        yield klaviyo_caller(sb)


def _body(kv, kind: str = "flow-series-report", **attributes) -> dict:
    attrs = {"statistics": COUNTS + ["click_rate"], "timeframe": {"key": "last_90_days"}, "interval": "weekly",
             "conversion_metric_id": kv.sb.store.placed_order.id, **attributes}
    return {"data": {"type": kind, "attributes": {k: v for k, v in attrs.items() if v is not None}}}


def _values(kv, timeframe: dict) -> dict:
    body = _body(kv, "flow-values-report", timeframe=timeframe, interval=None, statistics=COUNTS)
    resp = kv.post("/api/flow-values-reports", body)
    assert resp.status_code == 200, resp.text
    return {tuple(r["groupings"].values()): r["statistics"] for r in resp.json()["data"]["attributes"]["results"]}


@pytest.mark.parametrize(("interval", "timeframe", "steps"), [
    ("weekly", {"key": "last_90_days"}, 13),  # twelve weeks and six days
    ("daily", {"key": "last_30_days"}, 30),
    ("monthly", {"start": "2026-06-01T00:00:00+00:00", "end": "2026-08-31T00:00:00+00:00"}, 3),
])
def test_steps_add_up_to_the_values_report(kv, interval, timeframe, steps):
    resp = kv.post("/api/flow-series-reports", _body(kv, interval=interval, timeframe=timeframe))  # spec-validated
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    times = data["attributes"]["date_times"]
    assert len(times) == steps and times == sorted(times)
    assert all(datetime.fromisoformat(t).tzinfo == UTC for t in times)
    values = _values(kv, timeframe)
    results = data["attributes"]["results"]
    assert len(results) == len(values) > 10
    for r in results:
        assert list(r["groupings"]) == ["flow_id", "flow_message_id", "send_channel"]
        series = r["statistics"]
        assert all(len(v) == steps for v in series.values())
        total = values[tuple(r["groupings"].values())]
        for name in COUNTS:
            assert sum(series[name]) == pytest.approx(total[name], abs=0.02 * steps), name
        rate = np.divide(series["clicks_unique"], series["delivered"], out=np.zeros(steps),
                         where=np.asarray(series["delivered"]) > 0)
        assert series["click_rate"] == pytest.approx(list(rate))
    assert {d["id"] for d in data["relationships"]["flow-messages"]["data"]} == {
        r["groupings"]["flow_message_id"] for r in results}


def test_filter_group_by_sparse_fields_and_other_conversion_metrics(kv):
    body = _body(kv, filter='equals(send_channel,"sms")', group_by=["flow_id", "flow_message_id", "flow_name"])
    resp = kv.post("/api/flow-series-reports?fields[flow-series-report]=results", body)
    assert resp.status_code == 200, resp.text
    attributes = resp.json()["data"]["attributes"]
    assert set(attributes) == {"results", "date_times"}  # the document's response requires both
    sms = {m.id for m in kv.sb.store.messaging.flow_messages if m.channel == "sms"}
    assert attributes["results"] and {r["groupings"]["flow_message_id"] for r in attributes["results"]} <= sms
    assert all(set(r["groupings"]) == {"flow_id", "flow_message_id", "flow_name"} for r in attributes["results"])
    other = next(m for m in kv.sb.store.metrics if m is not kv.sb.store.placed_order)
    resp = kv.post("/api/flow-series-reports", _body(kv, conversion_metric_id=other.id))
    assert all(sum(r["statistics"]["conversion_uniques"]) == 0 for r in resp.json()["data"]["attributes"]["results"])


@pytest.mark.parametrize(("change", "words"), [
    ({"interval": None}, "'interval' is required"),
    ({"interval": "fortnightly"}, "not a valid interval"),
    ({"interval": "hourly"}, "'hourly' is not emulated"),
    ({"interval": "daily"}, "cannot be longer than 60 days"),  # last_90_days
    ({"interval": "monthly", "timeframe": {"key": "last_365_days"}}, "cannot be longer than 364 days (52 weeks)"),
    ({"statistics": ["opens", "open_ratio"]}, "'open_ratio' is not a valid statistic"),
    ({"timeframe": {"key": "last_fortnight"}}, "not a valid timeframe key"),
    ({"group_by": ["send_channel"]}, "group_by must include flow_id, flow_message_id"),
    ({"group_by": ["flow_id", "flow_message_id", "tag_id"]}, "not emulated"),
    ({"filter": 'equals(flow_id,"a"),equals(flow_id,"b")'}, "filter"),
    ({"conversion_metric_id": "NOPE00"}, "does not exist"),
])
def test_what_the_document_refuses_is_a_clear_400(kv, change, words):
    resp = kv.post("/api/flow-series-reports", _body(kv, **change), validate=False)
    assert resp.status_code == 400, resp.text
    assert words in resp.json()["errors"][0]["detail"]


def test_the_reporting_limits_come_from_apifacts(klaviyo_caller):
    class Clock:
        t = 1_800_000_000.25

        def __call__(self):
            return self.t

    clock = Clock()
    with Sandbox(seed=7, profiles=600, rate_scale=1, clock=clock) as sb:
        kv = klaviyo_caller(sb)
        assert kv.post("/api/flow-series-reports", _body(kv)).status_code == 200
        clock.t += 1
        second = kv.post("/api/flow-series-reports", _body(kv))
        assert second.status_code == 200 and second.headers["RateLimit-Limit"] == "2"
        clock.t += 1
        third = kv.post("/api/flow-series-reports", _body(kv), validate=False)
        assert third.status_code == 429 and int(third.headers["Retry-After"]) > 1
