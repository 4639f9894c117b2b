"""The runner's behaviour, proven on tiny fixture notebooks (no sandbox needed).

A module-scoped outcome runs four fixture notebooks (succeeds, records metrics, raises, times out) into one
day folder; the tests below each check one promise against it. Nothing here depends on machine speed: the
three that finish run with the default budget (an hour), and the one that times out sleeps ten minutes
against a budget of seconds, so neither a slow kernel start nor a busy machine changes an outcome.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from helpers import report, run
from tests.runner.support import FIXTURES, clean_env, hrefs, quiet

# Seconds for 04_times_out, which sleeps 600 s. Its budget starts at its first cell (kernel start-up is not
# charged) and the cells before the sleep only import helpers.report (a tenth of a second idle): the test
# says where it stopped (In [3], the sleep), so the budget must outlast those cells on the busiest machine,
# and stays far from the sleep's end. The fixture waits this long once; nothing measures it.
TIMEOUT = 30
# One worker runs the whole module, so the module-scoped run executes once (needs --dist loadgroup, as make test).
pytestmark = pytest.mark.xdist_group("runner_outcome")


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    common = {"notebooks_dir": FIXTURES, "out": out, "date": "2026-07-15", "workers": 2, "echo": quiet}
    with clean_env(tmp_path_factory.mktemp("cache")):
        # 01 first, then 02 and 03 side by side on two workers, with the default budget.
        finished = run.run_jobs(jobs=[1, 2, 3], parameters={"ratio": "1", "label": "00123"}, **common)
        # The same day folder again, 04 alone with a budget of seconds: a same-day rerun of one job keeps
        # the others' entries, so run.json and index.html describe all four.
        timed_out = run.run_jobs(jobs=[4], timeout=TIMEOUT, **common)
    assert timed_out.run_dir == finished.run_dir
    return run.RunResult(date=timed_out.date, sandbox=timed_out.sandbox, run_dir=timed_out.run_dir,
                         jobs=finished.jobs + timed_out.jobs)


def manifest(result):
    return json.loads(result.manifest.read_text())


def entry(result, stem):
    return next(job for job in manifest(result)["jobs"] if job["notebook"] == stem)


def test_statuses_and_overall_failure(outcome):
    statuses = {job.notebook: job.status for job in outcome.jobs}
    assert statuses == {
        "01_succeeds": "succeeded",
        "02_records_metrics": "succeeded",
        "03_raises": "failed",
        "04_times_out": "failed",
    }
    assert outcome.ok is False
    assert outcome.run_dir == outcome.manifest.parent
    assert outcome.run_dir.name == "2026-07-15"


def test_run_json_schema_and_relative_paths(outcome):
    data = manifest(outcome)
    assert data["date"] == "2026-07-15"
    assert data["sandbox"] is False
    assert [job["notebook"] for job in data["jobs"]] == [
        "01_succeeds", "02_records_metrics", "03_raises", "04_times_out"
    ]
    for job in data["jobs"]:
        assert {"notebook", "status", "ipynb", "html", "seconds", "error", "metrics"} <= set(job)
        assert job["status"] in {"succeeded", "failed"}
        assert (job["error"] is None) == (job["status"] == "succeeded")
        assert job["seconds"] > 0
        for key in ("ipynb", "html"):
            assert not job[key].startswith("/"), job[key]
            assert (outcome.run_dir / job[key]).is_file()


def test_metrics_are_what_the_notebook_recorded(outcome):
    metrics = entry(outcome, "02_records_metrics")["metrics"]
    assert metrics == {
        "rows": 5,
        "total": 15.0,
        "tiers": ["t0", "t1", "t2", "t3", "t4"],
        "by_tier": {"t0": 0.0, "t1": 1.5, "t2": 3.0, "t3": 4.5, "t4": 6.0},
        "flag": True,
        "overwritten": "second",
        "artifacts_folder": "02_records_metrics",
        "klaviyo_requests": 12,
        "mavera_credits": 300,
        "sandbox": False,
    }


def test_p_values_are_coerced_to_declared_types(outcome):
    metrics = entry(outcome, "01_succeeds")["metrics"]
    assert metrics["ratio"] == 1.0 and metrics["ratio_type"] == "float"  # papermill alone would send int 1
    assert metrics["label"] == "00123"  # papermill alone would send 123
    assert metrics["n"] == 3  # untouched default


def test_consumers_of_job_01_start_after_it_finishes(outcome):
    """The registry (helpers.jobs): 04 and 05 consume 01's personas, so they wait for it; 02 and 03 need not."""
    jobs = {job.notebook: job for job in outcome.jobs}
    first_done = jobs["01_succeeds"].finished_at
    consumers = [s for s in jobs if s[:2] in ("04", "05")]
    assert consumers and all(jobs[s].started_at >= first_done for s in consumers)


