"""Every real notebook, executed end to end by the runner against the sandbox, into a temporary folder.

One test per notebook so xdist spreads them. Jobs 04 and 05 use the personas job 01 creates, so their
runs include 01 first (as ``python -m helpers.run`` does). Each run is also scanned for the sandbox keys.
The runs are the session runs of conftest.py, which the per-notebook tests read too: 01 with 04 (seed 7),
01 with 05 (seed 11), 02 and 03 alone (seed 7).
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
RUN_OF = {1: "run_01_04_seed7", 2: "run_02_seed7", 3: "run_03_seed7", 4: "run_01_04_seed7", 5: "run_01_05_seed11"}
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
    result = shared.result
    if number in NEEDS_PERSONAS:  # 01 ran in the same runner call, before this job
        assert [int(j.notebook[:2]) for j in result.jobs] == [jobs.producer("personas").number, number]

    data = json.loads(result.manifest.read_text())
    assert [(j["notebook"], j["status"], j["error"]) for j in data["jobs"]] == [
        (j.notebook, "succeeded", None) for j in result.jobs
    ]
    assert data["sandbox"] is True
    job = next(j for j in data["jobs"] if j["notebook"] == path.stem)
    assert USAGE_METRICS | METRICS[number] <= set(job["metrics"]), sorted(job["metrics"])
    assert job["metrics"]["sandbox"] is True
    if number in NEEDS_PERSONAS:  # the personas job 01 made in this same run, not a look-up by name
        assert "job 01's personas.json" in (result.run_dir / job["ipynb"]).read_text()

    report_html = (result.run_dir / job["html"]).read_text()
    assert not re.search(r'class="[^"]*jp-InputArea-editor', report_html)  # no code cells
    assert "Sandbox data — synthetic shop, not your Klaviyo account" in report_html
    assert (result.run_dir / job["ipynb"]).is_file()
    for link in hrefs(result.index.read_text()):
        assert (result.run_dir / link).is_file(), link

    assert (shared.out / "runner.log").read_text()  # everything the run printed, kernels and workers included
    assert files_containing(shared.out, shared.keys) == {}


@pytest.mark.notebook
@pytest.mark.parametrize("fixture", sorted(set(RUN_OF.values())))
def test_every_klaviyo_request_of_a_shared_run_matches_the_official_document(fixture, request):
    """The shared runs' Klaviyo traffic, recorded by the sandbox, checked like ``support.run_job``'s: method,
    path, query parameters, headers and body against Klaviyo's 2026-07-15 document."""
    shared = request.getfixturevalue(fixture)
    if shared.invalid_requests is None:
        pytest.skip("Klaviyo's OpenAPI document is not here: run `make spec`")
    assert shared.klaviyo_requests > 0, "the run sent no Klaviyo request to check"
    assert shared.invalid_requests == [], (
        f"{len(shared.invalid_requests)} of {shared.klaviyo_requests} Klaviyo requests do not match the official "
        "OpenAPI document:\n  " + "\n  ".join(shared.invalid_requests[:8]))
