"""Worker processes for the jobs, and stopping them: signals, interrupts, the Klaviyo rate share.

Every job runs in a worker process, even one at a time: nbclient takes over SIGINT/SIGTERM in the process
that runs a notebook, and the runner's own process must stay able to stop everything and clean up.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from helpers.runner.execute import execute_one
from helpers.runner.results import Terminated

STOP_GRACE = 30  # seconds stopped workers get to shut their kernels down before they are killed

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


def _worker_init() -> None:
    """Worker processes leave Ctrl-C to the runner, and stop on SIGTERM (the runner's way to stop them)."""
    global _IN_WORKER
    _IN_WORKER = True
    _worker_signals()


def _worker_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)


def _worker_stop(signum: int, _frame) -> None:
    # While a notebook runs, nbclient's own handler replaces this one and shuts the kernel down first.
    # SystemExit, not KeyboardInterrupt: multiprocessing exits quietly on it instead of printing a traceback.
    raise SystemExit(128 + signum)


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
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():  # its kernel's parent poller ends the kernel once the worker is gone
            process.kill()
            process.join(5)


# ---------------------------------------------------------------------------------------------- signals


class _Interrupts:
    """SIGINT/SIGTERM as interrupts in ``main``, held back while a job is being published."""

    def __init__(self) -> None:
        self.installed = False
        self.deferring = 0
        self.pending: int | None = None

    def handle(self, signum: int, _frame) -> None:
        if self.deferring:
            self.pending = signum
            return
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    @contextlib.contextmanager
    def installed_for_main(self) -> Iterator[None]:
        saved = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.installed = True
        try:
            yield
        finally:
            self.installed = False
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
