"""Worker processes for the jobs, and stopping them: signals, interrupts, the Klaviyo rate share.

Every job runs in a worker process, even one at a time: nbclient takes over SIGINT/SIGTERM in the process
that runs a notebook, and the runner's own process must stay able to stop everything and clean up.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from helpers.runner.execute import execute_one
from helpers.runner.results import Terminated

STOP_GRACE = 30  # seconds stopped workers get to shut their kernels down before they are killed
_PR_SET_PDEATHSIG = 1  # linux/prctl.h

_IN_WORKER = False


# ---------------------------------------------------------------------------------------------- environment


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the kernels (they inherit this process's environment), then restore."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def klaviyo_share(share: float) -> dict[str, str]:
    """Kernels running side by side share one Klaviyo account's limits: each paces against its share.

    Klaviyo counts every private key of an account in one bucket per endpoint, and each kernel's client
    paces only its own requests; without this, two jobs fetching profiles at once would each take the
    whole burst window and draw 429s.
    """
    if share >= 1.0:
        return {}
    base = float(os.environ.get("KLAVIYO_RATE_SCALE") or 1.0)
    return {"KLAVIYO_RATE_SCALE": repr(base * share)}


# ---------------------------------------------------------------------------------------------- in a worker


def _worker_init(runner_pid: int) -> None:
    """Worker processes leave Ctrl-C to the runner, stop on SIGTERM (the runner's way to stop them), and die
    with the runner."""
    global _IN_WORKER
    _IN_WORKER = True
    _die_with_parent(runner_pid)
    _worker_signals()


def _die_with_parent(runner_pid: int) -> None:
    """Ask Linux to SIGKILL this worker the moment the runner dies, even by ``kill -9``.

    SIGKILL, not SIGTERM: with the runner gone nobody collects the result, and a worker that shut down
    gracefully could retry a kernel start and run the notebook again. The kernel this worker started
    ends itself when its parent is gone (ipykernel polls for that each second), and meanwhile
    ``helpers.lifeline`` refuses its requests. The signal follows the runner's thread that spawned the
    worker: ``run_stages`` submits, and so spawns, from the thread that waits for the jobs.
    """
    if not sys.platform.startswith("linux"):
        return  # elsewhere only helpers.lifeline stops the kernels' requests
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return
    if os.getppid() != runner_pid:  # the runner died before the request took effect
        os._exit(1)


def _worker_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)


def _worker_stop(signum: int, _frame) -> None:
    # While a notebook runs, nbclient's own handler replaces this one and shuts the kernel down first.
    # Exit at once rather than raise: an exception raised here can land in a task (concurrent.futures
    # reports it as the task's result and the worker lives on) or in a weakref callback (ignored, with a
    # traceback). A kernel still starting follows its worker out.
    os._exit(128 + signum)


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """A worker's entry point: one job, paced at its ``rate_share`` of the Klaviyo limits."""
    try:
        with environment(klaviyo_share(task.get("rate_share", 1.0))):
            return execute_one(task)
    finally:
        if _IN_WORKER:  # nbclient resets SIGINT/SIGTERM to their defaults after each notebook
            _worker_signals()


# ---------------------------------------------------------------------------------------------- the pool


def run_stages(
    stages: list[list[dict[str, Any]]], workers: int, finished: Callable[[dict[str, Any]], None]
) -> None:
    """Run each stage after the one before (``helpers.jobs.order``), its jobs on up to ``workers`` processes.

    ``finished`` gets each outcome as it arrives. Parallel kernels split the account's Klaviyo limits
    (``rate_share``); a job alone in its stage gets all of them. On an interrupt the workers are stopped
    (each shuts its kernel down) before it propagates.
    """
    # spawn, not fork: this process may be running the sandbox's server threads.
    pool = ProcessPoolExecutor(
        max_workers=max(1, min(workers, max((len(stage) for stage in stages), default=1))),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
    try:
        for stage in stages:
            share = 1.0 / min(workers, len(stage)) if len(stage) > 1 else 1.0
            for future in as_completed([pool.submit(run_task, {**task, "rate_share": share}) for task in stage]):
                finished(future.result())
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and stop the workers; each shuts its kernel down, or is killed."""
    # No public handle on the workers before Python 3.14 (terminate_workers); shutdown() forgets them.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE
    # A further Ctrl-C or SIGTERM while waiting cuts the grace short instead of abandoning the workers.
    while not interrupts.hurry and (alive := [p.sentinel for p in processes if p.is_alive()]):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        multiprocessing.connection.wait(alive, timeout=min(left, 0.2))
    for process in processes:
        if process.is_alive():  # its kernel's parent poller ends the kernel once the worker is gone
            process.kill()
            process.join(5)


# ---------------------------------------------------------------------------------------------- signals


class _Interrupts:
    """SIGINT/SIGTERM as interrupts in ``main``, held back while a job is being published.

    Only the first one interrupts. Once the run is stopping, a second Ctrl-C (or the SIGTERM a scheduler
    sends after its own grace) only sets ``hurry``: the workers are killed at once instead of after
    :data:`STOP_GRACE`, and the clean-up (stopping workers, removing staging, the closing line) is never
    cut off half-way.
    """

    def __init__(self) -> None:
        self.installed = False
        self.deferring = 0
        self.pending: int | None = None
        self.stopping = False
        self.hurry = False

    def handle(self, signum: int, _frame) -> None:
        if self.stopping:
            self.hurry = True
            return
        if self.deferring:
            self.pending = signum
            return
        self.stopping = True
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    @contextlib.contextmanager
    def installed_for_main(self, hold: bool = False) -> Iterator[None]:
        """Handle SIGINT/SIGTERM inside; after, restore the old handlers, or with ``hold`` ignore both."""
        saved = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.installed, self.stopping, self.hurry = True, False, False
        try:
            yield
        finally:
            if hold:  # set before the flags reset, so no signal finds Python's default handler in between
                for sig in saved:
                    signal.signal(sig, signal.SIG_IGN)
            self.installed, self.stopping, self.hurry = False, False, False
            if not hold:
                for sig, handler in saved.items():
                    signal.signal(sig, handler)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self.deferring += 1
        try:
            yield
        finally:
            self.deferring -= 1
            pending, self.pending = self.pending, None
            if pending is not None and not self.deferring and self.installed:
                self.handle(pending, None)


interrupts = _Interrupts()
