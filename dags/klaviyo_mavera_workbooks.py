"""Apache Airflow 3 DAG: the five workbook jobs for every account in ``accounts.toml``, every morning.

One task group per account, one task per job (``acme.job_01`` ... ``acme.job_05``). Each task runs the
project's runner in a subprocess for one account, one job and the run's logical date
(``python -m helpers.run --account acme --jobs 4 --date {{ ds }}``), so backfills land in their own
``outputs/<account>/<date>/`` folders. Contract and set-up: docs/airflow.md.

- Order: from the job registry (``helpers.jobs``): a job waits for the jobs that produce what it consumes
  (04 and 05 wait for 01's personas) and then runs whether they succeeded or not, as the runner does, so a
  failed job fails its own task only.
- Keys: for each variable name the account gives, an Airflow Variable of that name, else a Connection with
  that name in lowercase (its password), else the worker's environment; masked in logs, and handed to
  the runner only through its environment.
- Concurrency: every task of an account runs in the pool ``klaviyo_<account>`` (``python -m helpers.scheduling.accounts
  --pools`` writes them for ``airflow pools import``); Klaviyo's limits are per account, so the pool, not
  the executor, decides how many of its jobs share them at once.
- Retries: exponential backoff when the runner exits 1 (the job ran and failed); none when it exits 2
  (bad parameter, setting or key: the next try would fail the same way) or 3 (partial: the report is
  published without its Mavera part; the task fails, once, naming what is missing, so it shows in the grid
  and in failure alerts without a retry storm against a Mavera account that has no credits or personas).

Why task groups read at parse time rather than one task mapped over the accounts: a pool is fixed per
task when the scheduler creates its instances; a mapped task cannot put its instances into different
pools, and per-account pools are what keeps each account within its own limits.

This file imports nothing from the project's virtualenv: Airflow's environment needs only the standard
library modules ``helpers.scheduling.accounts``, ``helpers.scheduling.runner_contract`` and ``helpers.jobs``; the jobs run in the
project's Python (``WORKBOOKS_PYTHON``, default ``<project>/.venv/bin/python``).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.standard.hooks.subprocess import SubprocessHook
from airflow.sdk import Connection, TaskGroup, TriggerRule, Variable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowNotFoundException
from airflow.sdk.log import mask_secret

DAG_ID = "klaviyo_mavera_workbooks"
PROJECT = Path(os.environ.get("WORKBOOKS_PROJECT") or Path(__file__).resolve().parents[1])
if str(PROJECT) not in sys.path:  # Airflow puts the dags folder on sys.path, not the project above it
    sys.path.insert(0, str(PROJECT))

from helpers import jobs as registry  # noqa: E402
from helpers.scheduling import accounts  # noqa: E402  (needs PROJECT on sys.path)
from helpers.scheduling import runner_contract as scheduling  # noqa: E402


def setting(name: str, default: str | None = None) -> str | None:
    """Airflow Variable ``workbooks_<name>``, else environment ``WORKBOOKS_<NAME>``, else ``default``."""
    try:
        value = Variable.get(f"workbooks_{name}", default=None)
    except Exception:  # no metadata database or API reachable from here (e.g. parsing in a bare process)
        value = None
    return value or os.environ.get(f"WORKBOOKS_{name.upper()}") or default


def jobs_in_order() -> list[tuple[int, list[int]]]:
    """``(job number, numbers of the jobs it waits for)`` in run order, from the job registry."""
    return [
        (job.number, sorted(p.number for p in registry.JOBS if p is not job and set(p.produces) & set(job.consumes)))
        for stage in registry.order(registry.JOBS)
        for job in stage
    ]


ACCOUNTS_PATH = Path(setting("accounts", str(accounts.default_path(PROJECT))) or "")
ACCOUNTS = accounts.load(ACCOUNTS_PATH)  # a bad file is this DAG's one import error, in one line
JOBS = jobs_in_order()
RETRY_DELAY = dt.timedelta(seconds=float(setting("retry_delay_seconds", "300") or 300))
# Past it Airflow stops the task (SIGTERM: the runner stops its kernel, keeps what was published) and retries.
TASK_TIMEOUT = dt.timedelta(seconds=float(setting("task_timeout_seconds", "7200") or 7200))


def secret(name: str) -> str:
    """The value of one secret variable named in the accounts file, masked in every log from here on."""
    value = Variable.get(name, default=None)
    if not value:
        try:
            value = Connection.get(name.lower()).password
        except AirflowNotFoundException:
            value = None
    value = value or os.environ.get(name)
    if not value:
        raise AirflowFailException(
            f"{name} is not set: create an Airflow Variable {name} (or a Connection {name.lower()} with the key "
            f"as its password), or set it in the workers' environment"
        )
    mask_secret(value, name)
    return value


def run_date(context: Any) -> str:
    """The logical date (``ds``); a run without one (a manual trigger in Airflow 3) takes its run_after date."""
    if context.get("ds"):
        return str(context["ds"])
    return pendulum.instance(context["dag_run"].run_after).date().isoformat()


@task(
    retries=int(setting("retries", "3") or 3),
    retry_delay=RETRY_DELAY,
    retry_exponential_backoff=2.0,
    max_retry_delay=dt.timedelta(hours=2),
    execution_timeout=TASK_TIMEOUT,
)
def run_job(account: str, job: int) -> str:
    """Run one job of one account through the runner; returns the account's day folder."""
    no_email = bool(ACCOUNTS[account].email_to)  # the account is mailed once a day, by mail_day
    return _for_account(account, f"job {job:02d}", lambda day, out, python: scheduling.runner_argv(
        account, job, day, out, python=python, accounts_file=ACCOUNTS_PATH, no_email=no_email))


