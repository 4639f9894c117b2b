"""The notebooks keep their own parameter check for JupyterLab users, whom the runner never sees.

The runner refuses a bad value before any kernel starts (the per-notebook tests); in Lab the notebook's
second code cell is the only guard, so it must stop the notebook there, before anything is fetched.
"""

from __future__ import annotations

import json
from pathlib import Path

import papermill
import pytest

from helpers import jobs

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stem", [j.stem for j in jobs.JOBS])
def test_check_cell_comes_before_any_fetch(stem):
    cells = [c for c in json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
             if c["cell_type"] == "code"]
    assert "parameters" in cells[0]["metadata"].get("tags", [])
    assert f'params.check("{stem}", globals())' in "".join(cells[1]["source"])


def test_notebook_alone_stops_at_a_bad_value_and_sends_nothing(sandbox, sandbox_env, tmp_path):
    before = sandbox.stats()
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        papermill.execute_notebook(str(ROOT / "notebooks" / "02_flow_content_refresh.ipynb"),
                                   str(tmp_path / "out.ipynb"), parameters={"significance": 0.9},
                                   progress_bar=False, cwd=str(ROOT / "notebooks"))
    assert caught.value.ename == "ParameterError"
    assert "parameter significance=0.9 must be at most 0.5" in caught.value.evalue
    after = sandbox.stats()
    assert after["klaviyo"]["requests"] == before["klaviyo"]["requests"]
    assert after["mavera"]["requests"] == before["mavera"]["requests"]
