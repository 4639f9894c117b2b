"""Klaviyo's fixed-window rate limits, enforced per bucket for the sandbox's one account.

The limits are read from ``apifacts/klaviyo_ratelimits.json`` (extracted from Klaviyo's OpenAPI document),
the same file the client paces against; this module reads it itself, by operation key, so the emulator
needs no client code. Windows are aligned to the clock: the burst window is the current whole second, the
steady window the current whole minute (floor(t / 60)), the daily cap the UTC day. A request blocked by
any window is not counted. ``min_seconds`` gives the theoretical best time for n requests under the same
rules, for benchmarks that want to show how close a client gets.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import apifacts

WINDOWS = (("burst", 1), ("steady", 60), ("daily", 86400))


@dataclass(frozen=True)
class Limit:
    bucket: str  # the operation key, plus "#<value>" when a parameter moves it to a lower limit
    burst: int  # per second
    steady: int  # per minute
    daily: int | None = None

    def scaled(self, factor: float) -> Limit:
        """The limit times ``factor`` (--rate-scale), rounded, never below one request per window."""
        daily = None if self.daily is None else max(1, round(self.daily * factor))
        return Limit(self.bucket, max(1, round(self.burst * factor)), max(1, round(self.steady * factor)), daily)


@lru_cache(maxsize=1)
def _operations() -> dict[str, dict]:
    return apifacts.load("klaviyo_ratelimits")["operations"]


def limit_of(op: str, params: Mapping[str, Sequence[str]]) -> Limit | None:
    """The limit a request to operation ``op`` ("GET /api/segments/{id}") falls under, given its query
    parameters (each a list of raw values); None for an operation the spec gives no limit."""
    spec = _operations().get(op)
    if spec is None:
        return None
    for cond in spec["conditional"]:
        given = {v.strip() for raw in params.get(cond["param"], ()) for v in raw.split(",")}
        # The spec's prose says "include=list" where the parameter value is "lists": accept either.
        if cond["value"] in given or cond["value"] + "s" in given:
            return Limit(f"{op}#{cond['value']}", cond["burst"], cond["steady"], spec["daily"])
    return Limit(op, spec["burst"], spec["steady"], spec["daily"])


@dataclass
class Decision:
    allowed: bool
    retry_after: int  # whole seconds until the blocking window resets (429 only)
    limit: int  # steady limit, for RateLimit-* headers
    remaining: int
    reset: int


class RateLimiter:
    def __init__(self, scale: float = 1.0, clock: Callable[[], float] = time.time):
        self.scale = scale
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}  # (bucket, window) -> (window no, count)
        self.throttled = 0
        self.throttled_by_bucket: dict[str, int] = {}

    def check(self, limit: Limit) -> Decision:
        if self.scale <= 0:
            return Decision(True, 0, 0, 0, 0)
        lim = limit.scaled(self.scale)
        caps = {"burst": lim.burst, "steady": lim.steady, "daily": lim.daily}
        with self._lock:
            now = self.clock()
            blocked_until = 0.0
            current = {}
            for name, size in WINDOWS:
                cap = caps[name]
                if cap is None:
                    continue
                window = math.floor(now / size)
                seen_window, count = self._counts.get((lim.bucket, name), (window, 0))
                if seen_window != window:
                    count = 0
                current[name] = (window, count)
                if count >= cap:
                    blocked_until = max(blocked_until, (window + 1) * size)
            reset = max(1, math.ceil((current["steady"][0] + 1) * 60 - now))
            if blocked_until:
                self.throttled += 1
                self.throttled_by_bucket[lim.bucket] = self.throttled_by_bucket.get(lim.bucket, 0) + 1
                return Decision(False, max(1, math.ceil(blocked_until - now)), lim.steady, 0, reset)
            for name, (window, count) in current.items():
                self._counts[(lim.bucket, name)] = (window, count + 1)
            used = current["steady"][1] + 1
            return Decision(True, 0, lim.steady, max(0, lim.steady - used), reset)


def min_seconds(n_requests: int, limit: Limit, t0: float = 0.0) -> float:
    """Least wall time from t0 until the n-th request can be sent, with zero-latency requests.

    Simulates a perfect client under the same fixed windows: it sends as many requests as every window
    allows and, when one is full, waits for the earliest time all windows have room again. The answer is
    the send time of the last request minus t0 (0 when everything fits in the first windows).
    """
    caps = [(size, cap) for (name, size), cap in zip(WINDOWS, (limit.burst, limit.steady, limit.daily), strict=True)
            if cap is not None]
    t = t0
    counts = {size: (math.floor(t0 / size), 0) for size, _ in caps}
    sent = 0
    last = t0
    while sent < n_requests:
        wait_until = t
        for size, cap in caps:
            window, count = counts[size]
            if window != math.floor(t / size):
                counts[size] = (math.floor(t / size), 0)
            elif count >= cap:
                wait_until = max(wait_until, (window + 1) * size)
        if wait_until > t:
            t = wait_until
            continue
        # Room in every window: send as many as the tightest window allows at this instant.
        room = min(cap - counts[size][1] for size, cap in caps)
        batch = min(room, n_requests - sent)
        for size, _ in caps:
            window, count = counts[size]
            counts[size] = (window, count + batch)
        sent += batch
        last = t
    return last - t0
