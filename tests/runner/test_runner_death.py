"""``kill -9`` of the runner alone: its workers and kernels stop, and send nothing more.

The sandbox runs in a process of its own, so it outlives the runner and counts what arrives after the
kill. Two kernels spend in rounds, each round released by the test through a gate file: at the kill,
both have finished a round and wait at the gate, so no request is in flight. Then every gate opens; a
kernel that outlived the runner would send its next round at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.runner.support import write_notebook

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 120  # ceiling of each bounded wait below; only a process that truly stays alive reaches it
ROUNDS = 50

SPENDING = '''\
import time
from pathlib import Path

from helpers import report
from helpers.klaviyo import KlaviyoClient
from helpers.mavera import MaveraClient

job = report.setup(STEM)
klaviyo = KlaviyoClient.from_env(refresh=True)
mavera = MaveraClient.from_env()
for i in range(rounds):
    while not (Path(gate) / f"go-{i}").exists():
        time.sleep(0.05)
    klaviyo.request("GET", "/api/segments")
    mavera.mave_chat(f"{STEM}, round {i}: which segments overlap?")
    (Path(gate) / f"{STEM}-done-{i}").touch()
'''


def wait_for(predicate, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


def alive(processes):
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def describe(processes):
    out = []
    for p in processes:
        try:
            out.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        except psutil.Error:
            out.append(str(p.pid))
    return out


class Drain(threading.Thread):
    """Reads a pipe to its end: the end comes only once no process holds the other side open."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe, self.text = pipe, ""

    def run(self):
        for line in self.pipe:
            self.text += line


@pytest.fixture
def sandbox_process(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--rate-scale", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        yield info
    finally:
        proc.terminate()
        proc.wait(30)


def spent(base_url):
    stats = requests.get(f"{base_url}/sandbox/stats", timeout=30).json()
    klaviyo = stats["klaviyo"]["requests"]
    return {
        "klaviyo_requests": sum(klaviyo.values()) if isinstance(klaviyo, dict) else klaviyo,
        "mavera_requests": stats["mavera"]["requests"],
        "mavera_credits": stats["mavera"]["credits_used"],
    }


def test_kill_9_of_the_runner_alone_stops_its_workers_and_kernels(tmp_path, sandbox_process):
    notebooks, gate = tmp_path / "notebooks", tmp_path / "gate"
    gate.mkdir()
    stems = ["02_keeps_spending", "03_keeps_spending"]
    for stem in stems:
        write_notebook(notebooks / f"{stem}.ipynb",
                       f'gate: str = ""  # folder of go-N files\nrounds: int = {ROUNDS}  # rounds at most',
                       f"STEM = {stem!r}\n" + SPENDING)
    env = {**os.environ, **sandbox_process["env"]}
    runner = subprocess.Popen(
        [sys.executable, "-m", "helpers.run", "--notebooks", str(notebooks), "--out", str(tmp_path / "out"),
         "--jobs", "2,3", "--workers", "2", "--no-html", "-p", "gate", str(gate)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # the kill below is aimed at this one process, not at a group
    )
    out, err = Drain(runner.stdout), Drain(runner.stderr)
    out.start()
    err.start()
    descendants: list[psutil.Process] = []
    base = sandbox_process["klaviyo_base_url"]
    try:
        (gate / "go-0").touch()
        wait_for(lambda: all((gate / f"{stem}-done-0").exists() for stem in stems), "both kernels to spend a round")
        before = spent(base)
        assert before["klaviyo_requests"] >= 2 and before["mavera_credits"] > 0, before  # mid-flight

        descendants = psutil.Process(runner.pid).children(recursive=True)
        kernels = [p for p in descendants if "ipykernel" in " ".join(p.cmdline())]
        assert len(kernels) == 2, describe(descendants)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(DEADLINE)
        at_kill = spent(base)
        for i in range(1, ROUNDS):  # a kernel still alive now would spend at once
            (gate / f"go-{i}").touch()

        end = time.monotonic() + DEADLINE
        while alive(descendants) and time.monotonic() < end:
            time.sleep(0.2)
        survivors = describe(alive(descendants))
        after = spent(base)
        assert after == at_kill, f"sent after the runner died: {at_kill} -> {after}; still alive: {survivors}"
        assert not survivors, f"outlived the runner: {survivors}"
        out.join(DEADLINE)
        err.join(DEADLINE)
        assert not out.is_alive() and not err.is_alive(), "something still holds the runner's stdout or stderr"
        assert not any(gate.glob("*-done-1")), "a kernel finished a round after the runner died"
    finally:
        for p in alive(descendants):  # only what this test's runner started, by pid
            p.kill()
        if runner.poll() is None:
            runner.kill()
            runner.wait()
