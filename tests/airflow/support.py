"""Pinned Apache Airflow in its own virtualenv, and an ``AIRFLOW_HOME`` to run its command line in.

The virtualenv is built once per pin set (``requirements-airflow.txt``) and Python version, under
``~/.cache/klaviyo-mavera-workbooks/airflow-venv-<hash>/``, and reused while the pins are unchanged; a
half-built one (no ``.complete`` stamp) is rebuilt. Airflow never enters the project's ``.venv``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements-airflow.txt"
DAG_ID = "klaviyo_mavera_workbooks"
INSTALL_TIMEOUT = 1800  # seconds; a cold install from PyPI takes a few minutes
COMMAND_TIMEOUT = 900


def pinned_version() -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("apache-airflow=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{REQUIREMENTS.name} pins no apache-airflow==")


def venv_dir() -> Path:
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "klaviyo-mavera-workbooks" / f"airflow-venv-{key}"


def ensure_venv() -> tuple[Path, dict[str, Any]]:
    """The Airflow virtualenv, built if missing; with its stamp (``{"airflow", "install_seconds"}``)."""
    venv = venv_dir()
    stamp = venv / ".complete"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes never build the same venv at once
        if not stamp.exists():
            shutil.rmtree(venv, ignore_errors=True)
            began = time.monotonic()
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            pip = subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "-r", str(REQUIREMENTS)],
                capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
            )
            if pip.returncode != 0:
                tail = "\n".join(pip.stderr.splitlines()[-15:])
                raise RuntimeError(f"installing {REQUIREMENTS.name} into {venv} failed:\n{tail}")
            stamp.write_text(json.dumps(
                {"airflow": pinned_version(), "install_seconds": round(time.monotonic() - began, 1)}
            ))
    return venv, json.loads(stamp.read_text())


@dataclass
class Airflow:
    """One ``AIRFLOW_HOME`` (SQLite), the DAG folder of this project, and the command line to drive it."""

    venv: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, venv: Path, home: Path, **extra: str) -> Airflow:
        home.mkdir(parents=True, exist_ok=True)
        env = {name: value for name, value in os.environ.items()
               if not name.startswith("AIRFLOW") and name not in {"VIRTUAL_ENV", "PYTHONPATH"}}
        env.update({
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONDONTWRITEBYTECODE": "1",
            **extra,
        })
        airflow = cls(venv, home, env)
        airflow.run("db", "migrate")
        return airflow

    def run(self, *args: str, log: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = COMMAND_TIMEOUT, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``airflow ARGS``; fails with its output's tail unless it exits 0 (or ``check`` is off).
        ``log`` keeps the whole output."""
        done = subprocess.run(
            [str(self.venv / "bin" / "airflow"), *args], capture_output=True, text=True, timeout=timeout,
            env={**self.env, **(env or {})}, cwd=self.home,
        )
        if log is not None:
            log.write_text(done.stdout + done.stderr)
        if check and done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
            raise AssertionError(f"airflow {' '.join(args)} exited {done.returncode}:\n{tail}")
        return done

    def json(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> Any:
        """The JSON an ``airflow ... -o json`` command prints (after any warning lines)."""
        out = self.run(*args, "-o", "json", env=env, check=check).stdout
        for line in reversed(out.splitlines()):
            if line.startswith(("[", "{")):
                return json.loads(line)
        raise AssertionError(f"airflow {' '.join(args)} printed no JSON:\n{out[-2000:]}")

    def python(self, code: str, env: dict[str, str] | None = None) -> Any:
        """Run ``code`` in Airflow's interpreter with this home; it prints one JSON line last."""
        done = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT, env={**self.env, **(env or {})}, cwd=self.home,
        )
        if done.returncode != 0:
            raise AssertionError(f"airflow python exited {done.returncode}:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def import_json(self, kind: str, data: dict[str, Any]) -> None:
        """``airflow variables|connections|pools import``: the file is removed at once (it may hold keys)."""
        path = self.home / f".{kind}.json"
        path.write_text(json.dumps(data))
        try:
            self.run(kind, "import", str(path))
        finally:
            path.unlink()

    def logs(self) -> Iterator[Path]:
        folder = self.home / "logs"
        return (p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else iter(())


# Task graph as the DAG processor sees it: task id -> pool, upstream ids, trigger rule, retries.
GRAPH_SCRIPT = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=DAGS_FOLDER)
dag = bag.get_dag(DAG_ID)
tasks = {} if dag is None else {
    t.task_id: {"pool": t.pool, "upstream": sorted(t.upstream_task_ids),
                "trigger_rule": getattr(t.trigger_rule, "value", t.trigger_rule),
                "retries": t.retries, "backoff": t.retry_exponential_backoff}
    for t in dag.tasks
}
errors = {path: text.strip().splitlines()[-1] for path, text in bag.import_errors.items()}
print(json.dumps({"errors": errors, "tasks": tasks}))
""".replace("DAGS_FOLDER", repr(str(ROOT / "dags"))).replace("DAG_ID", repr(DAG_ID))
