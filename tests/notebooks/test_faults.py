"""Faults change nothing (issue #22): every job run against a sandbox that fails a share of all requests (429s,
5xx, dropped connections, slow answers; seeded, so the same faults every time) ends as the clean run did.

The clean run is the shared day of seed 7 (tests/conftest.py ``day_seed7``: every job in order, one runner
call each, on a fresh sandbox of seed 7 without limits). The faulty runs do the same jobs in the same order
(``--workers 1``: Mavera ids follow the order objects are created in, so the order must match) on a fresh
sandbox of seed 7 with ``fault_rate``.

- at 30%: every job succeeds with the clean run's metrics (what each notebook records, Klaviyo request counts
  aside: retries are requests too), the same Mavera credits, and the same Mavera outputs (the artifacts);
- at 50%: each job either does exactly that, or does not claim success: never "succeeded" with less in it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run
from sandbox import Sandbox
from tests.conftest import SHARED_DATE
from tests.runner.support import clean_env, quiet

# Retries are requests: the one metric a fault may change. Everything else a notebook records must not.
MAY_DIFFER = {"klaviyo_requests"}
OUTPUTS = (".csv", ".json", ".md", ".txt")  # artifacts compared byte for byte (charts are pictures of these)


def faulty_day(tmp_path_factory, rate: float):
    """Every job, in order, against a fresh seed-7 sandbox failing ``rate`` of all requests."""
    out = tmp_path_factory.mktemp(f"faults-{rate:g}")
    with clean_env(tmp_path_factory.mktemp("cache")) as mp, Sandbox(seed=7, rate_scale=0, fault_rate=rate) as sb:
        for name, value in sb.env().items():
            mp.setenv(name, value)
        result = run.run_jobs(out=out, date=SHARED_DATE, html=False, workers=1, echo=quiet)
        injected = sb.stats()["klaviyo"]["faults"]
    return result, injected


def entries(run_dir: Path) -> dict[str, dict]:
    return {j["notebook"]: j for j in json.loads((run_dir / "run.json").read_text())["jobs"]}


def outputs(job_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(job_dir)): p.read_bytes() for p in sorted(job_dir.rglob("*"))
            if p.is_file() and p.suffix in OUTPUTS}


def same_as_clean(stem: str, job: dict, faulty_dir: Path, clean: dict, clean_dir: Path) -> None:
    metrics = {k: v for k, v in job["metrics"].items() if k not in MAY_DIFFER}
    expected = {k: v for k, v in clean[stem]["metrics"].items() if k not in MAY_DIFFER}
    assert metrics == expected, stem
    assert outputs(faulty_dir / stem) == outputs(clean_dir / stem), stem


@pytest.mark.notebook
def test_thirty_percent_faults_change_no_metric_no_credit_and_no_mavera_output(day_seed7, tmp_path_factory):
    result, injected = faulty_day(tmp_path_factory, 0.3)
    assert injected > 100  # the faults really happened (a few hundred of the run's requests)
    clean_dir = day_seed7.run_dir
    clean = entries(clean_dir)
    faulty = entries(result.run_dir)
    assert {stem: j["status"] for stem, j in faulty.items()} == dict.fromkeys(clean, "succeeded")
    for stem, job in faulty.items():
        same_as_clean(stem, job, result.run_dir, clean, clean_dir)
    credits = sum(j["metrics"]["mavera_credits"] for j in faulty.values())
    assert credits == sum(j["metrics"]["mavera_credits"] for j in clean.values()) > 0


@pytest.mark.notebook
def test_at_fifty_percent_a_job_does_the_same_or_does_not_claim_success(day_seed7, tmp_path_factory):
    result, injected = faulty_day(tmp_path_factory, 0.5)
    assert injected > 100
    clean_dir = day_seed7.run_dir
    clean = entries(clean_dir)
    for stem, job in entries(result.run_dir).items():
        if job["status"] == "succeeded":
            same_as_clean(stem, job, result.run_dir, clean, clean_dir)
        else:  # failed (or partial): it says why, in one line
            assert job["error"], stem
