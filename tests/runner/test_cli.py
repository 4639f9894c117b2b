"""Command-line checks that fail before any kernel starts, and exit codes of real runs."""

from __future__ import annotations

import json

import pytest

from helpers import run
from helpers.runner import batch, execute, plan
from tests.runner.support import FIXTURES


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "nope", "1"], "-p nope: none of the selected notebooks"),
        (["--jobs", "1", "-p", "rows", "5"], "-p rows: none of the selected notebooks (01_succeeds)"),
        (["--jobs", "1", "-p", "n", "abc"], "-p n: parameter n='abc' should be a whole number"),
        (["--jobs", "1", "-p", "fail", "maybe"], "-p fail: parameter fail='maybe' should be true or false"),
        (["-p", "api_key", "pk_x"], "-p api_key: secrets are never parameters"),
        (["--jobs", "9"], "--jobs 9: no such notebook (available: 1,2,3,4,5)"),
        (["--jobs", "one"], "--jobs 'one': give job numbers"),
        (["--date", "2026-13-01"], "--date '2026-13-01': use YYYY-MM-DD"),
        (["--date", "2099-01-01"], "--date 2099-01-01 is after today ("),
        (["--timeout", "0"], "--timeout 0: give a positive number"),
        (["--timeout", "nan"], "--timeout nan: give a positive number"),
        (["--timeout", "inf"], "--timeout inf: give a positive number"),
        (["--jobs", "1", "-p", "ratio", "inf"], "-p ratio: parameter ratio='inf' should be a finite number"),
    ],
)
def test_bad_arguments_are_one_line_errors_before_anything_runs(argv, message, tmp_path, capsys):
    code = run.main(["--notebooks", str(FIXTURES), "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {message}"), err
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing ran, no folder was made


def test_a_declared_range_is_checked_before_the_sandbox_or_any_kernel_starts(tmp_path, capsys):
    """``-p significance 5`` against the real notebooks (02 and 05 declare it, at most 0.5): one line naming the
    notebook and a value to pass; no sandbox, no kernel, no day folder, no failed report."""
    code = run.main(["--sandbox", "-p", "significance", "5", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert err == ("error: 02_flow_content_refresh: parameter significance=5.0 must be at most 0.5; "
                   "pass e.g. -p significance 0.05.\n")
    assert "sandbox:" not in out and "kernel" not in out
    assert list(tmp_path.iterdir()) == []


def test_missing_notebook_folder(tmp_path, capsys):
    assert run.main(["--notebooks", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    assert "notebook folder" in capsys.readouterr().err


def test_real_notebooks_need_keys_unless_sandbox(tmp_path, capsys, monkeypatch):
    # The default folder (the project's notebooks) is checked for keys before any kernel starts.
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_x.ipynb").write_text((FIXTURES / "01_succeeds.ipynb").read_text())
    monkeypatch.setattr(plan, "default_notebooks_dir", lambda: notebooks)
    assert run.main(["--out", str(tmp_path / "out")]) == 2
    assert "KLAVIYO_API_KEY is not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"inferred_type_name": "float", "default": "0.5"}, "1", 1.0),
        ({"inferred_type_name": "str", "default": '"a"'}, "00123", "00123"),
        ({"inferred_type_name": "int", "default": "3"}, "007", 7),
        ({"inferred_type_name": "bool", "default": "False"}, "yes", True),
        ({"inferred_type_name": "list[str]", "default": "[]"}, '["a", "b"]', ["a", "b"]),
        ({"inferred_type_name": "dict", "default": "{}"}, "{'a': 1}", {"a": 1}),
        ({"inferred_type_name": "int | None", "default": "None"}, "none", None),
        ({"inferred_type_name": "Optional[float]", "default": "None"}, "2", 2.0),
        ({"inferred_type_name": "None", "default": "250"}, "300", 300),  # untyped: from the default
        ({"inferred_type_name": "None", "default": "'last_90_days'"}, "last_30_days", "last_30_days"),
    ],
)
def test_coercion_follows_the_declared_type(spec, value, expected):
    coerced = plan.coerce_parameter("x", value, spec)
    assert coerced == expected and type(coerced) is type(expected)


def test_exit_codes_and_one_line_per_job(tmp_path, capfd):
    failing = run.main(["--notebooks", str(FIXTURES), "--out", str(tmp_path), "--jobs", "3", "--no-html"])
    out = capfd.readouterr().out  # "started" comes from the worker process
    assert failing == 1
    assert "[03_raises] started" in out
    assert "[03_raises] FAILED in" in out and "planted failure" in out
    assert "index: " in out
    (run_dir,) = tmp_path.iterdir()
    data = json.loads((run_dir / "run.json").read_text())
    assert data["jobs"][0]["html"] is None
    assert not list(run_dir.glob("*.html"))[1:]  # only index.html
    assert (run_dir / "index.html").is_file()

    passing = run.main(["--notebooks", str(FIXTURES), "--out", str(tmp_path), "--jobs", "1", "--workers", "1"])
    out = capfd.readouterr().out
    assert passing == 0
    assert "[01_succeeds] succeeded in" in out
    assert "1 of 1 job(s) succeeded" in out


def task(tmp_path, stem):
    """What run_jobs hands a worker, for calling execute_one in this process (so papermill can be patched)."""
    return {"stem": stem, "path": str(FIXTURES / f"{stem}.ipynb"), "staging": str(tmp_path), "parameters": {},
            "timeout": batch.DEFAULT_TIMEOUT, "html": False, "sandbox": False}


def test_a_kernel_that_dies_before_the_first_cell_gets_one_retry(tmp_path, monkeypatch, capsys):
    import papermill

    real = papermill.execute_notebook
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    outcome = execute.execute_one(task(tmp_path, "01_succeeds"))
    assert len(calls) == 2 and outcome["status"] == "succeeded", outcome
    assert "[01_succeeds] the kernel did not start (RuntimeError); retrying once" in capsys.readouterr().out


def test_a_failure_inside_a_cell_is_not_retried(tmp_path, monkeypatch):
    import papermill

    real = papermill.execute_notebook
    calls = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: calls.append(1) or real(*a, **k))
    outcome = execute.execute_one(task(tmp_path, "03_raises"))
    assert len(calls) == 1 and outcome["status"] == "failed"
