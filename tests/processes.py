"""Processes a test started and everything they started, found by a mark in their environment.

A test passes ``{MARK: mark}`` (a fresh uuid) in the environment of the command it starts; every
descendant inherits it, kernels and reparented orphans included, so :func:`marked` finds them all and
:func:`kill_leftovers` ends whatever a failed or interrupted test would otherwise leave behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import psutil  # installed with ipykernel

MARK = "WORKBOOKS_TEST_RUN_MARK"


def alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def marked(mark: str) -> list[psutil.Process]:
    """Every live process carrying ``mark`` in its environment."""
    found = []
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if p.environ().get(MARK) == mark and alive(p):
                found.append(p)
    return found


def kill_leftovers(proc: subprocess.Popen, mark: str) -> None:
    """SIGKILL ``proc``'s process group if it still runs (it was started with ``start_new_session``), reap
    it, then kill every process still carrying ``mark``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for p in marked(mark):
        with contextlib.suppress(psutil.Error):
            p.kill()
