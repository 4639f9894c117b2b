"""Earlier runs on disk: the ``<out root>/<YYYY-MM-DD>/run.json`` manifests a run can compare itself with.

One place decides which run counts as "the last run": the latest day folder on or before this run's date
whose ``run.json`` holds a successful report of the same notebook, of the same kind (sandbox or real
data: the two never compare). On the run's own date that is the report the run is about to replace (the
run executes in a staging folder, so the day's published files are still the earlier run's). The runner
tells kernels where to look (``WORKBOOKS_OUT_ROOT``, ``WORKBOOKS_RUN_DATE``); in JupyterLab it is the
project's ``outputs/`` and today.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT_ROOT_ENV = "WORKBOOKS_OUT_ROOT"
RUN_DATE_ENV = "WORKBOOKS_RUN_DATE"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Previous:
    """One notebook's earlier successful run: its date, what it recorded and its artifact folder."""

    date: str
    metrics: dict[str, Any]
    folder: Path | None = None  # <out root>/<date>/<stem>/
    frames: dict[str, Any] = field(default_factory=dict)  # name -> DataFrame, for tests without files

    def csv(self, name: str):
        """The earlier run's artifact ``name`` as a DataFrame, or None when it is missing or unreadable."""
        if name in self.frames:
            return self.frames[name]
        if self.folder is None or not (self.folder / name).is_file():
            return None
        import pandas as pd

        try:
            return pd.read_csv(self.folder / name)
        except (OSError, ValueError):
            return None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("jobs"), list) else None


def manifests(root: Path, *, sandbox: bool, until: str | None = None) -> list[dict[str, Any]]:
    """Every day's run.json under ``root`` with jobs of this kind, oldest first, dates up to ``until``.

    Each manifest keeps only its jobs of this kind (a day holds one kind, but an old one may be mixed)."""
    found = []
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _DAY.match(p.name)):
        if until is not None and folder.name > until:
            continue
        data = _read(folder / "run.json")
        if data is None:
            continue
        jobs = [j for j in data["jobs"] if isinstance(j, dict) and bool(j.get("sandbox")) == sandbox]
        if jobs:
            found.append({**data, "date": folder.name, "jobs": jobs})
    return found


def succeeded_entry(job: dict[str, Any]) -> dict[str, Any] | None:
    """The successful report a run.json entry stands for: itself, or the one a failed or partial rerun kept.
    A partial report (a Mavera step missing) is not one: its findings lack that step's part."""
    if job.get("status") == "succeeded":
        return job
    kept = job.get("previous_success")
    return kept if isinstance(kept, dict) and kept.get("status", "succeeded") == "succeeded" else None


def previous_run(root: Path, stem: str, *, sandbox: bool, run_date: str) -> Previous | None:
    """The latest earlier successful run of ``stem`` of this kind, on or before ``run_date``; or None."""
    for data in reversed(manifests(root, sandbox=sandbox, until=run_date)):
        entry = next((j for j in data["jobs"] if j.get("notebook") == stem), None)
        good = succeeded_entry(entry) if entry else None
        if good is None:
            continue
        folder = root / data["date"] / stem
        return Previous(data["date"], dict(good.get("metrics") or {}), folder if folder.is_dir() else None)
    return None


def located() -> tuple[Path, str]:
    """(out root, this run's date) for a kernel: from the runner's variables, else ``outputs/`` and today."""
    from helpers import config

    root = os.environ.get(OUT_ROOT_ENV, "").strip()
    date = os.environ.get(RUN_DATE_ENV, "").strip()
    return (Path(root) if root else config.project_root() / "outputs",
            date if _DAY.match(date) else dt.date.today().isoformat())
