"""Requests paced to Klaviyo's fixed rate windows, and counted.

Pacing. Klaviyo counts requests in fixed windows aligned to the clock (burst: whole seconds, steady:
whole minutes, daily: UTC days) per bucket. :class:`Pacer` grants a request only when every window
it will be counted in still has room, so a normal run sends nothing that will be refused. A
sliding-window limiter (pyrate-limiter) is also safe, but it spreads a minute's budget over the 60 s
after the first request instead of letting it restart at the minute boundary, which can cost up to
half the throughput the fixed windows allow on a run that spans a boundary; hence this small pacer.
Requests granted just before a window ends may arrive after it (network delay), so those are counted
in the next window too (``guard``, learned from observed response times). A client that shares the
account with others (parallel kernels) paces against its share (``Limit.share``): floored, and below
one request per window stretched to one request per several windows.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping

from helpers.http.ratelimits import Limit

LimitOf = Callable[[str, str], "Limit | None"]


class DailyLimitReached(RuntimeError):
    """The bucket's daily cap is used up; raised before the request is sent."""

    def __init__(self, limit: Limit, resets_at: float):
        self.limit = limit
        self.resets_at = resets_at
        when = time.strftime("%H:%M UTC", time.gmtime(resets_at))
        super().__init__(
            f"daily limit of {limit.daily} requests for {limit.bucket} reached; it resets at {when} "
            "(results already fetched stay cached, so rerun after the reset)."
        )


