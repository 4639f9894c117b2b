"""`make test`'s two stages: a failed parallel stage still lets the serial one run, and make test then fails.

The project's Makefile runs in a scratch folder whose .venv/bin/python is a stand-in that logs each call
and exits with the status the case gives for it, so each outcome of the two pytest stages is tried
through make itself in well under a second.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STAND_IN = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$*" in
  *"-m ruff"*) exit 0 ;;
  *"not serial"*) exit "$PARALLEL" ;;
  *"-m serial"*) exit "$SERIAL" ;;
esac
exit 99
"""


@pytest.fixture
def project(tmp_path):
    if shutil.which("make") is None:
        raise AssertionError("make is not installed (apt-get install make)")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        (tmp_path / name).write_text("")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(STAND_IN)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    stamp = tmp_path / ".venv" / ".installed"
    stamp.touch()
    newer = (tmp_path / "pyproject.toml").stat().st_mtime + 10
    os.utime(stamp, (newer, newer))  # installed after the requirements changed: make installs nothing
    return tmp_path


def make_test(project: Path, parallel: int, serial: int):
    calls = project / "calls.log"
    done = subprocess.run(["make", "-s", "test"], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "CALLS": str(calls), "PARALLEL": str(parallel), "SERIAL": str(serial)})
    stages = [line for line in calls.read_text().splitlines() if "pytest" in line]
    return done, stages


PARALLEL_STAGE = '-m pytest -n auto --dist loadgroup -q -m not serial'
SERIAL_STAGE = '-m pytest -q -m serial'


@pytest.mark.parametrize(("parallel", "serial", "passes"), [(0, 0, True), (1, 0, False), (0, 1, False), (1, 1, False)])
def test_both_stages_run_and_any_failure_fails_make_test(project, parallel, serial, passes):
    done, stages = make_test(project, parallel, serial)
    assert stages == [PARALLEL_STAGE, SERIAL_STAGE]
    assert (done.returncode == 0) is passes, done.stderr
    assert ("the parallel stage failed" in done.stderr) is bool(parallel)


def test_an_interrupted_parallel_stage_stops_make_test(project):
    done, stages = make_test(project, parallel=2, serial=0)  # pytest's status for Ctrl-C / SIGTERM
    assert stages == [PARALLEL_STAGE]
    assert done.returncode != 0
