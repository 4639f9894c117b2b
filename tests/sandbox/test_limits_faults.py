"""Rate limits (fixed windows on an injected clock, so nothing depends on wall time) and seeded faults."""

from __future__ import annotations

import pytest
import requests

from helpers import ratelimits
from sandbox import Sandbox
from sandbox.klaviyo.limits import Limit, RateLimiter, limit_of, min_seconds
from sandbox.klaviyo.params import OPERATIONS


class FakeClock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return FakeClock(1_800_000_000.25)  # a quarter second into a minute-aligned second


@pytest.fixture
def limited(clock, klaviyo_caller):
    with Sandbox(seed=7, rate_scale=1, clock=clock) as sb:
        yield klaviyo_caller(sb), clock


def test_profile_count_limit_is_1_per_second_with_retry_after(limited):
    kv, clock = limited
    seg = kv.sb.store.segments[0].id
    params = {"additional-fields[segment]": "profile_count"}
    ok = kv.get(f"/api/segments/{seg}", params)
    assert ok.status_code == 200
    assert ok.headers["RateLimit-Limit"] == "15" and ok.headers["RateLimit-Remaining"] == "14"
    assert 1 <= int(ok.headers["RateLimit-Reset"]) <= 60
    blocked = kv.get(f"/api/segments/{seg}", params)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    assert "RateLimit-Limit" not in blocked.headers
    err = blocked.json()["errors"][0]
    assert err["code"] == "throttled" and err["detail"] == "Request was throttled. Expected available in 1 second."
    # The same segment without profile_count is in another, much larger bucket.
    assert kv.get(f"/api/segments/{seg}").status_code == 200
    clock.t += 1
    assert kv.get(f"/api/segments/{seg}", params).status_code == 200