@task(retries=int(setting("retries", "3") or 3), retry_delay=RETRY_DELAY, retry_exponential_backoff=2.0,
      execution_timeout=dt.timedelta(minutes=10))
def mail_day(account: str) -> str:
    """Mail the account's day once all its job tasks have ended (its ``email_to`` in accounts.toml)."""
    return _for_account(account, "summary mail", lambda day, out, python: scheduling.mail_argv(
        account, day, out, python=python, accounts_file=ACCOUNTS_PATH))


def _for_account(account: str, what: str, argv_for: Callable[[str, str | None, str], list[str]]) -> str:
    """A runner task of one account: its keys and environment, the logical date, the runner's command line
    (``argv_for(day, outputs, python)``); returns the account's day folder."""
    chosen = ACCOUNTS[account]
    secrets = {name: secret(name) for name in chosen.secret_variables}
    env = scheduling.task_environment(chosen, secrets, os.environ, ACCOUNTS.values())
    day = run_date(get_current_context())
    out = setting("outputs")
    argv = argv_for(day, out, setting("python", str(PROJECT / ".venv" / "bin" / "python")))
    return _run_runner(argv, env, f"account {account}, {what}, {day}", chosen.output_dir(out or PROJECT / "outputs", day))


def _run_runner(argv: list[str], env: dict[str, str], what: str, day_dir: Path) -> str:
    """Run the runner; Airflow's verdict from its exit code (2: failed, no retry; else retried)."""
    hook = SubprocessHook()
    try:
        result = hook.run_command(argv, env=env, cwd=str(PROJECT))
    except BaseException:  # timeout or the task was stopped: the runner stops its kernels on SIGTERM
        if hook.sub_process is not None and hook.sub_process.poll() is None:
            hook.send_sigterm()
        raise
    verdict = scheduling.verdict(result.exit_code)
    if verdict == "fail":
        raise AirflowFailException(f"{what}: the runner refused (exit 2, no retry): {result.output}")
    if verdict == "partial":
        raise AirflowFailException(f"{what}: partial (exit 3, no retry): the Klaviyo analysis is published, a "
                                   f"Mavera step is missing: {result.output}")
    if verdict == "retry":
        raise AirflowException(f"{what}: failed (exit {result.exit_code}): {result.output}")
    return str(day_dir)


@dag(
    dag_id=DAG_ID,
    schedule=setting("schedule", "0 6 * * *"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["klaviyo", "mavera", "workbooks"],
    doc_md=__doc__,
)
def klaviyo_mavera_workbooks() -> None:
    for account in ACCOUNTS.values():
        with TaskGroup(group_id=account.name, tooltip=f"the five jobs of Klaviyo account {account.name}"):
            tasks = {}
            for number, waits_for in JOBS:
                tasks[number] = run_job.override(
                    task_id=f"job_{number:02d}",
                    pool=account.pool,
                    # After the producers finish either way: 04/05 then use personas from an earlier run.
                    trigger_rule=TriggerRule.ALL_DONE if waits_for else TriggerRule.ALL_SUCCESS,
                )(account=account.name, job=number)
                for upstream in waits_for:
                    tasks[upstream] >> tasks[number]
            if account.email_to:  # one summary mail per account and day, whatever the jobs' outcomes
                mailed = mail_day.override(task_id="mail", pool=account.pool, trigger_rule=TriggerRule.ALL_DONE)(
                    account=account.name)
                for job_task in tasks.values():
                    job_task >> mailed


klaviyo_mavera_workbooks()
