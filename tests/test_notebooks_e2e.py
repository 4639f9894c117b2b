"""Every real notebook, executed end to end by the runner against the sandbox, into a temporary folder.

One test per notebook so xdist spreads them. Jobs 04 and 05 use the personas job 01 creates, so their
runs include 01 first (as ``python -m helpers.run`` does). Each run is also scanned for the sandbox keys.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import run
from tests.runner.support import files_containing, hrefs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if run.NOTEBOOK_PATTERN.match(p.name))
NEEDS_PERSONAS = {4, 5}
USAGE_METRICS = {"klaviyo_requests", "mavera_credits", "sandbox"}


def test_all_five_notebooks_exist():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"], [p.name for p in NOTEBOOKS]


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_end_to_end(path, sandbox_env, tmp_path, capfd):
    number = int(path.name[:2])
    jobs = sorted({run.FIRST_JOB, number}) if number in NEEDS_PERSONAS else [number]
    result = run.run_jobs(jobs=jobs, out=tmp_path, workers=1)

    data = json.loads(result.manifest.read_text())
    assert [(j["notebook"], j["status"], j["error"]) for j in data["jobs"]] == [
        (j.notebook, "succeeded", None) for j in result.jobs
    ]
    assert data["sandbox"] is True
    job = next(j for j in data["jobs"] if j["notebook"] == path.stem)
    assert USAGE_METRICS <= set(job["metrics"]), sorted(job["metrics"])
    assert job["metrics"]["sandbox"] is True
    if number in NEEDS_PERSONAS:  # the personas job 01 made in this same run, not a look-up by name
        assert "job 01's personas.json" in (result.run_dir / job["ipynb"]).read_text()

    report_html = (result.run_dir / job["html"]).read_text()
    assert not re.search(r'class="[^"]*jp-InputArea-editor', report_html)  # no code cells
    assert "Sandbox data — synthetic shop, not your Klaviyo account" in report_html
    assert (result.run_dir / job["ipynb"]).is_file()
    for link in hrefs(result.index.read_text()):
        assert (result.run_dir / link).is_file(), link

    captured = capfd.readouterr()
    (tmp_path / "runner.log").write_text(captured.out + captured.err)
    assert files_containing(tmp_path, [sandbox_env.klaviyo_api_key, sandbox_env.mavera_api_key]) == {}
