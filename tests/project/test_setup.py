"""The Makefile's venv bootstrap, and test-suite guards that would hide a broken import."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# `make test` runs these tests: a nested make would print "Entering directory" and share the jobserver.
NOT_NESTED = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
ROOT = Path(__file__).resolve().parents[2]


def test_make_recreates_a_venv_that_has_no_pip(tmp_path):
    if shutil.which("make") is None:
        raise AssertionError("make is not installed (apt-get install make)")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        (tmp_path / name).write_text("")  # nothing to install: offline and quick
    # What `python -m venv` leaves when ensurepip is missing or the user pressed Ctrl-C: a python, no pip.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / ".venv")], check=True)
    python = sys.executable
    done = subprocess.run(["make", "--no-print-directory", ".venv/.installed", f"PYTHON={python}"], cwd=tmp_path, env=NOT_NESTED,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert subprocess.run([str(tmp_path / ".venv/bin/python"), "-m", "pip", "--version"],
                          capture_output=True).returncode == 0
    assert (tmp_path / ".venv/.installed").is_file()
    # One line before the install starts and one when it is done; nothing from it on later runs.
    assert done.stdout.splitlines() == [
        "installing pinned dependencies into .venv, about 2–3 minutes the first time", "installed: .venv is ready"]
    again = subprocess.run(["make", "--no-print-directory", "-s", ".venv/.installed", f"PYTHON={python}"], cwd=tmp_path, env=NOT_NESTED,
                           capture_output=True, text=True)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_no_test_skips_when_a_project_module_fails_to_import():
    guarded = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        if re.search(r"importorskip\(\s*[\"']helpers", path.read_text())
    ]
    assert guarded == []
