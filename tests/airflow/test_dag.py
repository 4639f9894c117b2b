"""The Airflow DAG under pinned Apache Airflow 3, in its own virtualenv, against the real runner.

Airflow is installed from ``requirements-airflow.txt`` into a cached virtualenv (tests/airflow/support.py);
each test gets its own ``AIRFLOW_HOME`` with a SQLite database. The end-to-end test runs the whole DAG with
``airflow dags test`` for two sandboxes standing in for two accounts, one job of the second made to fail.
It is the longest test of the suite and mostly waits for its 10 tasks, so it has an xdist group of its own:
the parse and one-task tests run beside it on another worker instead of queueing behind it.

``WORKBOOKS_PYTHON`` (default: this interpreter) is the project Python the DAG runs the runner with.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers.scheduling import accounts as accounts_module
from sandbox import Sandbox
from tests.airflow.support import DAG_ID, GRAPH_SCRIPT, Airflow, ensure_venv, pinned_version
from tests.runner.support import files_containing

pytestmark = pytest.mark.airflow
# One worker runs the short tests one by one; the DAG run has a worker of its own (the venv is built once,
# under a file lock, by whichever comes first).
SHORT = pytest.mark.xdist_group("airflow")

DATE = "2026-07-15"
JOBS = range(1, 6)


def project_python() -> str:
    return os.environ.get("WORKBOOKS_PYTHON") or sys.executable


def toml(accounts: dict[str, dict[str, Any]]) -> str:
    """An accounts file: flat settings, then [accounts.NAME.parameters] and [accounts.NAME.jobs.NN] tables."""
    lines = []
    for name, entry in accounts.items():
        lines.append(f"[accounts.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in entry.items() if key not in {"parameters", "jobs"}]
        if entry.get("parameters"):
            lines.append(f"[accounts.{name}.parameters]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in entry["parameters"].items()]
        for number, table in (entry.get("jobs") or {}).items():
            lines.append(f"[accounts.{name}.jobs.{number}]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def leaks(paths: list[Path], keys: list[str]) -> dict[str, list[str]]:
    """Files among ``paths`` (files or folders) holding a key. Not the metadata database: it stores the
    Variables and Connections, which is where keys belong."""
    found: dict[str, list[str]] = {}
    for path in paths:
        if path.is_dir():
            found.update({f"{path.name}/{k}": v for k, v in files_containing(path, keys).items()})
        elif path.is_file():
            hits = [key for key in keys if key in path.read_text(errors="replace")]
            if hits:
                found[path.name] = hits
    return found


def keys_entry(name: str, **settings: Any) -> dict[str, Any]:
    upper = name.upper().replace("-", "_")
    return {"klaviyo_api_key_env": f"{upper}_KLAVIYO_API_KEY", "mavera_api_key_env": f"{upper}_MAVERA_API_KEY",
            **settings}


@pytest.fixture(scope="session")
def airflow_venv() -> Path:
    venv, stamp = ensure_venv()
    assert stamp["airflow"] == pinned_version()
    return venv


def home(venv: Path, tmp_path: Path, accounts: dict[str, dict[str, Any]], **env: str) -> Airflow:
    path = tmp_path / "accounts.toml"
    path.write_text(toml(accounts))
    return Airflow.create(venv, tmp_path / "airflow", WORKBOOKS_ACCOUNTS=str(path),
                          WORKBOOKS_PYTHON=project_python(), **env)


# ---------------------------------------------------------------------------------------------- parsing


@SHORT
def test_the_pinned_airflow_is_a_3x_release(airflow_venv, tmp_path):
    version = subprocess.run([str(airflow_venv / "bin" / "airflow"), "version"], capture_output=True, text=True,
                             timeout=300, env={**os.environ, "AIRFLOW_HOME": str(tmp_path)})
    assert version.stdout.strip().splitlines()[-1] == pinned_version()
    assert pinned_version().startswith("3.")


@SHORT
def test_dag_parses_into_one_task_group_per_account(airflow_venv, tmp_path):
    airflow = home(airflow_venv, tmp_path, {"north": keys_entry("north"), "south-eu": keys_entry("south-eu",
                                                                                           concurrency=2)})
    airflow.run("dags", "reserialize")
    assert airflow.json("dags", "list-import-errors") == []
    assert [d["dag_id"] for d in airflow.json("dags", "list")] == [DAG_ID]

    graph = airflow.python(GRAPH_SCRIPT)
    assert graph["errors"] == {}
    tasks = graph["tasks"]
    assert sorted(tasks) == sorted(f"{a}.job_{n:02d}" for a in ("north", "south-eu") for n in JOBS)
    for task_id, task in tasks.items():
        account, job = task_id.split(".")
        assert task["pool"] == f"klaviyo_{account}", task_id  # the account's pool caps its tasks
        assert all(up.startswith(f"{account}.") for up in task["upstream"]), task  # accounts never wait on each other
        # A job waits for its producers, then runs whether they succeeded or not (its own task fails alone).
        assert task["trigger_rule"].endswith("all_done" if task["upstream"] else "all_success"), task
        assert (task["retries"], task["backoff"]) == (3, 2.0)
        if job in {"job_04", "job_05"}:  # they ask the personas job 01 makes
            assert f"{account}.job_01" in task["upstream"]
    assert tasks["north.job_01"]["upstream"] == []


@SHORT
def test_a_bad_accounts_file_is_the_dags_one_import_error(airflow_venv, tmp_path):
    key = f"pk_{secrets.token_hex(12)}"
    airflow = home(airflow_venv, tmp_path, {"north": keys_entry("north", klaviyo_api_key_env=key)})
    airflow.run("dags", "reserialize")
    errors = airflow.json("dags", "list-import-errors", check=False)  # it exits 1 when there are some
    assert [e["filepath"] for e in errors] == ["klaviyo_mavera_workbooks.py"]
    last = errors[0]["error"].strip().splitlines()[-1]
    assert last.startswith("helpers.scheduling.accounts.AccountsError: ") and "looks like an API key" in last
    assert key not in errors[0]["error"]


# ---------------------------------------------------------------------------------------------- one task


@pytest.fixture(scope="module")
def keyed_home(airflow_venv, tmp_path_factory):
    """north's keys are an Airflow Variable and a Connection; south's are nowhere."""
    tmp = tmp_path_factory.mktemp("keyed")
    keys = {"klaviyo": f"pk_sbx_{secrets.token_hex(12)}", "mavera": f"mvra_test_{secrets.token_hex(12)}"}
    airflow = home(
        airflow_venv, tmp,
        {
            # A value of the wrong type: the runner refuses it before anything runs (exit 2).
            "north": keys_entry("north", klaviyo_base_url="http://127.0.0.1:9", jobs={"04": {"min_lift": "high"}}),
            "south": keys_entry("south"),
        },
        WORKBOOKS_IGNORE_DOTENV="1", WORKBOOKS_OUTPUTS=str(tmp / "outputs"), WORKBOOKS_CACHE_DIR=str(tmp / "cache"),
    )
    airflow.import_json("variables", {"NORTH_KLAVIYO_API_KEY": keys["klaviyo"]})
    airflow.import_json("connections", {"north_mavera_api_key": {"conn_type": "generic", "password": keys["mavera"]}})
    airflow.import_json("pools", accounts_module.pools(accounts_module.load(tmp / "accounts.toml")))
    return airflow, keys, tmp


@SHORT
def test_a_job_the_runner_refuses_fails_at_once_and_no_key_is_logged(keyed_home):
    airflow, keys, tmp = keyed_home
    log = tmp / "north.job_04.log"
    airflow.run("tasks", "test", DAG_ID, "north.job_04", DATE, log=log)
    text = log.read_text()
    command = re.search(r"Running command: (\[.*?\])", text)
    assert command, text[-3000:]
    argv = json.loads(command.group(1).replace("'", '"'))
    assert argv[:3] == [project_python(), "-m", "helpers.run"]
    assert argv[3:] == ["--account", "north", "--accounts", str(tmp / "accounts.toml"), "--jobs", "4",
                        "--date", DATE, "--workers", "1", "--out", str(tmp / "outputs")]
    assert "the runner refused (exit 2, no retry)" in text
    assert "new_state=failed" in text and "up_for_retry" not in text  # exit 2: failed, never retried
    # The runner's own one line about the account's bad override.
    assert re.search(r"error: account north \[jobs\.04\] min_lift: parameter min_lift='high' should be", text)
    assert leaks([log, tmp / "outputs", airflow.home / "logs"], list(keys.values())) == {}


@SHORT
def test_a_task_whose_keys_are_nowhere_fails_naming_the_variable(keyed_home):
    airflow, keys, tmp = keyed_home
    log = tmp / "south.job_01.log"
    airflow.run("tasks", "test", DAG_ID, "south.job_01", DATE, log=log)
    text = log.read_text()
    assert "SOUTH_KLAVIYO_API_KEY is not set: create an Airflow Variable SOUTH_KLAVIYO_API_KEY" in text
    assert "new_state=failed" in text and "Running command" not in text  # the runner never started


# ---------------------------------------------------------------------------------------------- the DAG run


TRUTH_CHECKS = {  # job -> (metric, truth key): values that differ between seeds 7 and 11
    "01_persona_enrichment": [("profiles_without_predictions", "profiles_without_predictions")],
    "02_flow_content_refresh": [("underperforming_message_ids", "underperforming_message_ids")],
    "03_segment_overlap": [("redundant_pairs", "redundant_pairs"), ("tiny_segments", "tiny_segments")],
    "05_sms_vs_email_testing": [("winner_by_metric", "winner_by_metric")],
}


@pytest.mark.notebook
@pytest.mark.xdist_group("airflow-dag-run")
def test_two_accounts_run_end_to_end_and_a_bad_parameter_fails_only_its_task(airflow_venv, tmp_path):
    out = tmp_path / "outputs"
    with Sandbox(seed=7, rate_scale=0) as first, Sandbox(seed=11, rate_scale=0) as second:
        def at(sb):
            return {"klaviyo_base_url": sb.klaviyo_base_url, "mavera_base_url": sb.mavera_base_url,
                    "mavera_workspace_id": sb.mavera_workspace_id}

        accounts = {
            "alpha": keys_entry("alpha", **at(first)),
            # beta's job 02 gets a value of the wrong type: that task alone fails, its other four run.
            "beta": keys_entry("beta", **at(second), jobs={"02": {"min_recipients": "high"}}),
        }
        keys = [first.klaviyo_api_key, first.mavera_api_key, second.klaviyo_api_key, second.mavera_api_key]
        airflow = home(
            airflow_venv, tmp_path, accounts,
            WORKBOOKS_OUTPUTS=str(out), WORKBOOKS_CACHE_DIR=str(tmp_path / "cache"), WORKBOOKS_IGNORE_DOTENV="1",
            WORKBOOKS_SANDBOX="1", KLAVIYO_RATE_SCALE="0", MPLBACKEND="Agg", MAVERA_POLL_SECONDS="0.05",
            WORKBOOKS_RETRIES="1", WORKBOOKS_RETRY_DELAY_SECONDS="1",
            # Keys from all three places: alpha's Mavera key from the workers' environment, its Klaviyo key
            # from a Variable, beta's from Connections.
            ALPHA_MAVERA_API_KEY=first.mavera_api_key,
        )
        airflow.import_json("variables", {"ALPHA_KLAVIYO_API_KEY": first.klaviyo_api_key})
        airflow.import_json("connections", {
            "beta_klaviyo_api_key": {"conn_type": "generic", "password": second.klaviyo_api_key},
            "beta_mavera_api_key": {"conn_type": "generic", "password": second.mavera_api_key},
        })
        airflow.import_json("pools", accounts_module.pools(accounts_module.load(tmp_path / "accounts.toml")))
        log = tmp_path / "dags-test.log"
        # A failed task fails the run (and may fail the command): the states below say which.
        airflow.run("dags", "test", DAG_ID, DATE, log=log, timeout=5400, check=False)
        truths = {"alpha": first.truth(), "beta": second.truth()}

    text = log.read_text()
    (run,) = airflow.json("dags", "list-runs", DAG_ID)
    states = {t["task_id"]: t["state"] for t in airflow.json("tasks", "states-for-dag-run", DAG_ID, run["run_id"])}
    expected = {f"{a}.job_{n:02d}": "success" for a in accounts for n in JOBS} | {"beta.job_02": "failed"}
    assert states == expected, text[-5000:]

    # The refused job: the runner's one line, the DAG's verdict, and one try only (exit 2 is not retried).
    assert re.search(r"error: account beta \[jobs\.02\] min_recipients: parameter min_recipients='high' should be", text)
    assert "the runner refused (exit 2, no retry)" in text
    commands = [json.loads(c.replace("'", '"')) for c in re.findall(r"Running command: (\[.*?\])", text)]
    ran = [(argv[argv.index("--account") + 1], argv[argv.index("--jobs") + 1]) for argv in commands]
    assert ran.count(("beta", "2")) == 1 and set(ran) == {(a, str(n)) for a in accounts for n in JOBS}, ran

    refused = {"beta": "02_flow_content_refresh"}  # never ran, so it is not in beta's run.json
    for account, truth in truths.items():
        day = out / account / DATE
        jobs = {job["notebook"]: job for job in json.loads((day / "run.json").read_text())["jobs"]}
        assert refused.get(account) not in jobs and len(jobs) == 5 - (account in refused), (account, sorted(jobs))
        assert [job["status"] for job in jobs.values()] == ["succeeded"] * len(jobs), account
        assert all((day / job["html"]).is_file() and (day / job["ipynb"]).is_file() for job in jobs.values())
        for notebook, checks in TRUTH_CHECKS.items():
            for metric, key in checks if notebook in jobs else ():
                assert jobs[notebook]["metrics"][metric] == truth[key], (account, notebook, metric)
        top = jobs["04_product_affinity_focus_group"]["metrics"]["top_pairs"]
        assert [[a, b] for a, b, _ in top[: len(truth["top_pairs"])]] == truth["top_pairs"], account
    assert truths["alpha"]["redundant_pairs"] != truths["beta"]["redundant_pairs"]  # the seeds tell them apart

    assert leaks([log, out, airflow.home / "logs"], keys) == {}
