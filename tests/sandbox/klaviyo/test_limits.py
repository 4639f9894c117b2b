"""Klaviyo rate limits in the emulator: fixed windows on an injected clock, so nothing depends on wall time."""

from __future__ import annotations

import pytest

from helpers.http import ratelimits
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


def test_invalid_query_400s_carry_rate_limit_headers_like_handler_errors(limited):
    """A 400 from parameter validation is counted like a 404 from a handler, and says so in its headers."""
    kv, _ = limited
    bad = kv.get("/api/metrics/NOPE00", {"colour": "blue"})
    missing = kv.get("/api/metrics/NOPE00")
    assert (bad.status_code, missing.status_code) == (400, 404)
    assert bad.headers["RateLimit-Limit"] == missing.headers["RateLimit-Limit"]
    assert int(bad.headers["RateLimit-Remaining"]) == int(missing.headers["RateLimit-Remaining"]) + 1
