"""Stopping a run: SIGTERM (schedulers) and Ctrl-C leave no worker or kernel behind and no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil  # installed with ipykernel
import pytest

from tests.runner.support import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 120  # bound on each poll below, not a timing assertion


def wait_for(predicate, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


def kernels(pids):
    return [p for p in pids if "ipykernel" in " ".join(p.cmdline())]


@pytest.mark.parametrize(
    ("jobs", "how", "code", "published"),
    [("1,4", "sigterm", 143, 1), ("4", "ctrl-c", 130, 0)],
)
def test_stopping_a_run_leaves_no_process_behind(jobs, how, code, published, tmp_path):
    runner = subprocess.Popen(
        [sys.executable, "-m", "helpers.run", "--notebooks", str(FIXTURES), "--out", str(tmp_path),
         "--jobs", jobs, "--workers", "2", "--no-html"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal gives a foreground command
    )
    parent = psutil.Process(runner.pid)
    seen: list[psutil.Process] = []

    def sleeping_kernel():
        try:
            seen[:] = parent.children(recursive=True)
            return bool(kernels(seen)) and any(Path(tmp_path).glob("*/.staging-*/04_times_out.ipynb"))
        except psutil.Error:
            return False

    wait_for(sleeping_kernel, "the 04 kernel to start")  # papermill saved 04 once its first cell ran
    if how == "sigterm":
        runner.send_signal(signal.SIGTERM)
    else:
        os.killpg(runner.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole foreground group
    out, err = runner.communicate(timeout=DEADLINE)

    assert runner.returncode == code, (out, err)
    assert f"interrupted: {published} published, 1 not run; earlier reports untouched" in out
    assert "Traceback" not in err, err
    wait_for(lambda: not [p for p in seen if p.is_running() and p.status() != psutil.STATUS_ZOMBIE],
             "the workers and the kernel to exit")
    (day,) = tmp_path.iterdir()
    assert not list(day.glob(".staging-*"))
    published_jobs = sorted(p.name for p in day.glob("*.ipynb"))
    assert published_jobs == (["01_succeeds.ipynb"] if published else [])
