"""KlaviyoClient over real HTTP against the sandbox: pagination, faults, pacing, errors, cache, frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.config import ConfigError, KlaviyoSettings
from helpers.klaviyo import PROFILE_COLUMNS, KlaviyoClient, KlaviyoError, choose_metric, profiles_frame
from sandbox import Sandbox
from sandbox.process import SandboxProcess


def client_for(sb: Sandbox, **kw) -> KlaviyoClient:
    kw.setdefault("rate_scale", sb.limiter.scale)
    kw.setdefault("progress", False)
    return KlaviyoClient(KlaviyoSettings(api_key=sb.klaviyo_api_key, base_url=sb.klaviyo_base_url), **kw)


@pytest.fixture(scope="module")
def reference(sandbox):
    """What a fault-free, unpaced run returns from the session sandbox (seed 7, 5000 profiles)."""
    kc = client_for(sandbox, cache=False)
    profiles = kc.profiles()
    members = kc.segment_members()
    return {"profiles": profiles, "members": members}


def test_paginate_is_complete_and_exactly_once(sandbox):
    kc = client_for(sandbox, cache=False)
    ids = [p["id"] for p in kc.paginate("/api/profiles", {"page[size]": 37, "fields[profile]": "created"})]
    assert len(ids) == len(set(ids)) == sandbox.truth()["profiles_total"]
    assert kc.requests_sent == -(-len(ids) // 37)  # one request per page, no more
    segs = list(kc.paginate("/api/segments", {"page[size]": 3}))
    assert len(segs) == len({s["id"] for s in segs}) >= 15


def test_profiles_frame_matches_truth_and_contract(sandbox, reference):
    truth = sandbox.truth()
    df = reference["profiles"]
    assert list(df.columns) == PROFILE_COLUMNS
    assert len(df) == df["profile_id"].nunique() == truth["profiles_total"]
    assert int((~df["has_predictions"]).sum()) == truth["profiles_without_predictions"]
    assert str(df["created"].dtype) == "datetime64[us, UTC]" or "UTC" in str(df["created"].dtype)
    assert df["has_predictions"].dtype == bool and df["email_consent"].dtype == bool
    assert df["total_clv"].dtype == float and df.loc[df.has_predictions, "preferred_channel"].notna().any()
    assert "email" not in df.columns and "phone_number" not in df.columns


def test_segment_members_are_complete(sandbox, reference):
    kc = client_for(sandbox, cache=False)
    members = reference["members"]
    segs = kc.segments()
    assert set(members) == set(segs["segment_id"])
    for seg_id, ids in members.items():
        assert isinstance(ids, np.ndarray) and len(ids) == len(set(ids.tolist()))
        direct = [p["id"] for p in kc.paginate(f"/api/segments/{seg_id}/relationships/profiles", {"page[size]": 100})]
        assert sorted(ids.tolist()) == sorted(direct), seg_id


def test_same_records_with_faults(reference):
    with Sandbox(seed=7, fault_rate=0.2, rate_scale=0) as sb:
        kc = client_for(sb, cache=False, backoff=0.05)
        profiles = kc.profiles()
        members = kc.segment_members()
        assert sb.stats()["klaviyo"]["faults"] > 10  # faults really happened
    pd.testing.assert_frame_equal(
        profiles.sort_values("profile_id").reset_index(drop=True),
        reference["profiles"].sort_values("profile_id").reset_index(drop=True))
    assert {k: sorted(v.tolist()) for k, v in members.items()} == \
        {k: sorted(v.tolist()) for k, v in reference["members"].items()}
    assert kc.stats.retries > 0


@pytest.mark.serial
def test_paced_run_gets_no_429():
    # Burst windows bind (predictive profiles 3/s, members 22/s) while concurrent chains compete for them,
    # and with 150 ms of latency a request granted late in a second lands in the next one unless the
    # pacer's guard (learned from response times) counts it there too. The sandbox runs in its own process,
    # as Klaviyo would: in this one its handler threads would queue behind the client's for the GIL.
    with SandboxProcess(seed=3, profiles=1200, rate_scale=0.3, latency_ms=150) as sb:
        kc = KlaviyoClient(KlaviyoSettings(api_key=sb.klaviyo_api_key, base_url=sb.klaviyo_base_url),
                           rate_scale=0.3, progress=False, cache=False)
        assert len(kc.profiles()) == 1200
        kc.segment_members()
        assert kc.pacer.guard >= 0.15
        stats = sb.stats()
        assert stats["throttled"] == 0, stats["throttled_by_bucket"]
        assert kc.stats.throttled == 0


def test_retry_after_is_honoured_and_the_request_recovers(sandbox):
    kc = client_for(sandbox, cache=False)
    sandbox.schedule_fault("GET", "/api/segments", 429, 1)
    sandbox.schedule_fault("GET", "/api/segments", 503, 1)
    sandbox.schedule_fault("GET", "/api/segments", 0, 1)
    assert len(kc.segments()) >= 15
    assert kc.stats.throttled == 1 and kc.requests_sent >= 4 and kc.stats.retries == 3


def test_errors_are_one_line_and_actionable(sandbox, monkeypatch):
    monkeypatch.delenv("KLAVIYO_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="KLAVIYO_API_KEY is not set"):
        KlaviyoClient.from_env()
    monkeypatch.setenv("KLAVIYO_API_KEY", "abc123")
    with pytest.raises(ConfigError, match="pk_"):
        KlaviyoClient.from_env()

    def fails(kc: KlaviyoClient, call, pattern: str) -> KlaviyoError:
        with pytest.raises(KlaviyoError, match=pattern) as info:
            call(kc)
        assert "\n" not in str(info.value)
        return info.value

    wrong = client_for(sandbox, cache=False)
    wrong.session.headers["Authorization"] = "Klaviyo-API-Key pk_wrong"
    assert fails(wrong, lambda k: k.segments(), "rejected the API key").status == 401

    old = KlaviyoClient(KlaviyoSettings(sandbox.klaviyo_api_key, sandbox.klaviyo_base_url, "2019-01-01"),
                        rate_scale=0, cache=False)
    fails(old, lambda k: k.segments(), "revision 2019-01-01.*KLAVIYO_REVISION")
    with pytest.raises(ConfigError, match="KLAVIYO_REVISION"):
        KlaviyoClient(KlaviyoSettings(sandbox.klaviyo_api_key, sandbox.klaviyo_base_url, "latest"))

    kc = client_for(sandbox, cache=False, backoff=0.01, attempts=6)
    sandbox.schedule_fault("GET", "/api/segments", 403, 1)
    fails(kc, lambda k: k.segments(), "grant segments:read")
    fails(kc, lambda k: k.segment_members(["NoSuchSegment"]), "404")
    sent = kc.requests_sent
    sandbox.schedule_fault("GET", "/api/flows", 503, 10)
    try:
        fails(kc, lambda k: k.flows(), r"\(GET /api/flows, 503\) after 6 attempts")
        assert kc.requests_sent - sent == 6  # bounded
    finally:
        # The four 503s never asked for would meet the next test on this worker's sandbox.
        assert sandbox.clear_faults() == 4


def test_transport_failures_are_named(sandbox):
    kc = client_for(sandbox, cache=False, backoff=0.01, attempts=2)
    sandbox.schedule_fault("GET", "/api/segments", 0, 2)
    with pytest.raises(KlaviyoError, match=r"after 2 attempts \(connection dropped before an answer\)"):
        kc.segments()
    with Sandbox(seed=7, profiles=200, rate_scale=0, latency_ms=300) as slow:
        kc = client_for(slow, cache=False, backoff=0.01, attempts=2, timeout=(5.0, 0.05))
        with pytest.raises(KlaviyoError, match=r"after 2 attempts \(timed out after 0.05 s waiting for the answer\)"):
            kc.segments()


def test_daily_reporting_cap_is_a_clear_error():
    clock = {"t": 1_800_000_000.0}
    with Sandbox(seed=7, profiles=500, rate_scale=0.01, clock=lambda: clock["t"]) as sb:
        kc = client_for(sb, cache=False, rate_scale=0)  # let the sandbox's (fake-clock) windows decide
        metric = kc.metric_id("Placed Order")
        for tf in ("last_30_days", "last_90_days"):  # the scaled daily cap is 2
            assert len(kc.flow_values_report(tf, metric)) > 0
            clock["t"] += 61
        with pytest.raises(KlaviyoError, match="daily limit.*flow-values-reports") as info:
            kc.flow_values_report("last_365_days", metric)
        assert info.value.status == 429


def test_rerun_within_lifetime_sends_no_request_and_refresh_bypasses(sandbox_env):
    def run(kc: KlaviyoClient):
        metric = kc.metric_id("Placed Order")
        return [kc.profiles(), kc.segments(), kc.segment_members(), kc.flow_messages(),
                kc.flow_values_report("last_90_days", metric), kc.flow_series_report("last_365_days", metric),
                kc.campaigns("sms"), kc.catalog_items()]

    first = KlaviyoClient.from_env(progress=False)
    a = run(first)
    assert first.requests_sent > 20
    again = KlaviyoClient.from_env(progress=False)
    b = run(again)
    assert again.requests_sent == 0
    for x, y in zip(a, b, strict=True):
        if isinstance(x, dict):
            assert {k: v.tolist() for k, v in x.items()} == {k: v.tolist() for k, v in y.items()}
        else:
            pd.testing.assert_frame_equal(x, y)
    fresh = KlaviyoClient.from_env(refresh=True, progress=False)
    fresh.segments()
    assert fresh.requests_sent >= 2


def test_cache_is_not_shared_across_revisions(sandbox):
    settings = KlaviyoSettings(api_key=sandbox.klaviyo_api_key, base_url=sandbox.klaviyo_base_url)
    first = KlaviyoClient(settings, rate_scale=0, progress=False)
    first.segments()
    assert first.requests_sent > 0
    again = KlaviyoClient(settings, rate_scale=0, progress=False)
    again.segments()
    assert again.requests_sent == 0  # same revision: served from the cache
    other = KlaviyoClient(KlaviyoSettings(settings.api_key, settings.base_url, "2025-01-15"),
                          rate_scale=0, progress=False)
    with pytest.raises(KlaviyoError, match="revision 2025-01-15"):  # the sandbox refuses it: it was really sent
        other.segments()
    assert other.requests_sent == 1


def test_typed_frames_have_the_contract_columns(sandbox):
    kc = client_for(sandbox, cache=False)
    fm = kc.flow_messages()
    assert list(fm.columns) == ["flow_id", "flow_name", "flow_status", "trigger_type", "action_id", "message_id",
                                "message_name", "channel", "subject", "preview_text", "body"]
    assert fm["message_id"].is_unique and set(fm["channel"]) <= {"email", "sms", "push-notification", "push"}
    assert fm.loc[fm.channel == "email", "subject"].notna().all()
    report = kc.flow_values_report("last_90_days", kc.metric_id())
    assert list(report.columns[:3]) == ["flow_id", "flow_message_id", "send_channel"]
    assert set(report["flow_message_id"]) <= set(fm["message_id"])
    camp = kc.campaigns("email")
    assert list(camp.columns) == ["campaign_id", "name", "channel", "status", "send_time", "message_id", "label",
                                  "subject", "preview_text", "body", "audiences_included", "audiences_excluded"]
    assert camp["message_id"].notna().all() and (camp["channel"] == "email").all()
    cr = kc.campaign_values_report("last_365_days", kc.metric_id())
    assert list(cr.columns[:3]) == ["campaign_id", "campaign_message_id", "send_channel"]
    items, cats = kc.catalog_items(), kc.catalog_categories()
    assert items["category_ids"].map(len).gt(0).all()
    assert set(c for ids in items["category_ids"] for c in ids) <= set(cats["category_id"])
    ev = kc.events(kc.metric_id(), "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert list(ev.columns) == ["event_id", "datetime", "profile_id", "value", "properties"]
    assert ev["event_id"].is_unique and ev["profile_id"].notna().all() and ev["value"].gt(0).all()
    one_shot = [p["id"] for p in kc.paginate("/api/events", {
        "filter": f'and(equals(metric_id,"{kc.metric_id()}"),greater-or-equal(datetime,2025-01-01T00:00:00Z),'
                  'less-than(datetime,2027-01-01T00:00:00Z))', "page[size]": 1000})]
    assert sorted(one_shot) == sorted(ev["event_id"])


def test_flow_series_is_one_post_whose_steps_add_up_to_the_values_report(sandbox):
    kc = client_for(sandbox, cache=False)
    metric = kc.metric_id()
    before = kc.requests_sent
    series = kc.flow_series_report("last_90_days", metric, "weekly", ["recipients", "delivered", "clicks_unique"])
    assert kc.requests_sent == before + 1
    assert list(series.columns) == ["flow_id", "flow_message_id", "send_channel", "date_time", "recipients",
                                    "delivered", "clicks_unique"]
    assert str(series["date_time"].dt.tz) == "UTC" and series["date_time"].nunique() == 13
    values = kc.flow_values_report("last_90_days", metric, statistics=["recipients", "delivered", "clicks_unique"])
    keys = ["flow_id", "flow_message_id", "send_channel"]
    summed = series.groupby(keys)[["recipients", "delivered", "clicks_unique"]].sum().sort_index()
    pd.testing.assert_frame_equal(summed, values.set_index(keys).sort_index(), check_dtype=False)
    with pytest.raises(KlaviyoError, match="hourly"):
        kc.flow_series_report("last_7_days", metric, "hourly", ["recipients"])


def test_metric_choice_prefers_ecommerce_then_newest():
    ts = pd.Timestamp
    frame = pd.DataFrame({
        "metric_id": ["api_new", "shop_old", "shop_new", "other"],
        "name": ["Placed Order", "Placed Order", "Placed Order", "Viewed Product"],
        "integration_name": ["API", "Shopify", "Shopify", "Shopify"],
        "integration_category": ["API", "eCommerce", "ECOMMERCE", "eCommerce"],
        "updated": [ts("2026-11-01", tz="UTC"), ts("2025-01-01", tz="UTC"), ts("2026-01-01", tz="UTC"), pd.NaT],
    })
    assert choose_metric(frame, "Placed Order") == "shop_new"
    assert choose_metric(frame.iloc[[0]], "placed order") == "api_new"
    with pytest.raises(KlaviyoError, match="no Klaviyo metric named 'Started Checkout'"):
        choose_metric(frame, "Started Checkout")


def test_profiles_frame_handles_nulls_and_optional_contact_fields():
    records = [
        {"type": "profile", "id": "a", "attributes": {"created": "2024-01-01T00:00:00+00:00", "email": "x@y.z",
                                                      "predictive_analytics": None}},
        {"type": "profile", "id": "b", "attributes": {
            "created": "2024-01-02T00:00:00+00:00", "location": {"country": "Canada"},
            "predictive_analytics": {"total_clv": 10.5, "ranked_channel_affinity": ["sms", "email"],
                                     "expected_date_of_next_order": "2026-01-01T00:00:00+00:00"},
            "subscriptions": {"sms": {"marketing": {"can_receive_sms_marketing": True}}}}},
    ]
    df = profiles_frame(records)
    assert df["has_predictions"].tolist() == [False, True] and "email" not in df
    assert df.loc[1, "preferred_channel"] == "sms" and df["sms_consent"].tolist() == [False, True]
    assert np.isnan(df.loc[0, "total_clv"]) and df.loc[1, "total_clv"] == 10.5
    assert profiles_frame(records, email=True)["email"].iloc[0] == "x@y.z"
    assert list(profiles_frame([]).columns) == PROFILE_COLUMNS


def test_campaign_audiences_and_flow_definitions_name_the_segments_in_use(sandbox):
    """What notebook 03 reads to keep a segment a live campaign or flow needs (the sandbox plants both)."""
    kc = client_for(sandbox, cache=False)
    truth = sandbox.truth()
    push = kc.campaigns("mobile_push")
    scheduled = push[push["status"] == "Scheduled"]
    assert len(scheduled) == 1 and all(isinstance(v, list) for v in push["audiences_included"])
    (iceland,) = scheduled["audiences_excluded"].iloc[0]
    assert truth["kept_in_use"][iceland] == [scheduled["campaign_id"].iloc[0]]
    sent = kc.campaigns("email")
    assert (sent["audiences_included"].map(len) == 1).all() and (sent["audiences_excluded"].map(len) == 0).all()
    before = kc.requests_sent
    flows = kc.flow_definitions()
    listed = kc.flows()
    assert list(flows.columns) == ["flow_id", "name", "status", "archived", "trigger_type", "definition"]
    assert sorted(flows["flow_id"]) == sorted(listed["flow_id"])
    assert kc.requests_sent - before == len(listed) + 2  # one GET per flow, the one-page listing twice (no cache)
    triggers = {fid: d["triggers"][0] for fid, d in zip(flows["flow_id"], flows["definition"], strict=True)}
    by_segment = {t["id"]: fid for fid, t in triggers.items() if t["type"] == "segment"}
    (beta,) = [s for s, users in truth["kept_in_use"].items() if users[0] in by_segment.values()]
    assert truth["kept_in_use"][beta] == [by_segment[beta]]
    assert flows.set_index("flow_id").loc[by_segment[beta], "trigger_type"] == "Added to List"  # only the definition says segment
    assert {t["type"] for t in triggers.values()} >= {"segment", "metric"}
