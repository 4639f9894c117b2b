"""Stopping a run: SIGTERM (schedulers) and Ctrl-C leave no worker or kernel behind and no traceback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil  # installed with ipykernel
import pytest

from tests.processes import MARK, alive, kill_leftovers, marked
from tests.runner.support import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 600  # bound on each wait below, so a broken run fails instead of hanging; never a timing assertion


def wait_for(predicate, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


def kernels(procs):
    found = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            if "ipykernel" in " ".join(p.cmdline()):
                found.append(p)
    return found


class Descendants:
    """Every process that was ever below the runner while it ran (kernels start sessions of their own)."""

    def __init__(self, root: psutil.Process):
        self.root, self.seen, self.lock = root, set(), threading.Lock()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        while alive(self.root):
            with contextlib.suppress(psutil.Error):
                found = self.root.children(recursive=True)
                with self.lock:
                    self.seen.update(found)
            time.sleep(0.05)

    def snapshot(self) -> list[psutil.Process]:
        with self.lock:
            return list(self.seen)


def sleeping(below: Descendants, out: Path) -> bool:
    """The 04 kernel runs and papermill saved 04 as it started the sleeping cell. papermill writes nothing
    more until that cell ends (ten minutes), so from here on only stopping the run ends that kernel."""
    if not kernels(below.snapshot()):
        return False
    for path in out.glob("*/.staging-*/04_times_out.ipynb"):
        with contextlib.suppress(OSError, ValueError):  # gone, or caught half-written
            cells = json.loads(path.read_text())["cells"]
            if any("time.sleep" in "".join(c["source"]) and c["metadata"].get("papermill", {})
                   .get("status") == "running" for c in cells):
                return True
    return False


@pytest.mark.parametrize(
    ("jobs", "how", "code", "published"),
    [("1,4", "sigterm", 143, 1), ("4", "ctrl-c", 130, 0)],
)
def test_stopping_a_run_leaves_no_process_behind(jobs, how, code, published, tmp_path):
    mark = uuid.uuid4().hex
    runner = subprocess.Popen(
        [sys.executable, "-m", "helpers.run", "--notebooks", str(FIXTURES), "--out", str(tmp_path),
         "--jobs", jobs, "--workers", "2", "--no-html"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, MARK: mark},
        start_new_session=True,  # its own process group, as a terminal gives a foreground command
    )
    try:
        below = Descendants(psutil.Process(runner.pid))

        wait_for(lambda: sleeping(below, tmp_path), "the 04 kernel to start its sleep")
        if how == "sigterm":
            runner.send_signal(signal.SIGTERM)
        else:
            os.killpg(runner.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole foreground group
        out, err = runner.communicate(timeout=DEADLINE)

        assert runner.returncode == code, (out, err)
        assert f"interrupted: {published} published, 1 not run; earlier reports untouched" in out
        assert "Traceback" not in err, err
        seen = below.snapshot()
        wait_for(lambda: not [p for p in seen if alive(p)] and not marked(mark),
                 "every process the runner started (workers, kernels) to exit")
        (day,) = tmp_path.iterdir()
        assert not list(day.glob(".staging-*"))
        published_jobs = sorted(p.name for p in day.glob("*.ipynb"))
        assert published_jobs == (["01_succeeds.ipynb"] if published else [])
    finally:  # a failed or interrupted test must not leave a ten-minute sleeper behind either
        kill_leftovers(runner, mark)

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

def test_a_runner_killed_outright_leaves_no_process_behind(tmp_path):
    # SIGKILL (the OOM killer, a scheduler's last resort): the runner cannot stop anything, so its
    # workers notice it is gone and exit, and each kernel follows its worker.
    mark = uuid.uuid4().hex
    runner = subprocess.Popen(
        [sys.executable, "-m", "helpers.run", "--notebooks", str(FIXTURES), "--out", str(tmp_path),
         "--jobs", "1,4", "--workers", "2", "--no-html"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, MARK: mark},
        start_new_session=True,
    )
    try:
        below = Descendants(psutil.Process(runner.pid))
        wait_for(lambda: sleeping(below, tmp_path), "the 04 kernel to start its sleep")
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=DEADLINE)
        wait_for(lambda: not marked(mark), "the workers and the kernel to exit after the runner")
    finally:
        kill_leftovers(runner, mark)
