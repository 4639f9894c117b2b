"""Mavera's part honest (issue #21), on the real notebooks: analysis first, partial named as such, personas
that persist like Mavera's, a complete report never replaced by a partial attempt.

Each scenario is a few runner calls; they are the slow tests of this issue, so each runs what it must once.
"""

from __future__ import annotations

import json

import pytest

from helpers import run
from tests.notebooks.support import RUN_DATE, sandbox_session
from tests.runner.support import quiet

pytestmark = pytest.mark.notebook


def _go(out, jobs, **kw):
    return run.run_jobs(jobs=jobs, out=out, date=RUN_DATE, workers=1, echo=quiet, **kw)


def test_04_and_05_alone_on_an_empty_out_publish_their_analysis_and_are_partial(tmp_path_factory):
    out = tmp_path_factory.mktemp("empty-out")
    with sandbox_session(tmp_path_factory, 7) as sb:
        result = _go(out, [4, 5])
        truth = sb.truth()
        assert sb.stats()["mavera"]["focus_groups_created"] == 0
    assert result.exit_code == 3, [(j.notebook, j.status, j.error) for j in result.jobs]
    for job in result.jobs:
        assert job.status == "partial" and job.error is None, (job.notebook, job.error)
        assert job.missing.startswith("The focus group did not run: No Mavera personas to ask: run job 01 first")
        assert "persona_ids" in job.missing
        page = (result.run_dir / job.html).read_text()
        assert page.index("Partial report") < page.index("Findings and next steps")
    # The Klaviyo analysis is all there: the planted answers are recovered without a single persona.
    assert result.job("04").metrics["top_pairs"] and result.job("04").metrics["focus_group_id"] is None
    assert result.job("05").metrics["winner_by_metric"] == truth["winner_by_metric"]
    index = (result.run_dir / "index.html").read_text()
    assert index.count('<tr class="partial">') == 2 and "Missing: The focus group did not run" in index


def test_a_rerun_of_05_without_credits_is_partial_and_the_complete_report_stays(tmp_path_factory):
    out = tmp_path_factory.mktemp("full-day")
    with sandbox_session(tmp_path_factory, 7) as sb:
        first = _go(out, [1, 5])
        assert [j.status for j in first.jobs] == ["succeeded", "succeeded"], [j.error for j in first.jobs]
        day = first.run_dir
        kept = {name: (day / name).read_bytes() for name in ("05_sms_vs_email_testing.html",
                                                               "05_sms_vs_email_testing.ipynb")}
        # The account's credits are spent. The same request again would get the morning's group back (cached,
        # or found by its name: never paid twice), so the rerun asks a new one: 6 respondents per persona.
        sb.mavera.credits_included = sb.stats()["mavera"]["credits_used"]
        again = _go(out, [5], parameters={"responses_per_persona": 6})
    job = again.job("05")
    assert job.status == "partial" and again.exit_code == 3, job.error
    assert "out of Mavera credits" in job.missing and job.missing.startswith("The Mavera focus group did not complete")
    assert {name: (day / name).read_bytes() for name in kept} == kept  # byte for byte
    (entry,) = [j for j in json.loads(again.manifest.read_text())["jobs"] if j["notebook"] == job.notebook]
    assert entry["ipynb"] == "05_sms_vs_email_testing.partial.ipynb"
    assert entry["previous_success"]["html"] == "05_sms_vs_email_testing.html"
    assert "Partial report" in (day / entry["html"]).read_text()


def test_04_and_05_rerun_alone_in_sandbox_mode_find_the_personas_job_01_made(tmp_path, monkeypatch):
    """``--sandbox`` starts a fresh emulator per run; its personas persist under the output folder, so 04 and
    05 run later that day find job 01's personas and complete their focus groups."""
    monkeypatch.setenv("KLAVIYO_RATE_SCALE", "0")  # the sandbox's limits off, as the browser tests run it
    morning = _go(tmp_path, [1], sandbox=True, seed=7)
    assert morning.job("01").ok, morning.job("01").error
    personas = json.loads((morning.run_dir / "01_persona_enrichment" / "personas.json").read_text())
    later = _go(tmp_path, [4, 5], sandbox=True, seed=7)
    for job in later.jobs:
        assert job.status == "succeeded", (job.notebook, job.status, job.missing, job.error)
        assert job.metrics["focus_group_id"]
    assert set(later.job("04").metrics["nps_by_persona"]) <= set(personas.values())
