"""Windows computed from "now" still repeat the same requests, so a rerun is answered from the cache (counted),
and the client reads both shapes of "no predictions" the sandbox serves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from helpers.config import KlaviyoSettings
from helpers.klaviyo import KlaviyoClient
from helpers.klaviyo.jsonapi import custom_timeframe
from sandbox import Sandbox


def client(sb: Sandbox, **kw) -> KlaviyoClient:
    return KlaviyoClient(KlaviyoSettings(api_key=sb.klaviyo_api_key, base_url=sb.klaviyo_base_url),
                         rate_scale=0, progress=False, **kw)


def test_event_windows_ending_now_repeat_their_requests_and_are_cut_exactly(sandbox):
    metric = sandbox.store.placed_order.id
    now = datetime.now(UTC)
    first = client(sandbox)
    a = first.events(metric, now - timedelta(days=40), now)
    assert first.requests_sent > 0 and first.cache_hits == 0
    later = client(sandbox)  # a rerun a few minutes later: another "now", the same whole-day requests
    b = later.events(metric, now + timedelta(minutes=7) - timedelta(days=40), now + timedelta(minutes=7))
    assert later.requests_sent == 0 and later.cache_hits == first.requests_sent
    # Each frame is exactly its own window, though the days around it were fetched.
    times = sandbox.store.orders.time
    lo = (now - timedelta(days=40)).timestamp()
    assert len(a) == int(((times >= lo) & (times < now.timestamp())).sum())
    assert a["datetime"].min() >= pd.Timestamp(now - timedelta(days=40))
    assert len(b) <= len(a) and set(b["event_id"]) <= set(a["event_id"])


def test_custom_report_timeframes_are_whole_hours():
    tf = custom_timeframe({"start": datetime(2026, 3, 1, 10, 41, 5, tzinfo=UTC), "end": "2026-04-01T23:59:59Z"})
    assert tf == {"start": "2026-03-01T10:00:00Z", "end": "2026-04-01T23:00:00Z"}
    assert custom_timeframe({"key": "last_30_days"}) == {"key": "last_30_days"}


def test_custom_report_window_from_now_repeats(sandbox):
    now = datetime.now(UTC).replace(minute=20)
    first = client(sandbox)
    a = first.flow_values_report({"start": now - timedelta(days=30), "end": now}, sandbox.store.placed_order.id)
    again = client(sandbox)
    b = again.flow_values_report({"start": now - timedelta(days=30, minutes=-9), "end": now + timedelta(minutes=9)},
                                 sandbox.store.placed_order.id)
    assert first.requests_sent == 1 and again.requests_sent == 0 and again.cache_hits == 1
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("seed", [7, 11], ids=["null-seed7", "object-seed11"])
def test_profiles_without_predictions_read_alike_in_both_shapes(seed):
    with Sandbox(seed=seed, profiles=1200, rate_scale=0) as sb:
        raw = client(sb, cache=False).request("GET", "/api/profiles", {
            "additional-fields[profile]": "predictive_analytics", "page[size]": 100})
        shapes = {type(p["attributes"]["predictive_analytics"]).__name__ for p in raw["data"]}
        assert shapes == ({"dict"} if seed % 3 == 2 else {"dict", "NoneType"})  # seed 11: objects of nulls
        frame = client(sb, cache=False).profiles()
        assert int((~frame["has_predictions"]).sum()) == sb.truth()["profiles_without_predictions"] > 0
        assert frame.loc[~frame["has_predictions"], ["predicted_clv", "churn_probability"]].isna().all().all()
