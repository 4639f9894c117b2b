"""Shared fixtures: an isolated environment and a session sandbox on a free port.

Fixtures that only one area needs live next to its tests (tests/<area>/conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT.parent / "shared" / "specs" / "klaviyo-openapi-2026-07-15.json"

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
)


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
    if not SPEC_PATH.exists():
        pytest.skip(f"Klaviyo OpenAPI document not found at {SPEC_PATH} (shared/ is not beside this clone)")
    return SPEC_PATH


def pytest_report_header(config):
    return f"spec: {SPEC_PATH if SPEC_PATH.exists() else 'absent'}; cpus: {os.cpu_count()}"
