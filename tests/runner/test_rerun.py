"""Same-day reruns: a failure never replaces a succeeded report; a success replaces it and keeps the old one."""

from __future__ import annotations

import json

from helpers import run
from helpers.runner import plan, publish
from tests.runner.support import FIXTURES, hrefs, quiet


def go(out, **parameters):
    return run.run_jobs(
        notebooks_dir=FIXTURES, jobs=[1], out=out, date="2026-07-15", parameters=parameters,
        workers=1, echo=quiet,
    )


def test_same_day_reruns(tmp_path):
    first = go(tmp_path, label="morning")
    assert first.ok, first.jobs
    day = first.run_dir
    morning_html = (day / "01_succeeds.html").read_text()
    assert "label=morning" in morning_html

    failed = go(tmp_path, label="noon", fail="true")
    assert not failed.ok, failed.jobs
    data = json.loads((day / "run.json").read_text())
    (job,) = data["jobs"]
    assert job["status"] == "failed" and "planted failure" in job["error"]
    assert job["ipynb"] == "01_succeeds.failed.ipynb" and job["html"] == "01_succeeds.failed.html"
    assert job["previous_success"]["html"] == "01_succeeds.html"
    assert job["previous_success"]["metrics"]["label"] == "morning"
    # The morning report is untouched, byte for byte, and its artifacts are still there.
    assert (day / "01_succeeds.html").read_text() == morning_html
    assert (day / "01_succeeds").is_dir()
    assert "planted failure requested" in (day / "01_succeeds.failed.html").read_text()
    index = (day / "index.html").read_text()
    assert "earlier successful report is still published" in index
    assert all((day / link).is_file() for link in hrefs(index))
    assert not (day / "previous").exists()

    second = go(tmp_path, label="evening")
    assert second.ok, second.jobs
    data = json.loads((day / "run.json").read_text())
    (job,) = data["jobs"]
    assert job["status"] == "succeeded" and job["previous_success"] is None
    assert job["metrics"]["label"] == "evening"
    assert "label=evening" in (day / "01_succeeds.html").read_text()
    assert not list(day.glob("01_succeeds.failed*"))
    (kept,) = (day / "previous").iterdir()
    assert (kept / "01_succeeds.html").read_text() == morning_html
    assert {p.name for p in kept.iterdir()} == {
        "01_succeeds.ipynb", "01_succeeds.html", "01_succeeds",
        "01_succeeds.failed.ipynb", "01_succeeds.failed.html", "01_succeeds.failed",
    }


def test_failure_with_nothing_to_protect_is_published_under_the_plain_name(tmp_path):
    result = go(tmp_path, fail="true")
    (job,) = json.loads(result.manifest.read_text())["jobs"]
    assert job["status"] == "failed" and job["ipynb"] == "01_succeeds.ipynb"
    assert job["previous_success"] is None


def test_unselected_jobs_stay_in_run_json(tmp_path):
    day = tmp_path / "2026-07-15"
    day.mkdir()
    earlier = {"notebook": "05_touches_secrets", "status": "succeeded", "ipynb": "05.ipynb", "html": None,
               "seconds": 1.0, "error": None, "metrics": {"x": 1}}
    (day / "run.json").write_text(json.dumps({"date": "2026-07-15", "sandbox": False, "jobs": [earlier]}))
    (day / "05_touches_secrets").mkdir()
    (day / "05_touches_secrets" / "personas.json").write_text("{}")
    go(tmp_path)
    data = json.loads((day / "run.json").read_text())
    assert [j["notebook"] for j in data["jobs"]] == ["01_succeeds", "05_touches_secrets"]
    assert data["jobs"][1] == earlier
    assert (day / "05_touches_secrets" / "personas.json").is_file()


def test_staging_gets_the_published_artifacts_of_jobs_not_rerun(tmp_path):
    day, staging = tmp_path / "day", tmp_path / "staging"
    staging.mkdir()
    (day / "01_a").mkdir(parents=True)
    (day / "01_a" / "personas.json").write_text('{"VIP": "p1"}')
    (day / "02_b").mkdir()
    jobs = [{"notebook": "01_a", "status": "succeeded"}, {"notebook": "02_b", "status": "succeeded"}]
    (day / "run.json").write_text(json.dumps({"date": "day", "sandbox": False, "jobs": jobs}))
    publish.seed_staging(day, staging, [plan.Notebook(2, "02_b", day / "02_b.ipynb")])
    assert (staging / "01_a" / "personas.json").read_text() == '{"VIP": "p1"}'
    assert not (staging / "02_b").exists()