def test_raising_notebook_is_saved_with_the_error_visible(outcome):
    job = entry(outcome, "03_raises")
    assert job["error"] == "ValueError: planted failure: the numbers did not add up (In [3])"
    assert job["metrics"] == {"reached": "setup"}  # recorded before the failure, not after
    nb = nbformat.read(outcome.run_dir / job["ipynb"], as_version=4)
    tags = [tag for cell in nb.cells for tag in cell.metadata.get("tags", [])]
    assert "papermill-error-cell-tag" in tags
    text = json.dumps(nb)
    assert "before the failure" in text and "planted failure" in text


def test_timed_out_notebook_is_saved_and_marked_where_it_stopped(outcome):
    job = entry(outcome, "04_times_out")
    assert job["error"].startswith(f"timed out: the notebook ran past its {TIMEOUT} s budget")
    assert job["error"].endswith("(In [3])")
    nb = nbformat.read(outcome.run_dir / job["ipynb"], as_version=4)
    assert nb.cells[0].cell_type == "markdown" and "The run stopped: timed out" in nb.cells[0].source
    stuck = next(i for i, c in enumerate(nb.cells) if "time.sleep(seconds)" in c.source)
    assert "workbooks-stopped-here" in nb.cells[stuck - 1].source
    assert "sleeping now" in json.dumps(nb.cells[stuck].outputs)
    assert (outcome.run_dir / job["html"]).is_file()


def test_html_reports_hold_no_code_no_parameters_no_records(outcome):
    for job in manifest(outcome)["jobs"]:
        text = (outcome.run_dir / job["html"]).read_text()
        assert not re.search(r'class="[^"]*jp-InputArea-editor', text), job["notebook"]  # no code input
        code_cells = re.findall(r'class="(jp-Cell jp-CodeCell[^"]*)"', text)
        # A failed job's page is one sentence, no cells at all (helpers/runner/report_html.py: failed_report_html).
        assert (code_cells if job["status"] == "succeeded" else not code_cells), job["notebook"]
        assert all("jp-mod-noInput" in c for c in code_cells), job["notebook"]
        assert "CODE_MARKER_7f3a" not in text
        assert "injected-parameters" not in text and "from helpers import report" not in text
        assert report.RECORD_MIME not in text
    succeeded = (outcome.run_dir / "01_succeeds.html").read_text()
    assert "ran with n=3 label=00123 ratio=1.0" in succeeded  # outputs are kept
    assert "ratio: float = 0.5" not in succeeded  # the parameters cell is not
    chart = (outcome.run_dir / "02_records_metrics.html").read_text()
    assert "data:image/png;base64," in chart


def test_saved_notebooks_keep_injected_cell_but_no_parameter_metadata(outcome):
    nb = nbformat.read(outcome.run_dir / "01_succeeds.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters == {}
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'label = "00123"' in injected[0].source


def test_artifacts_land_in_the_job_folder(outcome):
    folder = outcome.run_dir / "02_records_metrics"
    assert sorted(p.name for p in folder.iterdir()) == ["summary.json", "tiers.csv", "value_by_tier.png"]
    assert json.loads((folder / "summary.json").read_text())["total"] == 15.0
    assert (folder / "value_by_tier.png").read_bytes().startswith(b"\x89PNG")
    assert not list(outcome.run_dir.glob(".staging-*"))


def test_index_links_resolve_and_show_status(outcome):
    text = outcome.index.read_text()
    links = hrefs(text)
    assert len(links) == 2 * 4 + 1
    for link in links:
        assert (outcome.run_dir / link).is_file(), link
    assert "planted failure: the numbers did not add up" in text
    assert "ran past its time budget" in text  # index.html says what failed in the failed page's sentence
    assert "Total: 15" in text  # a notebook without headlines: its plain numbers, with readable names
