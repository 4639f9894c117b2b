"""The third outcome: a job whose analysis is published but whose Mavera step was not done is "partial".

A partial attempt never replaces the day's complete report (it is kept beside it, as failed attempts are);
with no complete report that day it is published. The runner exits 3 for it (docs/airflow.md)."""

from __future__ import annotations

import json

from helpers import run
from helpers.runner import cli
from helpers.runner.results import EXIT_PARTIAL
from tests.runner.support import FIXTURES, hrefs, quiet

PLANTED = "The planted Mavera step did not run: the fixture was asked to be partial."


def go(out, **parameters):
    return run.run_jobs(notebooks_dir=FIXTURES, jobs=[1], out=out, date="2026-07-15", parameters=parameters,
                        workers=1, echo=quiet)


def entry(result) -> dict:
    (job,) = json.loads(result.manifest.read_text())["jobs"]
    return job


def test_a_partial_attempt_is_kept_beside_the_complete_report_of_the_day(tmp_path):
    complete = go(tmp_path, label="morning")
    assert complete.ok and complete.exit_code == 0
    day = complete.run_dir
    published = {p.name: p.read_bytes() for p in (day / "01_succeeds.html", day / "01_succeeds.ipynb")}

    later = go(tmp_path, label="noon", partial="true")
    assert later.exit_code == EXIT_PARTIAL == 3 and not later.ok
    job = entry(later)
    assert job["status"] == "partial" and job["missing"] == PLANTED and job["error"] is None
    assert job["ipynb"] == "01_succeeds.partial.ipynb" and job["html"] == "01_succeeds.partial.html"
    assert job["previous_success"]["html"] == "01_succeeds.html"
    assert job["previous_success"]["status"] == "succeeded"
    assert job["previous_success"]["metrics"]["label"] == "morning"
    # The complete report stays published byte for byte; the partial one says at its top what is missing.
    assert {name: (day / name).read_bytes() for name in published} == published
    partial_page = (day / "01_succeeds.partial.html").read_text()
    assert "Partial report" in partial_page and "the fixture was asked to be partial" in partial_page
    assert partial_page.index("Partial report") < partial_page.index("The values below are recorded")
    index = (day / "index.html").read_text()
    assert 'class="partial"' in index and f"Missing: {PLANTED}" in index
    assert "The earlier successful report is still published" in index
    assert all((day / link).is_file() for link in hrefs(index))
    assert not (day / "previous").exists()

    # A complete rerun replaces both.
    again = go(tmp_path, label="evening")
    assert again.ok and entry(again)["previous_success"] is None
    assert not list(day.glob("01_succeeds.partial*"))


def test_with_no_complete_report_that_day_the_partial_one_is_published(tmp_path):
    first = go(tmp_path, partial="true")
    job = entry(first)
    assert job["status"] == "partial" and job["ipynb"] == "01_succeeds.ipynb" and job["previous_success"] is None
    page = (first.run_dir / "01_succeeds.html").read_bytes()
    # A failed rerun does not take the published analysis away: it is kept beside the partial report.
    failed = go(tmp_path, fail="true")
    job = entry(failed)
    assert job["status"] == "failed" and job["ipynb"] == "01_succeeds.failed.ipynb"
    assert job["previous_success"]["status"] == "partial" and job["previous_success"]["missing"] == PLANTED
    assert (first.run_dir / "01_succeeds.html").read_bytes() == page
    assert "The earlier partial report is still published" in (first.run_dir / "index.html").read_text()
    # A partial rerun replaces a partial report (nothing complete to protect).
    second = go(tmp_path, partial="true", label="second")
    assert entry(second)["ipynb"] == "01_succeeds.ipynb" and entry(second)["metrics"]["label"] == "second"


def test_the_command_exits_3_and_names_the_partial_job(tmp_path, capsys):
    code = cli.main(["--notebooks", str(FIXTURES), "--jobs", "1", "--out", str(tmp_path), "--date", "2026-07-15",
                     "--workers", "1", "-p", "partial", "true"])
    out = capsys.readouterr().out
    assert code == 3
    assert "[01_succeeds] PARTIAL" in out and PLANTED in out
    assert "0 of 1 job(s) succeeded; partial: 01_succeeds" in out
