"""One way to run a real notebook against its own sandbox, for the notebook tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from helpers import run
from sandbox import Sandbox
from tests.contract import openapi_requests
from tests.runner.support import clean_env, quiet

RUN_DATE = "2026-07-15"


@contextlib.contextmanager
def sandbox_session(tmp_path_factory, seed: int) -> Iterator[Sandbox]:
    """A fresh sandbox (limits off) with both clients pointed at it, for fixtures wider than one test."""
    with clean_env(tmp_path_factory.mktemp("cache")) as mp, Sandbox(seed=seed, rate_scale=0) as sb:
        for name, value in sb.env().items():
            mp.setenv(name, value)
        yield sb


def run_job(sb: Sandbox, out: Path, number: int, **parameters: Any) -> dict[str, Any]:
    """Run job ``number`` through the runner into ``out``; what it recorded, where, the sandbox's truth and counters."""
    with sb.recording() as sent:  # every Klaviyo request of the run is checked against the official document
        result = run.run_jobs(jobs=[number], out=out, date=RUN_DATE, html=False, workers=1, echo=quiet,
                              parameters=parameters or None)
    openapi_requests.assert_valid(sent)
    return {"job": result.job(f"{number:02d}"), "dir": result.run_dir, "truth": sb.truth(), "stats": sb.stats()}
