"""Kernels started by the runner send nothing once the runner is gone.

``python -m helpers.run`` puts its pid in ``WORKBOOKS_RUNNER_PID``. When the runner dies (even by
``kill -9``), its workers die with it (a parent-death signal, ``helpers/runner/workers.py``) and ipykernel
ends a kernel whose parent died within about a second. In that second a kernel could still send requests
and spend credits for a run nobody will publish; :func:`check`, called by ``helpers.http.session`` before every
attempt it sends, refuses them. Outside the runner (JupyterLab, scripts, tests) the variable is unset and
nothing is checked.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "WORKBOOKS_RUNNER_PID"
_MAX_DEPTH = 16  # kernel -> worker -> runner in practice; the bound only stops a malformed /proc loop


class RunnerGone(RuntimeError):
    """The runner that started this kernel has exited; the request was not sent."""


def check() -> None:
    """Raise :class:`RunnerGone` when this process was started for a runner that has since died."""
    raw = os.environ.get(ENV, "").strip()
    if not raw.isdigit():
        return
    pid = int(raw)
    if not runner_alive(pid):
        raise RunnerGone(
            f"the runner (pid {pid}) that started this kernel has exited, so nothing more is sent; "
            "rerun python -m helpers.run"
        )


def runner_alive(pid: int) -> bool:
    """True while ``pid`` is this process or one of its ancestors.

    An ancestor rather than a live pid: a runner killed with SIGKILL stays a zombie (its pid still answers
    ``kill(pid, 0)``) until whatever started it reaps it, and a reaped pid can be reused; but its children
    are re-parented the moment it dies, so the chain of parents no longer reaches it.
    """
    if not Path("/proc/self/stat").exists():  # no procfs (macOS): a live pid is the best test there is
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    current: int | None = os.getpid()
    for _ in range(_MAX_DEPTH):
        if current == pid:
            return True
        if current is None or current <= 1:
            return False
        current = os.getppid() if current == os.getpid() else _parent(current)
    return False


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (command) state ppid ...": the command may hold spaces and parentheses, so split after the last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
