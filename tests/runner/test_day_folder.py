"""Where a run writes: a relative --out, sandbox and real runs on the same day, stale staging folders."""

from __future__ import annotations

import fcntl
import json

from helpers import run
from helpers.runner import plan, publish
from tests.runner.support import FIXTURES, quiet


def go(out, jobs=(1,), **parameters):
    return run.run_jobs(
        notebooks_dir=FIXTURES, jobs=list(jobs), out=out, date="2026-07-15", parameters=parameters,
        workers=1, echo=quiet,
    )


def test_relative_out_is_resolved_before_kernels_see_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the kernels' working folder is FIXTURES, not this one
    result = go("rel-out", jobs=[2])
    assert result.ok, result.jobs
    day = tmp_path / "rel-out" / "2026-07-15"
    assert result.run_dir == day
    assert sorted(p.name for p in (day / "02_records_metrics").iterdir()) == [
        "summary.json", "tiers.csv", "value_by_tier.png"
    ]
    assert not (FIXTURES / "rel-out").exists()


def test_a_sandbox_run_moves_a_real_day_aside_instead_of_mixing(tmp_path, monkeypatch):
    real = go(tmp_path, jobs=[1, 2], label="real")
    assert real.ok and not real.sandbox
    day = real.run_dir
    real_html = (day / "01_succeeds.html").read_text()

    lines = []
    monkeypatch.setenv("WORKBOOKS_SANDBOX", "1")
    demo = run.run_jobs(notebooks_dir=FIXTURES, jobs=[1], out=tmp_path, date="2026-07-15",
                        parameters={"label": "demo"}, workers=1, echo=lines.append)
    assert demo.ok and demo.sandbox
    data = json.loads((day / "run.json").read_text())
    assert data["sandbox"] is True
    assert [(j["notebook"], j["sandbox"]) for j in data["jobs"]] == [("01_succeeds", True)]  # 02 was real
    assert not (day / "02_records_metrics").exists() and not (day / "02_records_metrics.html").exists()

    (kept,) = (day / "previous").iterdir()
    assert {p.name for p in kept.iterdir()} == {
        "run.json", "index.html", "01_succeeds.ipynb", "01_succeeds.html", "01_succeeds",
        "02_records_metrics.ipynb", "02_records_metrics.html", "02_records_metrics",
    }
    assert (kept / "01_succeeds.html").read_text() == real_html
    assert json.loads((kept / "run.json").read_text())["sandbox"] is False
    (moved,) = [line for line in lines if "moved them to previous/" in line]
    assert "held real reports" in moved and "sandbox run" in moved

    # The same kind again: nothing moves, the sandbox report is replaced as usual.
    lines.clear()
    again = run.run_jobs(notebooks_dir=FIXTURES, jobs=[1], out=tmp_path, date="2026-07-15",
                         workers=1, echo=lines.append)
    assert again.ok and not any("moved them" in line for line in lines)
    assert len(list((day / "previous").iterdir())) == 2  # the kind switch, then the ordinary replacement


def test_staging_is_seeded_only_from_jobs_of_the_same_kind(tmp_path):
    day, staging = tmp_path / "day", tmp_path / "staging"
    staging.mkdir()
    for stem in ("01_a", "02_b"):
        (day / stem).mkdir(parents=True)
        (day / stem / "personas.json").write_text("{}")
    jobs = [{"notebook": "01_a", "status": "succeeded", "sandbox": True},
            {"notebook": "02_b", "status": "succeeded", "sandbox": False}]
    (day / "run.json").write_text(json.dumps({"date": "day", "sandbox": True, "jobs": jobs}))
    publish.seed_staging(day, staging, [plan.Notebook(4, "04_c", day / "04_c.ipynb")], sandbox=False)
    assert [p.name for p in staging.iterdir()] == ["02_b"]


def test_stale_staging_is_removed_and_live_staging_kept(tmp_path):
    day = tmp_path / "2026-07-15"
    stale, live = day / ".staging-010101-dead00", day / ".staging-020202-live00"
    for folder in (stale, live):
        (folder / "01_succeeds").mkdir(parents=True)
    with open(live / ".active", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # as a run in progress holds it
        result = go(tmp_path)
        assert result.ok, result.jobs
        assert not stale.exists()
        assert (live / "01_succeeds").is_dir()
    assert [p.name for p in day.glob(".staging-*")] == [live.name]  # and this run removed its own
