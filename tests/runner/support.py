"""Helpers for the runner's tests: the fixture notebooks, a clean environment for module-scoped runs, scans."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "notebooks"

_OUR_VARS = (
    "KLAVIYO_API_KEY", "KLAVIYO_BASE_URL", "KLAVIYO_REVISION", "MAVERA_API_KEY", "MAVERA_BASE_URL",
    "MAVERA_WORKSPACE_ID", "WORKBOOKS_SANDBOX", "WORKBOOKS_RUN_DIR", "WORKBOOKS_PERSONA_PREFIX", "WORKBOOKS_ACCOUNT",
    "WORKBOOKS_ACCOUNTS", "WORKBOOKS_ALLOW_HTTP",
)


@contextlib.contextmanager
def clean_env(cache_dir: Path) -> Iterator[pytest.MonkeyPatch]:
    """What the lead's autouse ``isolated_env`` does, for fixtures wider than one test."""
    with pytest.MonkeyPatch.context() as mp:
        for name in _OUR_VARS:
            mp.delenv(name, raising=False)
        mp.setenv("WORKBOOKS_IGNORE_DOTENV", "1")
        mp.setenv("WORKBOOKS_CACHE_DIR", str(cache_dir))
        mp.setenv("MPLBACKEND", "Agg")
        yield mp


def quiet(_line: str) -> None:
    """An ``echo`` for run_jobs that keeps test output short."""


def hrefs(html_text: str) -> list[str]:
    return re.findall(r'href="([^"#]+)"', html_text)


def files_containing(root: Path, needles: list[str]) -> dict[str, list[str]]:
    """Every file under ``root`` (any type) that contains one of ``needles``, as relative paths."""
    hits: dict[str, list[str]] = {}
    encoded = [n.encode() for n in needles]
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found = [n.decode() for n in encoded if n in data]
        if found:
            hits[str(path.relative_to(root))] = found
    return hits


# ---------------------------------------------------------------------------------------------- hostile set-ups


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A notebook made on the spot: a ``parameters`` cell (typed, commented literals), then ``cells``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(source) for source in cells)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "4m", *, read_only: bool = False) -> Iterator[Path]:
    """A small RAM file system mounted at ``path`` for the test: a disk that fills, or one that is read-only.

    Root ignores permission bits, so a read-only mount is the honest way to make a folder root cannot
    write. Skips the test when this machine cannot mount (not root, or no CAP_SYS_ADMIN).
    """
    import subprocess

    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
