"""One way to run real notebooks against a sandbox, for the notebook tests, and a count of every execution.

A notebook execution is the slow part of these tests (a kernel, every fetch, every chart), so runs are
shared: a fixture runs a notebook once (:func:`once`) and several tests, in one file or several, read what
it left. Set ``NOTEBOOK_TEST_LOG=/some/file`` to have every execution appended to that file as one line
(``<stem> seed=<n>``), e.g. to count them: ``sort /some/file | uniq -c``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pytest

from helpers import jobs, run
from sandbox import Sandbox
from tests.conftest import SPEC_PATH
from tests.contract import openapi_requests
from tests.runner.support import clean_env, quiet

RUN_DATE = "2026-07-15"
LOG_VARIABLE = "NOTEBOOK_TEST_LOG"
T = TypeVar("T")


def once(tmp_path_factory, key: str, make: Callable[[], T]) -> T:
    """``make()`` once per test session, however xdist spreads the tests that need it.

    The first worker to ask runs it and pickles the result beside the workers' temporary folders; a worker
    asking meanwhile waits on the lock, then reads it (xdist's recipe for session fixtures that must run
    once). Grouping the tests instead (``xdist_group``) would need ``--dist loadgroup``, which does nothing
    with pytest 9 and xdist 3.8: xdist tags the groups onto ``item._nodeid``, which pytest 9 no longer reads.
    """
    import fcntl

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # one folder per session, shared by its workers
    done = root / f"notebook-run-{key}.pickle"
    with open(root / f"notebook-run-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return pickle.loads(done.read_bytes())
        value = make()
        partial = done.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(value))
        os.replace(partial, done)
        return value


@contextlib.contextmanager
def sandbox_session(tmp_path_factory, seed: int) -> Iterator[Sandbox]:
    """A fresh sandbox (limits off) with both clients pointed at it, for fixtures wider than one test."""
    with clean_env(tmp_path_factory.mktemp("cache")) as mp, Sandbox(seed=seed, rate_scale=0) as sb:
        for name, value in sb.env().items():
            mp.setenv(name, value)
        yield sb


def _log_executions(sb: Sandbox, stems: list[str]) -> None:
    path = os.environ.get(LOG_VARIABLE)
    if path:
        with open(path, "a") as log:  # one short write per line: workers may append at the same time
            for stem in stems:
                log.write(f"{stem} seed={sb.seed}\n")


def run_job(sb: Sandbox, out: Path, number: int, **parameters: Any) -> dict[str, Any]:
    """Run job ``number`` through the runner into ``out``; what it recorded, where, the sandbox's truth and counters."""
    with sb.recording() as sent:  # every Klaviyo request of the run is checked against the official document
        result = run.run_jobs(jobs=[number], out=out, date=RUN_DATE, html=False, workers=1, echo=quiet,
                              parameters=parameters or None)
    openapi_requests.assert_valid(sent)
    _log_executions(sb, [j.notebook for j in result.jobs])
    return {"job": result.job(f"{number:02d}"), "dir": result.run_dir, "truth": sb.truth(), "stats": sb.stats()}


def refused(sb: Sandbox, out: Path, number: int, **parameters: Any) -> str:
    """The runner's one-line refusal of a parameter its notebook's spec rejects; checks no notebook ran."""
    with pytest.raises(run.RunError) as caught:
        run_job(sb, out, number, **parameters)
    assert not list(Path(out).rglob("*.ipynb")), "a refused run must not execute any notebook"
    return str(caught.value)


@dataclass
class SharedDay:
    """All five jobs of one sandbox seed published into one day folder, one runner call per job.

    One call per job, in the order ``helpers.jobs.order`` gives (01 before 04 and 05, which read its
    personas from the day folder, as a same-day rerun of 04 would): each job's sandbox counters are then
    the difference across its own call, exact however the machine schedules things.
    """

    out: Path  # the output root: this day folder, any earlier day, and runner.log (everything printed)
    run_dir: Path  # the day folder: reports, run.json and index.html of every job
    keys: list[str]  # the sandbox's API keys, which no output may contain
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # stem -> like run_job's answer, + "result"
    klaviyo_requests: int = 0  # how many Klaviyo requests the runs sent
    invalid_requests: list[str] | None = None  # one line each against the official document; None: not checked


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """What this process and its children (workers, kernels) write to fds 1 and 2 goes to ``path``, as
    ``capfd`` would see it in a test."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def counters_since(before: Any, after: Any) -> Any:
    """``after - before`` for the sandbox's nested counters (numbers subtract; dict keys missing before
    count from 0; anything else is ``after``)."""
    if isinstance(after, dict):
        before = before if isinstance(before, dict) else {}
        return {key: counters_since(before.get(key, 0), value) for key, value in after.items()}
    if isinstance(after, (int, float)) and not isinstance(after, bool) and isinstance(before, (int, float)):
        return after - before
    return after


def run_day(out: Path, seed: int, date: str, tmp_path_factory) -> SharedDay:
    """Every job, one runner call each, against a fresh sandbox of ``seed`` into ``out``/``date``."""
    order = [job.number for stage in jobs.order(list(jobs.JOBS)) for job in stage]
    with sandbox_session(tmp_path_factory, seed) as sb:
        truth = sb.truth()
        day = SharedDay(out, out / date, [sb.klaviyo_api_key, sb.mavera_api_key], invalid_requests=[])
        lines: list[str] = []
        for number in order:
            before = sb.stats()
            with _output_to(out / "runner.log"), sb.recording() as sent:
                result = run.run_jobs(jobs=[number], out=out, date=date, workers=1, echo=lines.append)
            job = result.job(f"{number:02d}")
            day.jobs[job.notebook] = {"job": job, "dir": result.run_dir, "truth": truth, "result": result,
                                      "stats": counters_since(before, sb.stats())}
            day.klaviyo_requests += len(sent)
            # Checked here but asserted by a test (test_notebooks_e2e): a failing fixture would be re-run by
            # every reader, while a list travels in the pickle and fails one test with the validation errors.
            if SPEC_PATH.exists():
                day.invalid_requests += openapi_requests.problems(sent)
            else:
                day.invalid_requests = None
        with open(out / "runner.log", "a") as log:
            log.writelines(line + "\n" for line in lines)
        _log_executions(sb, list(day.jobs))
        day.jobs[jobs.job(1).stem].update(profile_facts(sb))  # what test_01 checks the report never shows
    return day


def profile_facts(sb: Sandbox) -> dict[str, set[str]]:
    """Every profile id of the store and every profile's created time as a report would print it."""
    return {"profile_ids": {i.decode() for i in sb.store.profiles.ids},
            "created_times": {str(pd.Timestamp(t, unit="s", tz="UTC"))[:19] for t in sb.store.profiles.created}}
