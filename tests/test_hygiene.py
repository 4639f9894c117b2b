"""Committed notebooks are clean sources: no outputs, one typed parameters cell, nothing secret-like.

Runs without a kernel. Covers the real notebooks (notebooks/) and the runner's fixture notebooks.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from helpers.run import declared_parameters, secret_like

ROOT = Path(__file__).resolve().parents[1]
REAL = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIXTURES = sorted((ROOT / "tests" / "runner" / "notebooks").glob("*.ipynb"))
ALL = REAL + FIXTURES


def ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def load(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_no_outputs_no_execution_counts_no_run_metadata(path):
    nb = load(path)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; clear them before committing"
    assert "papermill" not in nb.metadata, f"{path.name} is an executed copy (metadata.papermill); commit the source"
    tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
    assert "injected-parameters" not in tags and "papermill-error-cell-tag" not in tags


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_exactly_one_parameters_cell_of_typed_commented_literals(path):
    nb = load(path)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged 'parameters'; tag exactly one"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernelspec must be python3"
    params = declared_parameters(path)
    assert params, f"{path.name}: papermill finds no parameters in the parameters cell"
    for name, spec in params.items():
        assert spec["inferred_type_name"] not in (None, "None"), f"{path.name}: annotate {name} (e.g. {name}: int = 5)"
        assert spec["help"], f"{path.name}: give {name} a trailing # comment (shown by --help-notebook)"
        ast.literal_eval(spec["default"])  # literals only; derived values belong in the next cell
    # nothing but assignments: a call here would run before papermill's injected overrides
    tree = ast.parse(cells[0].source)
    assert all(isinstance(node, ast.AnnAssign | ast.Assign) for node in tree.body), path.name


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_no_secret_like_parameter_names(path):
    names = declared_parameters(path)
    assert not [n for n in names if secret_like(n)], f"{path.name}: secrets come from the environment, never parameters"


@pytest.mark.parametrize("path", REAL, ids=ids(REAL))
def test_real_notebooks_set_up_their_own_artifact_folder(path):
    source = "\n".join(c.source for c in load(path).cells if c.cell_type == "code")
    assert re.search(r"^\s*from helpers import|^\s*import helpers", source, re.M), f"{path.name} must import helpers"
    assert f'report.setup("{path.stem}")' in source, f'{path.name} should call report.setup("{path.stem}")'
    assert "report.record_usage(" in source, f"{path.name} should record klaviyo_requests/mavera_credits/sandbox"


def test_secret_like_catches_the_usual_names():
    assert [n for n in ("api_key", "KLAVIYO_API_KEY", "apiKey", "token", "db_password", "top_k", "monkey",
                        "timeframe", "min_recipients") if secret_like(n)] == [
        "api_key", "KLAVIYO_API_KEY", "apiKey", "token", "db_password"
    ]


def test_a_dirty_notebook_is_caught(tmp_path):
    nb = load(FIXTURES[0])
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="hi")]
    nb.cells[2].execution_count = 1
    path = tmp_path / FIXTURES[0].name
    nbformat.write(nb, path)
    with pytest.raises(AssertionError, match="carry outputs"):
        test_no_outputs_no_execution_counts_no_run_metadata(path)
    assert json.loads(path.read_text())["cells"][2]["execution_count"] == 1
