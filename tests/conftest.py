"""Shared fixtures: an isolated environment and a session sandbox on a free port.

Fixtures that only one area needs live next to its tests (tests/<area>/conftest.py).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from scripts import fetch_spec

ROOT = Path(__file__).resolve().parents[1]
# The OpenAPI document as found when the session starts (../shared/specs/, else a checked cached copy);
# when neither is there, a path that does not exist. ``openapi_spec_path`` may still download it.
SPEC_PATH = fetch_spec.present() or fetch_spec.SHARED

_OUR_VARS = (
    "KLAVIYO_API_KEY",
    "KLAVIYO_BASE_URL",
    "KLAVIYO_REVISION",
    "MAVERA_API_KEY",
    "MAVERA_BASE_URL",
    "MAVERA_WORKSPACE_ID",
    "MAVERA_POLL_SECONDS",
    "WORKBOOKS_SANDBOX",
    "WORKBOOKS_RUN_DIR",
    "WORKBOOKS_OUT_ROOT",
    "WORKBOOKS_RUN_DATE",
    "WORKBOOKS_CURRENCY",
    "WORKBOOKS_PERSONA_PREFIX",
    "WORKBOOKS_ACCOUNT",
    "WORKBOOKS_ACCOUNTS",
    "WORKBOOKS_ALLOW_HTTP",
)


_terminating = False


def _sigterm_as_interrupt(signum, _frame):
    global _terminating
    if _terminating:  # sent to the group and passed on by make test too: let the first unwind finish
        return
    _terminating = True
    raise KeyboardInterrupt(f"signal {signum}")


def _stop_on_sigterm() -> None:
    """SIGTERM (CI cancelling a job, `timeout`, a scheduler) ends the session as Ctrl-C does.

    Python's default for SIGTERM is to die at once: fixtures never tear down, so sandboxes started as
    subprocesses, the runner's worker processes (blocked on a task queue nobody will fill) and their
    kernels outlive the session. As an interrupt, pytest unwinds and every fixture and ``finally`` runs.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)


def pytest_configure(config):
    _stop_on_sigterm()


def pytest_runtest_setup(item):
    # A notebook executed in this process (nbclient) resets SIGTERM to the default when it ends.
    _stop_on_sigterm()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path_factory):
    """No test sees a developer's keys, .env or cache."""
    for name in _OUR_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORKBOOKS_IGNORE_DOTENV", "1")
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox per test worker: default seed, limits switched off (tests that need them start their own)."""
    from sandbox import Sandbox

    with Sandbox(seed=7, rate_scale=0) as sb:
        yield sb


@pytest.fixture
def sandbox_env(sandbox, monkeypatch):
    """Point both clients at the session sandbox through the same variables a user would set."""
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    return sandbox


@pytest.fixture(scope="session")
def openapi_spec_path():
    """The official document (contract tests): shared copy, cached copy, or downloaded now into the cache."""
    try:
        return fetch_spec.locate()
    except fetch_spec.SpecError as exc:  # offline with no copy: one line that says to run `make spec`
        pytest.skip(str(exc))


def pytest_report_header(config):
    spec = SPEC_PATH if SPEC_PATH.exists() else "not here yet (`make spec` fetches it)"
    return f"spec: {spec}; cpus: {os.cpu_count()}"


# ---------------------------------------------------------------------------------------------- shared runs
# Every real notebook at two seeds, each job executed once per test session and read by the notebook tests,
# the end-to-end checks and the browser tests (tests/notebooks/support.py: ``run_day``, ``once``). Seed 11
# is published on the earlier date, seed 7 on the later one into the same output root, so seed 7's reports
# have a "Since the last run" block and its index a history, as a user's second day would.
SHARED_EARLIER, SHARED_DATE = "2026-07-14", "2026-07-15"


@pytest.fixture(scope="session")
def day_seed11(tmp_path_factory):
    from tests.notebooks.support import once, run_day

    return once(tmp_path_factory, "day_seed11",
                lambda: run_day(tmp_path_factory.mktemp("shared-days"), 11, SHARED_EARLIER, tmp_path_factory))


@pytest.fixture(scope="session")
def day_seed7(tmp_path_factory, day_seed11):
    from tests.notebooks.support import once, run_day

    return once(tmp_path_factory, "day_seed7", lambda: run_day(day_seed11.out, 7, SHARED_DATE, tmp_path_factory))