def test_steady_window_blocks_until_the_minute_ends(limited):
    kv, clock = limited
    seg = kv.sb.store.segments[0].id
    params = {"additional-fields[segment]": "profile_count"}
    start = clock.t
    for _ in range(15):
        assert kv.get(f"/api/segments/{seg}", params).status_code == 200
        clock.t += 1
    blocked = kv.get(f"/api/segments/{seg}", params)
    assert blocked.status_code == 429
    minute_end = (start // 60 + 1) * 60
    assert int(blocked.headers["Retry-After"]) == int(-(-(minute_end - clock.t) // 1))
    clock.t = minute_end
    assert kv.get(f"/api/segments/{seg}", params).status_code == 200
    assert kv.sb.stats()["klaviyo"]["throttled"] == 1


def test_reporting_limit_two_per_minute(limited):
    kv, clock = limited
    body = {"data": {"type": "flow-values-report", "attributes": {
        "statistics": ["recipients"], "timeframe": {"key": "last_30_days"},
        "conversion_metric_id": kv.sb.store.placed_order.id}}}
    assert kv.post("/api/flow-values-reports", body).status_code == 200
    clock.t += 1
    assert kv.post("/api/flow-values-reports", body).status_code == 200
    clock.t += 1
    third = kv.post("/api/flow-values-reports", body)
    assert third.status_code == 429 and int(third.headers["Retry-After"]) > 1


def test_predictive_analytics_bucket_is_separate_and_lower():
    limit = limit_of("GET /api/profiles", {"additional-fields[profile]": ["subscriptions,predictive_analytics"]})
    assert (limit.burst, limit.steady) == (10, 150)
    clock = FakeClock(100.0)
    limiter = RateLimiter(1.0, clock)
    assert sum(limiter.check(limit).allowed for _ in range(12)) == 10
    assert limiter.check(limit_of("GET /api/profiles", {})).allowed


@pytest.mark.parametrize("param, value", [(None, None), ("additional-fields[profile]", "predictive_analytics"),
                                          ("additional-fields[segment]", "profile_count"), ("include", "lists")])
def test_emulator_and_client_read_the_same_limits(param, value):
    """Each side reads apifacts/klaviyo_ratelimits.json itself (the emulator imports no client code);
    for every operation the emulator serves they must name the same bucket and numbers."""
    for op in OPERATIONS:
        params = {param: [value]} if param else {}
        ours = limit_of(op, params)
        method, path = op.split(" ", 1)
        theirs = ratelimits.limit_for(method, path.replace("{id}", "abc123"), {param: value} if param else {})
        assert ours is not None and theirs is not None, op
        assert (ours.bucket, ours.burst, ours.steady, ours.daily) == (
            theirs.bucket, theirs.burst, theirs.steady, theirs.daily), op
        assert ours.scaled(0.5) == Limit(*[getattr(theirs.scaled(0.5), k) for k in ("bucket", "burst", "steady", "daily")])


def test_rate_scale_multiplies_and_zero_switches_off():
    limit = Limit("x", 1, 2, 225)
    clock = FakeClock(0.5)
    scaled, off = RateLimiter(3.0, clock), RateLimiter(0, clock)
    assert sum(scaled.check(limit).allowed for _ in range(5)) == 3
    assert all(off.check(limit).allowed for _ in range(50))


@pytest.mark.parametrize("n, limit, t0, expected", [
    (1, Limit("a", 1, 2, 225), 0.0, 0.0),
    (2, Limit("a", 1, 2, 225), 0.0, 1.0),    # second request in the next second
    (3, Limit("a", 1, 2, 225), 0.0, 60.0),   # third waits for the next minute
    (5, Limit("a", 1, 2, 225), 59.5, 61.0),  # 59.5, 60, 61 | 120, 121
    (10, Limit("b", 10, 150), 0.0, 0.0),
    (11, Limit("b", 10, 150), 0.0, 1.0),
    (151, Limit("b", 10, 150), 0.0, 60.0),
])
def test_min_seconds(n, limit, t0, expected):
    got = min_seconds(n, limit, t0)
    assert got == pytest.approx(expected if n != 5 else 121.0 - 59.5)


def _outcomes(seed: int, rate: float) -> list:
    out = []
    with Sandbox(seed=seed, fault_rate=rate, rate_scale=0) as sb:
        s = requests.Session()
        s.headers.update({"Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15"})
        for k in range(40):
            try:
                r = s.get(f"{sb.klaviyo_base_url}/api/catalog-items", params={"page[size]": str(1 + k % 5)}, timeout=10)
                out.append(r.status_code)
            except requests.ConnectionError:
                out.append("dropped")
                s = requests.Session()
                s.headers.update({"Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15"})
        out.append(sb.stats()["klaviyo"]["faults"])
    return out


def test_faults_are_reproducible_for_a_seed():
    first, second = _outcomes(5, 0.35), _outcomes(5, 0.35)
    assert first == second
    assert first[-1] > 0 and any(o != 200 for o in first[:-1])
    assert "dropped" in first or any(o in (429, 500, 502, 503, 504) for o in first[:-1])
    assert _outcomes(6, 0.35)[:-1] != first[:-1]


def test_scheduled_faults_drop_and_fail_before_the_request_is_applied(sandbox):
    base = sandbox.klaviyo_base_url
    h = {"Authorization": f"Klaviyo-API-Key {sandbox.klaviyo_api_key}", "revision": "2026-07-15"}
    r = requests.post(f"{base}/sandbox/faults", json={"method": "GET", "path_prefix": "/api/metrics", "status": 0,
                                                       "count": 1}, timeout=10)
    assert r.status_code == 201
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/api/metrics", headers=h, timeout=10)
    assert requests.get(f"{base}/api/metrics", headers=h, timeout=10).status_code == 200

    before = sandbox.stats()["klaviyo"]["requests"].get("POST /api/campaign-values-reports", 0)
    requests.post(f"{base}/sandbox/faults", json={"method": "POST", "path_prefix": "/api/campaign-values-reports",
                                                   "status": 503, "count": 1}, timeout=10)
    body = {"data": {"type": "campaign-values-report", "attributes": {
        "statistics": ["recipients"], "timeframe": {"key": "last_30_days"},
        "conversion_metric_id": sandbox.store.placed_order.id}}}
    failed = requests.post(f"{base}/api/campaign-values-reports", json=body, headers=h, timeout=10)
    assert failed.status_code == 503 and failed.json()["errors"][0]["status"] == 503
    assert sandbox.stats()["klaviyo"]["requests"].get("POST /api/campaign-values-reports", 0) == before
    assert requests.post(f"{base}/api/campaign-values-reports", json=body, headers=h, timeout=10).status_code == 200
    assert requests.post(f"{base}/sandbox/faults", json={"status": 503}, timeout=10).status_code == 400


def _faulted_concurrently(order: list[int], workers: int) -> dict:
    """Each URL's sorted outcomes (status or "dropped") when the same 60 requests arrive in ``order``."""
    from collections import defaultdict
    from concurrent.futures import ThreadPoolExecutor

    outcomes = defaultdict(list)
    with Sandbox(seed=9, fault_rate=0.3, rate_scale=0) as sb:
        headers = {"Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15"}

        def one(k: int):
            # Each URL is sent twice: its second sighting draws afresh, as a retry would, and which thread
            # holds which sighting does not change the URL's outcomes.
            size, field = 1 + k % 10, ("title", "price", "url")[k % 30 // 10]
            try:
                with requests.Session() as s:
                    status = s.get(f"{sb.klaviyo_base_url}/api/catalog-items", headers=headers, timeout=10,
                                   params={"page[size]": str(size), "fields[catalog-item]": field}).status_code
            except requests.ConnectionError:
                status = "dropped"
            outcomes[(size, field)].append(status)

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, order))
        assert sb.faults.injected == len(sb.faults.log) > 0
    return {key: sorted(map(str, v)) for key, v in outcomes.items()}


def test_faults_do_not_depend_on_request_order():
    """Concurrent fetches see the same faults as sequential ones: faults hash the request, not its arrival."""
    import random

    order = list(range(60))
    sequential = _faulted_concurrently(order, 1)
    shuffled = order[:]
    random.Random(3).shuffle(shuffled)
    concurrent = _faulted_concurrently(shuffled, 6)
    assert len(sequential) == 30 and concurrent == sequential


def test_invalid_query_400s_carry_rate_limit_headers_like_handler_errors(limited):
    """A 400 from parameter validation is counted like a 404 from a handler, and says so in its headers."""
    kv, _ = limited
    bad = kv.get("/api/metrics/NOPE00", {"colour": "blue"})
    missing = kv.get("/api/metrics/NOPE00")
    assert (bad.status_code, missing.status_code) == (400, 404)
    assert bad.headers["RateLimit-Limit"] == missing.headers["RateLimit-Limit"]
    assert int(bad.headers["RateLimit-Remaining"]) == int(missing.headers["RateLimit-Remaining"]) + 1