class RequestStats:
    """Thread-safe counts of what reached the network: attempts (retries included), per bucket, 429s; and
    ``cached``, the requests answered from the response cache instead (never counted in ``sent``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent = 0
        self.cached = 0
        self.throttled = 0
        self.retries = 0
        self.by_bucket: Counter[str] = Counter()

    def count(self, bucket: str | None, *, retry: bool = False) -> None:
        with self._lock:
            self.sent += 1
            self.retries += retry
            self.by_bucket[bucket or "-"] += 1

    def count_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def count_cached(self) -> None:
        with self._lock:
            self.cached += 1


class _Windows:
    """Counts of one bucket in its burst, steady and daily windows, keyed by window number.

    A shared limit may stretch a window over several seconds or minutes (``Limit.share``). Such a
    window is granted only in its first second (minute), and starts at a random whole-second
    (whole-minute) ``phase``: clients sharing the account then send in different seconds of Klaviyo's
    own windows unless they drew the same phase.
    """

    __slots__ = ("sec", "min", "day", "blocked_until", "levels")

    def __init__(self, lim: Limit, rng: random.Random) -> None:
        self.sec: dict[int, int] = {}
        self.min: dict[int, int] = {}
        self.day: dict[int, int] = {}
        self.blocked_until = 0.0
        burst_phase = float(rng.randrange(lim.burst_window))
        steady_phase = 60.0 * rng.randrange(max(1, lim.steady_window // 60))
        # (table, window seconds, Klaviyo's window seconds, phase, cap)
        self.levels = ((self.sec, lim.burst_window, 1, burst_phase, lim.burst),
                       (self.min, lim.steady_window, 60, steady_phase, lim.steady))

    def prune(self, now: float) -> None:
        for table, size, _, phase, _ in self.levels:
            current = math.floor((now - phase) / size)
            for key in [k for k in table if k < current]:
                del table[key]
        today = math.floor(now / 86400)
        for key in [k for k in self.day if k < today]:
            del self.day[key]


class Pacer:
    """Fixed-window pacing per rate-limit bucket, shared by every thread of a client.

    ``limit_of(method, url)`` names the bucket and its limits (``helpers.http.ratelimits.limit_for`` for
    Klaviyo); ``scale`` is this client's share of every limit (``Limit.share``: the sandbox's
    ``--rate-scale``, times the share of parallel kernels; 0 switches pacing off).
    """

    def __init__(
        self,
        limit_of: LimitOf,
        *,
        scale: float = 1.0,
        # Margin over the slowest recent answer: a request can wait that much longer between being
        # granted and reaching the server (a busy process, a slow hop) than any recent response showed.
        guard: float = 0.1,
        first_guard: float = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._limit_of = limit_of
        self.scale = scale
        self._min_guard = guard
        self._first_guard = first_guard
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._buckets: dict[str, _Windows] = {}
        self._recent: deque[float] = deque(maxlen=32)  # recent response times, for the guard

    # -- public API -------------------------------------------------------------------------------
    def now(self) -> float:
        """The pacer's clock (wall time unless a test gives another)."""
        return self._clock()

    def limit(self, method: str, url: str) -> Limit | None:
        """The limit this client paces a request against (its share), or None when it is not paced."""
        if self.scale <= 0:
            return None
        raw = self._limit_of(method, url)
        return raw.share(self.scale) if raw is not None and self.scale != 1 else raw

    def acquire(self, method: str, url: str) -> Limit | None:
        """Block until the request may be sent without exceeding any window; return its limit."""
        lim = self.limit(method, url)
        if lim is not None:
            self.acquire_limit(lim)
        return lim

    def acquire_limit(self, lim: Limit) -> None:
        while True:
            with self._lock:
                wait = self._try_take(lim, self._clock())
            if wait <= 0:
                return
            self._sleep(wait)

    def throttled(self, lim: Limit | None, retry_after: float | None) -> None:
        """The server refused a request of this bucket: hold the bucket back for everyone."""
        if lim is None:
            return
        now = self._clock()
        until = now + retry_after if retry_after else math.floor(now) + 1.0
        with self._lock:
            w = self._windows(lim)
            w.blocked_until = max(w.blocked_until, until)
            # The server's count for this second is at least full; keep ours from granting more now.
            _, size, _, phase, _ = w.levels[0]
            key = math.floor((now - phase) / size)
            w.sec[key] = max(w.sec.get(key, 0), lim.burst)

    def observe(self, lim: Limit | None, headers: Mapping[str, str], sent_at: float | None = None) -> None:
        """Adopt the server's view of the steady window (RateLimit-Remaining/Reset) when it is stricter.

        Other integrations on the same account share the bucket, so the server may have counted more
        than this process sent. ``sent_at`` (pacer clock) is when the answered attempt was sent: it
        bounds when the server counted it, and the time since feeds the guard.
        """
        now = self._clock()
        sent = now if sent_at is None else min(sent_at, now)
        if sent_at is not None:
            with self._lock:
                self._recent.append(now - sent)
        if lim is None:
            return
        remaining, reset = int_header(headers, "RateLimit-Remaining"), int_header(headers, "RateLimit-Reset")
        if remaining is None:
            return
        if reset:
            # The server counted at some s in [sent, now] and rounded the rest of its minute up: its
            # minute ends at W with W - s in (reset - 1, reset], so W in (sent + reset - 1, now + reset].
            # That span is shorter than a minute, so the first boundary after sent + reset - 1 is W.
            minute = math.floor((sent + reset - 1) / 60)
        else:
            minute = math.floor(now / 60)
        with self._lock:
            w = self._windows(lim)
            table, size, _, phase, _ = w.levels[1]
            key = math.floor((minute * 60 - phase) / size)
            # The count alone holds requests back until that window ends (also when remaining is 0).
            table[key] = max(table.get(key, 0), lim.steady - remaining)

    @property
    def guard(self) -> float:
        """Seconds before a window ends within which a granted request may land in the next window.

        The slowest recent answer plus the ``guard`` margin: a request can take longer than any of the
        last few (a busy client or server, network jitter). Until a first answer shows how long requests
        take, ``first_guard``: the first wave of a run would otherwise be granted with no margin and land
        in the next window on top of that window's own.
        """
        if not self._recent:
            return max(self._min_guard, self._first_guard)
        return min(self._min_guard + max(self._recent), 1.0)

    # -- internals --------------------------------------------------------------------------------
    def _windows(self, lim: Limit) -> _Windows:
        w = self._buckets.get(lim.bucket)
        if w is None:
            w = self._buckets[lim.bucket] = _Windows(lim, self._rng)
        return w

    def _try_take(self, lim: Limit, now: float) -> float:
        """Take a slot and return 0, or return how long to wait before trying again (lock held)."""
        w = self._windows(lim)
        w.prune(now)
        if now < w.blocked_until:
            return w.blocked_until - now
        guard = self.guard
        waits: list[float] = []
        keys: list[tuple[dict[int, int], int]] = []
        for table, size, base, phase, cap in w.levels:
            here, later = math.floor((now - phase) / size), math.floor((now + guard - phase) / size)
            if size > base and now - phase - here * size >= base - min(guard, base / 2):
                # A stretched window past its first (Klaviyo) window: the rest belongs to other clients.
                waits.append((here + 1) * size + phase - now)
                continue
            for key in {here, later}:
                if table.get(key, 0) >= cap:
                    # Wait for this window to end (for the later one: until landing past it is likely).
                    end = (key + 1) * size + phase
                    waits.append(end - (guard if key == later != here else 0.0) - now)
                keys.append((table, key))
        if lim.daily is not None:
            day = math.floor(now / 86400)
            if w.day.get(day, 0) >= lim.daily:
                raise DailyLimitReached(lim, (day + 1) * 86400.0)
            keys.append((w.day, day))
        if waits:
            return max(max(waits), 1e-3)
        for table, key in keys:
            table[key] = table.get(key, 0) + 1
        return 0.0


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(str(raw).split(",")[0].split(";")[0].strip())
    except ValueError:
        return None


