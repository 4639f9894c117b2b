"""tools.bench: the bound both clients are measured against, and the sandbox in its own process."""

from __future__ import annotations

import pytest
import requests

from helpers.http import ratelimits
from helpers.klaviyo import KlaviyoClient
from sandbox.process import SandboxProcess
from tools import bench


def test_least_requests_is_one_per_page_whatever_a_client_sent():
    predictive = ratelimits.limit_for("GET", "/api/profiles", bench.PROFILES_PARAMS).bucket
    assert bench.least_requests("a_profiles_predictive", [20000]) == {predictive: 200}
    members = "GET /api/segments/{id}/relationships/profiles"
    assert bench.least_requests("b_segment_member_ids", [0, 150, 100, 101]) == {members: 1 + 2 + 1 + 2}
    # 209 requests made (probes, splits) do not move the bound away from what 200 pages allow.
    least = bench.bound_seconds(bench.least_requests("a_profiles_predictive", [20000]), 1.0, 0.0, 0.15)
    made = bench.bound_seconds({predictive: 209}, 1.0, 0.0, 0.15)
    assert least < made


def test_sandbox_stats_are_per_case():
    before = {"requests": {"GET /api/profiles": 10, "GET /api/segments": 2}, "throttled": 3, "faults": 0}
    after = {"requests": {"GET /api/profiles": 25, "GET /api/segments": 2, "GET /api/flows": 1},
             "throttled": 3, "faults": 1}
    assert bench.stats_delta(before, after) == {
        "requests": {"GET /api/profiles": 15, "GET /api/flows": 1}, "throttled": 0, "faults": 1}


def test_sandbox_process_serves_and_stops():
    from helpers.config import KlaviyoSettings

    with SandboxProcess(seed=3, profiles=300, rate_scale=0, latency_ms=0) as sb:
        before = sb.stats()
        kc = KlaviyoClient(KlaviyoSettings(sb.klaviyo_api_key, sb.klaviyo_base_url), rate_scale=0, cache=False,
                           progress=False)
        assert len(kc.segments()) > 0
        seen = bench.stats_delta(before, sb.stats())
        assert seen["requests"] == {"GET /api/segments": kc.requests_sent}
        proc = sb.proc
    assert proc.poll() is not None
    with pytest.raises(requests.ConnectionError):
        requests.get(sb.klaviyo_base_url + "/sandbox/stats", timeout=2)
