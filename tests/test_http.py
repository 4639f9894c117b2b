"""helpers.http.session against a tiny local werkzeug app: retries, Retry-After, pacing, cache, counting."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections import defaultdict
from datetime import timedelta

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from helpers.http.ratelimits import Limit
from helpers.http.session import (
    DailyLimitReached,
    Pacer,
    RequestStats,
    make_retry,
    make_session,
    transport_failure,
)


class Script:
    """A server whose answers per path are scripted: a list of (status, headers) to play, then 200."""

    def __init__(self) -> None:
        self.plan: dict[str, list] = defaultdict(list)
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()
        self.released = threading.Event()  # set at teardown: ends every "hang"

    def __call__(self, environ, start_response):
        req = Request(environ)
        with self.lock:
            self.arrivals[req.path].append(time.time())
            step = self.plan[req.path].pop(0) if self.plan[req.path] else (200, {})
        status, headers = step
        if status == 0:  # drop the connection without answering
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            environ["werkzeug.socket"].close()
            return []
        if status == "slow":
            time.sleep(headers)
            status, headers = 200, {}
        if status == "hang":  # never answers while the test runs: any read timeout ends the wait first
            self.released.wait()
            return []
        body = {"path": req.path, "n": len(self.arrivals[req.path]), "auth_seen": "Authorization" in req.headers}
        return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")(
            environ, start_response
        )


@pytest.fixture
def server():
    app = Script()
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    app.base = f"http://127.0.0.1:{srv.server_port}"
    yield app
    app.released.set()
    srv.shutdown()


def session_for(pacer=None, stats=None, **kw):
    stats = stats or RequestStats()
    retry = kw.pop("retry", None) or make_retry(attempts=4, backoff=0.01, backoff_max=0.05)
    return make_session(headers={"Authorization": "Klaviyo-API-Key pk_secret_abc"}, pacer=pacer, stats=stats,
                        retry=retry, **kw), stats


def test_5xx_and_dropped_connections_are_retried_and_counted(server):
    server.plan["/a"] = [(503, {}), (0, {}), (500, {})]
    s, stats = session_for()
    r = s.get(server.base + "/a")
    assert r.status_code == 200 and r.json()["n"] == 4
    assert stats.sent == 4 and stats.retries == 3


def test_attempts_are_bounded_and_the_last_answer_comes_back(server):
    server.plan["/b"] = [(503, {})] * 10
    s, stats = session_for()
    r = s.get(server.base + "/b")
    assert r.status_code == 503
    assert len(server.arrivals["/b"]) == 4 == stats.sent


def test_dropped_connections_exhausting_attempts_raise_connection_error(server):
    import requests

    server.plan["/c"] = [(0, {})] * 10
    s, _ = session_for()
    with pytest.raises(requests.ConnectionError):
        s.get(server.base + "/c")
    assert len(server.arrivals["/c"]) == 4


# Read timeouts: the server hangs (answers never) rather than answering a little late, and the timeout
# is far above what a local answer takes, so a busy machine changes neither which attempts time out nor
# which succeed.
READ_TIMEOUT = 2.0


def test_read_timeout_is_retried(server):
    server.plan["/slow"] = [("hang", None)]
    s, stats = session_for(timeout=(2, READ_TIMEOUT))
    r = s.get(server.base + "/slow")
    assert r.status_code == 200 and stats.sent == 2


def test_transport_failures_say_which_failure_it_was(server):
    import requests

    server.plan["/drop"] = [(0, {})] * 10
    server.plan["/hang"] = [("hang", None)] * 10
    timeout = (2, READ_TIMEOUT)
    s, _ = session_for(timeout=timeout, retry=make_retry(attempts=2, backoff=0.01, backoff_max=0.05))
    caught = {}
    for path in ("/drop", "/hang"):
        with pytest.raises(requests.RequestException) as info:
            s.get(server.base + path)
        caught[path] = transport_failure(info.value, timeout)
    assert caught == {"/drop": "connection dropped before an answer",
                      "/hang": "timed out after 2 s waiting for the answer"}
    with pytest.raises(requests.RequestException) as info:
        s.get("http://127.0.0.1:9/")  # nothing listens on the discard port
    assert transport_failure(info.value, timeout) == "connection refused"


@pytest.mark.parametrize("headers", [{"Retry-After": "1"}, {"Retry-After": "0"}, {}])
def test_429_is_retried_with_or_without_retry_after(server, headers):
    server.plan["/t"] = [(429, headers)]
    pacer = Pacer(lambda m, u: Limit("t", 100, 1000))
    s, stats = session_for(pacer=pacer)
    r = s.get(server.base + "/t")
    assert r.status_code == 200 and stats.throttled == 1 and stats.sent == 2
    first, second = server.arrivals["/t"]
    if headers.get("Retry-After") == "1":
        assert second - first >= 0.99  # the server's wait was honoured


def test_a_429_holds_back_the_whole_bucket(server):
    pacer = Pacer(lambda m, u: Limit("shared", 100, 1000))
    server.plan["/x"] = [(429, {"Retry-After": "1"})]
    s, _ = session_for(pacer=pacer)
    done = {}
    held = threading.Event()
    throttled = pacer.throttled

    def throttled_and_told(*args):
        throttled(*args)
        held.set()

    pacer.throttled = throttled_and_told

    def other():
        held.wait(60)  # starts once the 429 holds the bucket, however long /x took (60: only if broken)
        s.get(server.base + "/y")
        done["y"] = True

    t = threading.Thread(target=other)
    t.start()
    s.get(server.base + "/x")
    t.join()
    # /y went to the same bucket: it was not sent before the Retry-After ended.
    assert server.arrivals["/y"][0] >= server.arrivals["/x"][0] + 0.99


def test_long_retry_after_is_not_slept_on(server):
    server.plan["/cap"] = [(429, {"Retry-After": "40000"})]
    s, stats = session_for(retry=make_retry(attempts=4, max_retry_after=60))
    r = s.get(server.base + "/cap")
    assert r.status_code == 429 and stats.sent == 1 and stats.throttled == 1


def test_cache_hits_send_nothing_and_refresh_bypasses(server, tmp_path):
    path = tmp_path / "c.sqlite"
    s, stats = session_for(cache_path=path)
    url = server.base + "/cached"
    assert s.get(url, expire_after=timedelta(hours=1)).json()["n"] == 1
    assert s.get(url, expire_after=timedelta(hours=1)).json()["n"] == 1
    assert stats.sent == 1 and len(server.arrivals["/cached"]) == 1
    assert s.get(url, expire_after=timedelta(hours=1), force_refresh=True).json()["n"] == 2
    assert s.get(url).json()["n"] == 3 and s.get(url).json()["n"] == 4  # no lifetime given: never cached
    # A new session on the same file (a rerun) still hits.
    s2, stats2 = session_for(cache_path=path)
    assert s2.get(url, expire_after=timedelta(hours=1)).json()["n"] == 2 and stats2.sent == 0
    s.close(), s2.close()
    assert b"pk_secret_abc" not in path.read_bytes()


def test_post_bodies_are_part_of_the_cache_key(server, tmp_path):
    s, stats = session_for(cache_path=tmp_path / "p.sqlite")
    url = server.base + "/report"
    s.post(url, json={"a": 1}, expire_after=60)
    s.post(url, json={"a": 1}, expire_after=60)
    s.post(url, json={"a": 2}, expire_after=60)
    assert stats.sent == 2


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, d: float) -> None:
        self.t += d


def test_pacer_fills_fixed_windows_and_never_exceeds_them():
    clock = FakeClock(1_000_020.5)  # 20.5 s into a minute
    pacer = Pacer(lambda m, u: Limit("b", 10, 150), clock=clock, sleep=clock.sleep, guard=0.0, first_guard=0.0)
    sent = []
    for _ in range(400):
        pacer.acquire("GET", "/x")
        sent.append(clock.t)
    per_sec = defaultdict(int)
    per_min = defaultdict(int)
    for t in sent:
        per_sec[math.floor(t)] += 1
        per_min[math.floor(t / 60)] += 1
    assert max(per_sec.values()) <= 10 and max(per_min.values()) <= 150
    # Work-conserving: each minute window is used up before moving on, and at full burst.
    counts = [per_min[k] for k in sorted(per_min)]
    assert counts[:-1] == [150] * (len(counts) - 1)
    assert sent[149] - sent[0] < 15.0  # 150 at 10/s fit in 15 one-second windows


def test_pacer_counts_requests_near_a_boundary_in_both_windows():
    clock = FakeClock(59.95)
    pacer = Pacer(lambda m, u: Limit("b", 2, 100), clock=clock, sleep=clock.sleep, guard=0.1)
    pacer.acquire("GET", "/x")  # may land in second 60: counted there too
    clock.t = 60.0
    pacer.acquire("GET", "/x")
    t0 = clock.t
    pacer.acquire("GET", "/x")  # second 60 is full (2): wait for 61
    assert t0 == 60.0 and clock.t >= 61.0 - 0.1


def test_pacer_adopts_ratelimit_headers_and_scale():
    clock = FakeClock(120.0)
    pacer = Pacer(lambda m, u: Limit("b", 10, 100), clock=clock, sleep=clock.sleep, scale=0.5)
    lim = pacer.limit("GET", "/x")
    assert (lim.burst, lim.steady) == (5, 50)
    pacer.observe(lim, {"RateLimit-Remaining": "0", "RateLimit-Reset": "60"})  # 0 left in minute 2
    pacer.acquire("GET", "/x")
    assert clock.t >= 180.0
    # Near a window's end a rounded-up Reset must not fill the next window.
    clock.t = 239.6
    pacer.observe(lim, {"RateLimit-Remaining": "0", "RateLimit-Reset": "1"})
    pacer.acquire("GET", "/x")
    assert 240.0 <= clock.t < 241.0
    assert Pacer(lambda m, u: Limit("b", 1, 1), scale=0).limit("GET", "/x") is None


def test_observed_count_is_charged_to_the_minute_the_server_counted_it_in():
    # The server counted 90 of 150 at 92.999 (27.001 s before its minute ends at 120) and reports
    # Reset = ceil(27.001) = 28; the answer takes 20 ms to come back.
    clock = FakeClock(93.009)
    pacer = Pacer(lambda m, u: Limit("b", 100, 150), clock=clock, sleep=clock.sleep, guard=0.0)
    lim = pacer.limit("GET", "/x")
    pacer.observe(lim, {"RateLimit-Remaining": "60", "RateLimit-Reset": "28"}, sent_at=92.989)
    granted = defaultdict(int)
    while clock.t < 180:
        pacer.acquire("GET", "/x")
        granted[math.floor(clock.t / 60)] += 1
    assert granted[1] == 60  # the rest of the server's minute
    assert granted[2] == 150  # the next minute is untouched: its full limit


def test_guard_is_learned_from_response_times(server):
    server.plan["/slow"] = [("slow", 0.2)]
    pacer = Pacer(lambda m, u: Limit("b", 100, 1000), first_guard=0.0)
    s, _ = session_for(pacer=pacer)
    assert pacer.guard == 0.1  # the floor, before any slow answer
    s.get(server.base + "/slow")
    assert pacer.guard >= 0.2  # a request granted 0.2 s before a boundary may land after it


def test_first_wave_before_any_answer_is_counted_in_the_next_second_too():
    # Granted at 10.9 with no response time known yet, a request may well be counted by the server in
    # second 11; second 11 must not be granted in full on top of them.
    clock = FakeClock(10.9)
    pacer = Pacer(lambda m, u: Limit("b", 3, 100), clock=clock, sleep=clock.sleep, guard=0.0)
    for _ in range(3):
        pacer.acquire("GET", "/x")
    assert clock.t == 10.9
    pacer.acquire("GET", "/x")
    assert clock.t >= 12.0


def test_shared_pacers_together_stay_within_the_whole_limit():
    # Two kernels at half share each of a 1/s, 15/min bucket (Klaviyo's profile_count).
    class Phase:  # the two pacers' stretched burst windows start on different seconds
        def __init__(self, n):
            self.n = n

        def randrange(self, k):
            return self.n % k

    sent = []
    for n in (0, 1):
        clock = FakeClock(600.0)
        pacer = Pacer(lambda m, u: Limit("c", 1, 15), scale=0.5, clock=clock, sleep=clock.sleep, guard=0.0,
                      first_guard=0.0, rng=Phase(n))
        assert pacer.limit("GET", "/x") == Limit("c", 1, 7, None, burst_window=2)
        for _ in range(40):
            pacer.acquire("GET", "/x")
            sent.append(clock.t)
    per_sec, per_min = defaultdict(int), defaultdict(int)
    for t in sent:
        per_sec[math.floor(t)] += 1
        per_min[math.floor(t / 60)] += 1
    assert max(per_sec.values()) == 1 and max(per_min.values()) == 14


def test_pacer_daily_cap_raises_before_sending():
    clock = FakeClock(86400 * 3 + 5)
    pacer = Pacer(lambda m, u: Limit("r", 1, 2, daily=3), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.acquire("POST", "/r")
    with pytest.raises(DailyLimitReached, match="daily limit of 3"):
        pacer.acquire("POST", "/r")


def test_pacer_is_thread_safe():
    # Each grant is timed by the clock reading the pacer granted it at (the last one in that thread),
    # not by a reading taken afterwards, which a busy machine could push into the next second.
    last = threading.local()

    def clock():
        last.t = time.time()
        return last.t

    pacer = Pacer(lambda m, u: Limit("b", 1000, 100000), guard=0.0, clock=clock)
    times = []
    lock = threading.Lock()

    def work():
        for _ in range(200):
            pacer.acquire("GET", "/x")
            with lock:
                times.append(last.t)

    threads = [threading.Thread(target=work) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    per_sec = defaultdict(int)
    for t in times:
        per_sec[math.floor(t)] += 1
    assert len(times) == 1600 and max(per_sec.values()) <= 1000
