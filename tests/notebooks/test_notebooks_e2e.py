"""Every real notebook, executed end to end by the runner against the sandbox, into a temporary folder.

One test per notebook so xdist spreads them. The runs are the shared days of tests/conftest.py, which the
per-notebook and browser tests read too: every job at seed 11, then every job at seed 7 into the same
output root a day later, one runner call per job; jobs 04 and 05 read the personas job 01 published that
day. Each day is also scanned for the sandbox keys.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import jobs, run
from tests.runner.support import files_containing, hrefs

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if run.NOTEBOOK_PATTERN.match(p.name))
NEEDS_PERSONAS = {j.number for j in jobs.JOBS if "personas" in j.consumes}
RUN_OF = {1: "day_seed7", 2: "day_seed7", 3: "day_seed11", 4: "day_seed7", 5: "day_seed11"}
USAGE_METRICS = {"klaviyo_requests", "mavera_credits", "sandbox"}
# The recorded metrics of each notebook, as ARCHITECTURE.md names them (its "Recorded metrics" table).
METRICS = {
    1: {"profiles_total", "profiles_without_predictions", "tier_counts", "personas"},
    2: {"messages_evaluated", "underperforming_message_ids", "rewrites"},
    3: {"segments_analyzed", "redundant_pairs", "nested_pairs", "tiny_segments", "mave_thread_id",
        "retired_segments", "kept_in_use", "mave_disagreements"},
    4: {"orders_analyzed", "top_pairs", "focus_group_id", "nps_by_persona", "weighted_support"},
    5: {"email_campaigns", "sms_campaigns", "winner_by_metric", "significant", "focus_group_id", "aov_by_channel",
        "paired_campaigns", "verdict"},
}


def test_all_five_notebooks_exist():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"], [p.name for p in NOTEBOOKS]


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_end_to_end(path, request):
    number = int(path.name[:2])
    shared = request.getfixturevalue(RUN_OF[number])
    result = shared.jobs[path.stem]["result"]
    assert [j.notebook for j in result.jobs] == [path.stem]  # its own runner call

    data = json.loads(result.manifest.read_text())  # the day's record: every job published that day
    assert sorted((j["notebook"], j["status"], j["error"]) for j in data["jobs"]) == [
        (stem, "succeeded", None) for stem in sorted(shared.jobs)
    ]
    assert data["sandbox"] is True
    job = next(j for j in data["jobs"] if j["notebook"] == path.stem)
    assert USAGE_METRICS | METRICS[number] <= set(job["metrics"]), sorted(job["metrics"])
    assert job["metrics"]["sandbox"] is True
    if number in NEEDS_PERSONAS:  # the personas job 01 published that day, not a look-up by name
        assert "job 01's personas.json" in (result.run_dir / job["ipynb"]).read_text()

    report_html = (result.run_dir / job["html"]).read_text()
    assert not re.search(r'class="[^"]*jp-InputArea-editor', report_html)  # no code cells
    assert "Sandbox data — synthetic shop, not your Klaviyo account" in report_html
    assert (result.run_dir / job["ipynb"]).is_file()
    for link in hrefs(result.index.read_text()):
        assert (shared.run_dir / link).is_file(), link

    assert (shared.out / "runner.log").read_text()  # everything the run printed, kernels and workers included
    assert files_containing(shared.out, shared.keys) == {}


@pytest.mark.notebook
@pytest.mark.parametrize("fixture", ["day_seed7", "day_seed11"])
def test_every_klaviyo_request_of_a_shared_run_matches_the_official_document(fixture, request):
    """The shared days' Klaviyo traffic, recorded by the sandbox, checked like ``support.run_job``'s: method,
    path, query parameters, headers and body against Klaviyo's 2026-07-15 document."""
    shared = request.getfixturevalue(fixture)
    if shared.invalid_requests is None:
        pytest.skip("Klaviyo's OpenAPI document is not here: run `make spec`")
    assert shared.klaviyo_requests > 0, "the run sent no Klaviyo request to check"
    assert shared.invalid_requests == [], (
        f"{len(shared.invalid_requests)} of {shared.klaviyo_requests} Klaviyo requests do not match the official "
        "OpenAPI document:\n  " + "\n  ".join(shared.invalid_requests[:8]))
