"""Stopping a run: SIGTERM (schedulers) and Ctrl-C leave no worker or kernel behind and no traceback."""

from __future__ import annotations

import contextlib
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


def test_ctrl_c_again_during_the_stop_keeps_the_closing_line_true(tmp_path):
    # Job 01 is published, 04 sleeps; then Ctrl-C is pressed again and again until the runner exits, so
    # further presses land while it stops the worker and cleans up. Only the first one interrupts.
    runner = subprocess.Popen(
        [sys.executable, "-m", "helpers.run", "--notebooks", str(FIXTURES), "--out", str(tmp_path),
         "--jobs", "1,4", "--workers", "2", "--no-html"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    parent = psutil.Process(runner.pid)
    seen: list[psutil.Process] = []

    def sleeping_kernel_after_01():
        try:
            seen[:] = parent.children(recursive=True)
            return (bool(kernels(seen)) and any(Path(tmp_path).glob("*/.staging-*/04_times_out.ipynb"))
                    and any(Path(tmp_path).glob("*/01_succeeds.ipynb")))
        except psutil.Error:
            return False

    wait_for(sleeping_kernel_after_01, "01 to be published and the 04 kernel to start")
    presses = 0
    end = time.monotonic() + DEADLINE
    while runner.poll() is None and time.monotonic() < end:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(runner.pid, signal.SIGINT)
            presses += 1
        time.sleep(0.05)
    out, err = runner.communicate(timeout=DEADLINE)

    assert presses > 1  # it did not stop at the first press
    assert runner.returncode == 130, (runner.returncode, out, err)
    assert "interrupted: 1 published, 1 not run; earlier reports untouched" in out, out
    assert "before any job ran" not in out
    assert "Traceback" not in err, err
    wait_for(lambda: not [p for p in seen if p.is_running() and p.status() != psutil.STATUS_ZOMBIE],
             "the workers and the kernel to exit")
    (day,) = tmp_path.iterdir()
    assert not list(day.glob(".staging-*"))
    assert sorted(p.name for p in day.glob("*.ipynb")) == ["01_succeeds.ipynb"]
