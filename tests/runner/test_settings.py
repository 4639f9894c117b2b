"""Settings are checked once, before any kernel starts: each bad one is one line that says what to set, exit 2.

The checks themselves are ``config.preflight()`` (the client half of issue #12); the runner's part is to
call it once, at the right moment, and to turn its problem lines into the error it prints.
"""

from __future__ import annotations

import pytest

from helpers import config, run
from helpers.runner import plan
from tests.runner.support import FIXTURES

BANANA = "KLAVIYO_REVISION 'banana' is not a revision: set KLAVIYO_REVISION=2026-07-15 (or remove it)"


@pytest.fixture
def project_notebooks(tmp_path, monkeypatch):
    """The runner checks settings for the project's own notebooks; stand one in for them."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_x.ipynb").write_bytes((FIXTURES / "01_succeeds.ipynb").read_bytes())
    monkeypatch.setattr(plan, "default_notebooks_dir", lambda: notebooks)
    return notebooks


@pytest.fixture
def preflight(monkeypatch):
    """config.preflight stood in for: one problem line; records what it saw."""
    seen = []

    def check(require=()):
        import os

        seen.append({name: os.environ.get(name) for name in ("KLAVIYO_BASE_URL", "KLAVIYO_REVISION")})
        return [BANANA]

    monkeypatch.setattr(config, "preflight", check, raising=False)
    return seen


def test_the_runner_calls_preflight_once_before_anything(project_notebooks, preflight, tmp_path, capfd):
    out = tmp_path / "out"
    assert run.main(["--out", str(out)]) == 2
    captured = capfd.readouterr()
    assert captured.err == f"error: {BANANA}\n"
    assert captured.out == ""  # no kernel, no job line
    assert len(preflight) == 1
    assert not out.exists()  # checked before --out is made


def test_a_sandbox_run_checks_the_settings_it_will_hand_the_kernels(project_notebooks, preflight, tmp_path, capfd):
    assert run.main(["--sandbox", "--out", str(tmp_path / "out")]) == 2
    captured = capfd.readouterr()
    assert captured.err == f"error: {BANANA}\n"
    assert "started" not in captured.out
    (seen,) = preflight
    assert seen["KLAVIYO_BASE_URL"].startswith("http://127.0.0.1:") and seen["KLAVIYO_REVISION"] == "2026-07-15"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KLAVIYO_REVISION", "banana"),
        ("KLAVIYO_BASE_URL", "a.klaviyo.com"),
        ("MAVERA_BASE_URL", "app.mavera.io/api/v1"),
        ("WORKBOOKS_CACHE_DIR", "{file}"),
    ],
)
def test_each_bad_setting_is_one_line_naming_it(name, value, project_notebooks, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_" + "a" * 34)
    monkeypatch.setenv("MAVERA_API_KEY", "mvra_live_" + "b" * 32)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    monkeypatch.setenv(name, value.format(file=a_file))
    assert run.main(["--out", str(tmp_path / "out")]) == 2
    captured = capfd.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ") and name in captured.err, captured
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "out").exists()
