"""Two runs sending the same charging Mavera request at once are charged once.

The runs share the result cache and meet at its per-request lock: the second waits for the first's
answer and reuses it. The sandbox adds latency to every answer so that, without the lock, the second
run's cache look-up would happen while the first one's POST is still in flight (and both would pay).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import requests

from helpers.mavera import MaveraClient, ResultCache
from sandbox import Sandbox

LATENCY_MS = 300


@pytest.fixture(scope="module")
def slow_sandbox():
    with Sandbox(seed=7, profiles=500, rate_scale=0, latency_ms=LATENCY_MS) as sb:
        yield sb


def stats(sb: Sandbox) -> dict:
    return requests.get(sb.klaviyo_base_url + "/sandbox/stats", timeout=10).json()["mavera"]


def clients(sb: Sandbox, root, n: int = 2) -> list[MaveraClient]:
    """Separate clients (own sessions, own cache objects) over one cache folder, as two runs would be."""
    return [MaveraClient(sb.mavera_api_key, sb.mavera_base_url, sb.mavera_workspace_id,
                         cache=ResultCache(sb.mavera_base_url, sb.mavera_api_key, root), sleep=lambda s: None)
            for _ in range(n)]


def at_once(*calls):
    """Run the calls in threads released together; their results (or the first error) in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(k, call):
        barrier.wait(timeout=30)
        try:
            results[k] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k, c)) for k, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


RUN = textwrap.dedent("""
    import json, pathlib, sys, time
    from helpers.mavera import MaveraClient
    ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    mc = MaveraClient.from_env()
    ready.touch()
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("the test never said go")
        time.sleep(0.005)
    body = mc.generate("email-subject-line", {"product": "Oak Tray", "offer": "free shipping"})
    print(json.dumps({"output": body["output"], "from_cache": bool(body.get("from_cache")),
                      "spent": mc.credits_spent}))
""")


def test_two_processes_generating_the_same_content_are_charged_once(slow_sandbox, tmp_path):
    before = stats(slow_sandbox)
    env = {**os.environ, **slow_sandbox.env(), "WORKBOOKS_CACHE_DIR": str(tmp_path / "cache"),
           "WORKBOOKS_IGNORE_DOTENV": "1"}
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{k}" for k in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", RUN, str(r), str(go)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in ready]
    try:
        deadline = time.monotonic() + 120
        while not all(r.exists() for r in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            p.kill() if p.poll() is None else None
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    results = [json.loads(out) for out, _ in outs]
    after = stats(slow_sandbox)
    assert after["generations"] - before["generations"] == 1
    assert results[0]["output"] == results[1]["output"]
    assert sorted(r["from_cache"] for r in results) == [False, True]
    assert sum(r["spent"] for r in results) == after["credits_used"] - before["credits_used"] > 0


def test_two_runs_asking_mave_the_same_question_are_charged_once(slow_sandbox, tmp_path):
    before = stats(slow_sandbox)
    first, second = clients(slow_sandbox, tmp_path)
    answers = at_once(lambda: first.mave_chat("Which two segments overlap most?"),
                      lambda: second.mave_chat("Which two segments overlap most?"))
    after = stats(slow_sandbox)
    assert after["chats"] - before["chats"] == 1
    assert answers[0]["content"] == answers[1]["content"]
    assert first.credits_spent + second.credits_spent == after["credits_used"] - before["credits_used"]


def test_two_runs_creating_the_same_persona_and_focus_group_are_charged_once(slow_sandbox, tmp_path):
    before = stats(slow_sandbox)
    first, second = clients(slow_sandbox, tmp_path)
    personas = at_once(lambda: first.upsert_persona("CLV tier: Concurrent", "Buyers seen by two runs at once."),
                       lambda: second.upsert_persona("CLV tier: Concurrent", "Buyers seen by two runs at once."))
    assert personas[0]["id"] == personas[1]["id"]
    groups = at_once(*(lambda c=c: c.run_focus_group("Bundles (two runs)", [personas[0]["id"]], ["Why buy it?"],
                                                     "Oak Tray + Linen Throw, $89.") for c in (first, second)))
    after = stats(slow_sandbox)
    assert after["personas_created"] - before["personas_created"] == 1
    assert after["focus_groups_created"] - before["focus_groups_created"] == 1
    assert groups[0].id == groups[1].id and groups[0].answers.equals(groups[1].answers)
    assert first.credits_spent + second.credits_spent == after["credits_used"] - before["credits_used"]


def test_a_lock_held_too_long_is_a_clear_error(tmp_path):
    from helpers.mavera import MaveraError

    cache = ResultCache("http://x", "mvra_k", tmp_path)
    other = ResultCache("http://x", "mvra_k", tmp_path)
    with cache.claim("abc"):
        with pytest.raises(MaveraError, match="another run has been sending the same request"):
            with other.claim("abc", wait=0.2, what="Generation"):
                pass
    with other.claim("abc", wait=0.2):  # released with its holder
        pass
