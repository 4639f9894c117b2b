"""`make test`'s stages (scripts/test_stages.py): a failed parallel stage still lets the serial one run and
make test then fails; an interrupted stage ends the run, and a SIGTERM for make alone reaches pytest.

A stand-in for pytest logs how it was called and exits with the status each case gives its stage, or
waits to be stopped, so every outcome is tried in a moment and through real signals.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts import test_stages

# `make test` runs these tests: a nested make would print "Entering directory" and share the jobserver.
NOT_NESTED = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 120  # bound on each wait, so a broken case fails instead of hanging; never a timing assertion

STAND_IN = """
import os, signal, sys, time
args = " ".join(sys.argv[1:])
log = open(os.environ["CALLS"], "a")
print(args, file=log, flush=True)
outcome = os.environ["SERIAL" if "-m serial" in args else "PARALLEL"]
if outcome != "wait":
    sys.exit(int(outcome))

def stop(signum, _frame):  # as pytest does when interrupted
    print(f"signal {signum}", file=log, flush=True)
    raise SystemExit(2)

signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
open(os.environ["READY"], "w").close()
while True:
    time.sleep(0.05)
"""

PARALLEL = f"-n {test_stages.WORKERS} --dist loadgroup -q -m not serial"
SERIAL = "-q -m serial"


@pytest.fixture
def stages(tmp_path):
    fake = tmp_path / "fake_pytest.py"
    fake.write_text(STAND_IN)
    calls, ready = tmp_path / "calls.log", tmp_path / "ready"

    def start(parallel, serial="0"):
        env = {**os.environ, "CALLS": str(calls), "READY": str(ready), "PARALLEL": str(parallel),
               "SERIAL": str(serial)}
        return subprocess.Popen([sys.executable, "-m", "scripts.test_stages", sys.executable, str(fake)], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # its own group, as a terminal gives `make test`

    def wait_ready():
        end = time.monotonic() + DEADLINE
        while not ready.exists():
            assert time.monotonic() < end, "the stand-in never started"
            time.sleep(0.05)

    def log():
        return calls.read_text().splitlines()

    start.wait_ready, start.log = wait_ready, log
    return start


@pytest.mark.parametrize(("parallel", "serial", "passes"), [(0, 0, True), (1, 0, False), (0, 1, False), (1, 1, False)])
def test_both_stages_run_and_any_failure_fails(stages, parallel, serial, passes):
    proc = stages(parallel, serial)
    out, err = proc.communicate(timeout=DEADLINE)
    assert stages.log() == [PARALLEL, SERIAL]
    assert (proc.returncode == 0) is passes, err
    assert ("the parallel stage failed" in err) is bool(parallel)
    assert out.count("fake_pytest.py") == 2  # each stage's command is shown before it runs


def test_a_broken_parallel_stage_stops_there(stages):
    proc = stages(parallel=4)  # pytest's status for a usage error
    proc.communicate(timeout=DEADLINE)
    assert stages.log() == [PARALLEL] and proc.returncode == 4


@pytest.mark.parametrize(("how", "code", "signals"), [
    ("sigterm to make alone", 143, ["signal 15"]),  # passed on to pytest
    ("sigterm to the group", 143, ["signal 15"]),  # and maybe once more, passed on: the conftest ignores that one
    ("ctrl-c", 130, ["signal 2"]),  # the terminal reaches pytest; nothing is passed on
])
def test_an_interrupted_stage_ends_the_run_once_pytest_has_stopped(stages, how, code, signals):
    proc = stages(parallel="wait")
    stages.wait_ready()
    if how == "sigterm to make alone":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGTERM if how == "sigterm to the group" else signal.SIGINT)
    proc.communicate(timeout=DEADLINE)
    assert proc.returncode == code
    log = stages.log()
    assert log[0] == PARALLEL and SERIAL not in log  # the serial stage never started
    assert log[1:2] == signals


def test_make_test_runs_lint_then_the_stages(tmp_path):
    if shutil.which("make") is None:
        raise AssertionError("make is not installed (apt-get install make)")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        (tmp_path / name).write_text("")
    stamp = tmp_path / ".venv" / ".installed"
    stamp.parent.mkdir()
    stamp.touch()
    newer = (tmp_path / "pyproject.toml").stat().st_mtime + 10
    os.utime(stamp, (newer, newer))  # installed after the requirements changed: make installs nothing
    plan = subprocess.run(["make", "--no-print-directory", "-n", "test"], cwd=tmp_path, env=NOT_NESTED, capture_output=True, text=True, check=True)
    # One plain command per line, so make runs the stages with no shell between: make's own SIGTERM
    # forwarding reaches scripts/test_stages.py, which passes it to pytest.
    assert plan.stdout.splitlines() == [
        "sh scripts/ensure_chromium.sh",
        ".venv/bin/python -m ruff check dags helpers sandbox apifacts tests scripts notebooks tools",
        ".venv/bin/python -m scripts.test_stages",
    ]
