"""helpers.report.earlier_runs: which earlier run a report compares itself with, read from real run.json folders."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from helpers.report import earlier_runs
from helpers.report.earlier_runs import Previous, previous_run

STEM = "01_persona_enrichment"


def day(root: Path, date: str, *jobs: dict, artifacts: bool = True) -> None:
    folder = root / date
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"date": date, "sandbox": jobs[0]["sandbox"] if jobs else False,
                                                 "jobs": list(jobs)}))
    if artifacts:
        for job in jobs:
            (folder / job["notebook"]).mkdir()
            pd.DataFrame({"tier": ["VIP"], "clv_at_risk": [10.0]}).to_csv(folder / job["notebook"] / "tiers.csv", index=False)


def job(status="succeeded", sandbox=True, n=1, **extra):
    return {"notebook": STEM, "status": status, "sandbox": sandbox, "metrics": {"profiles_total": n}, **extra}


def test_the_latest_earlier_success_of_the_same_kind_is_the_last_run(tmp_path):
    day(tmp_path, "2026-07-10", job(n=10))
    day(tmp_path, "2026-07-12", job(n=12))
    day(tmp_path, "2026-07-13", job(sandbox=False, n=13))  # real data: never compared with a sandbox run
    day(tmp_path, "2026-07-14", job(status="failed", n=14))  # failed, nothing kept: skipped
    day(tmp_path, "2026-07-20", job(n=20))  # after this run's date (a backfill): not "earlier"
    (tmp_path / "lab").mkdir()  # not a day folder
    (tmp_path / "2026-07-11").mkdir()  # a day folder without run.json
    found = previous_run(tmp_path, STEM, sandbox=True, run_date="2026-07-15")
    assert (found.date, found.metrics) == ("2026-07-12", {"profiles_total": 12})
    assert found.csv("tiers.csv")["clv_at_risk"].tolist() == [10.0]
    assert found.csv("missing.csv") is None
    assert previous_run(tmp_path, STEM, sandbox=False, run_date="2026-07-15").date == "2026-07-13"
    assert previous_run(tmp_path, STEM, sandbox=True, run_date="2026-07-09") is None
    assert previous_run(tmp_path, "02_other", sandbox=True, run_date="2026-07-15") is None


def test_the_same_day_counts_and_a_failed_rerun_points_at_the_report_it_kept(tmp_path):
    kept = {"ipynb": f"{STEM}.ipynb", "html": f"{STEM}.html", "metrics": {"profiles_total": 7}}
    day(tmp_path, "2026-07-15", job(status="failed", n=99, previous_success=kept))
    found = previous_run(tmp_path, STEM, sandbox=True, run_date="2026-07-15")
    assert (found.date, found.metrics) == ("2026-07-15", {"profiles_total": 7})


def test_unreadable_manifests_are_skipped_and_artifacts_may_be_gone(tmp_path):
    (tmp_path / "2026-07-13").mkdir()
    (tmp_path / "2026-07-13" / "run.json").write_text("{not json")
    day(tmp_path, "2026-07-12", job(n=12), artifacts=False)
    found = previous_run(tmp_path, STEM, sandbox=True, run_date="2026-07-15")
    assert found.date == "2026-07-12" and found.folder is None and found.csv("tiers.csv") is None
    assert [m["date"] for m in earlier_runs.manifests(tmp_path, sandbox=True)] == ["2026-07-12"]
    assert earlier_runs.manifests(tmp_path / "nowhere", sandbox=True) == []


def test_kernels_look_where_the_runner_says_and_lab_looks_under_outputs(monkeypatch, tmp_path):
    monkeypatch.setenv(earlier_runs.OUT_ROOT_ENV, str(tmp_path))
    monkeypatch.setenv(earlier_runs.RUN_DATE_ENV, "2026-07-15")
    assert earlier_runs.located() == (tmp_path, "2026-07-15")
    monkeypatch.delenv(earlier_runs.OUT_ROOT_ENV)
    monkeypatch.setenv(earlier_runs.RUN_DATE_ENV, "not a date")
    root, date = earlier_runs.located()
    assert root.name == "outputs" and len(date) == 10 and date[4] == "-"


def test_previous_can_hold_frames_in_memory():
    frame = pd.DataFrame({"a": [1]})
    assert Previous("2026-07-14", {}, None, {"x.csv": frame}).csv("x.csv") is frame
