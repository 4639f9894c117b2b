"""How a scheduler runs one account's job: the runner's command line, its exit codes, the task's environment.

The contract (docs/airflow.md):

    <python> -m helpers.run --account NAME [--accounts FILE] --jobs N --date YYYY-MM-DD [--out DIR] --workers 1 [--no-email]

and, for an account whose entry names ``email_to``, once all its jobs have ended:

    <python> -m helpers.run --account NAME [--accounts FILE] --date YYYY-MM-DD --mail-only [--out DIR]

exits 0 when the job succeeded, 1 when it failed (worth a retry), 2 when it could not start or failed for a
reason a retry cannot fix (bad parameter, setting or key), 3 when it is partial (its Klaviyo analysis is
published, a Mavera step is missing: no retry, but the task fails so someone sees it), 130/143 when interrupted. Keys reach the runner
only through its environment, under the variable names the accounts file gives; never in argv.

Standard library only, like :mod:`helpers.scheduling.accounts`: the DAG imports it inside Airflow's environment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

from helpers.scheduling.accounts import SECRETS, Account

EXIT_OK = 0
EXIT_JOB_FAILED = 1  # the job ran and failed: a timeout, a dead kernel, an API outage; retry with backoff
EXIT_BAD_SETUP = 2  # bad flag, parameter, setting or key: the same command fails the same way; never retry
# The report is published without its Mavera part (no personas, no credits, refused, an outage after the
# client's retries): a retry minutes later would spend the task's time to miss it again (or, after an outage,
# redo the whole Klaviyo fetch for it), so no retry; the task fails so the missing part is seen.
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = (130, 143)  # Ctrl-C / SIGTERM (a scheduler stopping the task); published reports kept
ACCOUNT_FLAG = "--account"

# The scheduler's own variables (connections, variables, config, secrets backends, its internal
# ``__AIRFLOW_*``) are not the job's.
_WITHHELD_PREFIX = "AIRFLOW"
_WITHHELD = {"VIRTUAL_ENV", "PYTHONHOME", "KLAVIYO_RATE_SCALE", *SECRETS.values()}


def runner_argv(
    account: str,
    job: int,
    date: str | dt.date,
    out: str | Path | None = None,
    *,
    python: str | Path = "python",
    accounts_file: str | Path | None = None,
    no_email: bool = False,
) -> list[str]:
    """The runner command for one account and one job on ``date`` (the scheduler's logical date); ``no_email``
    for an account whose entry names ``email_to`` (the DAG mails its day once, with :func:`mail_argv`)."""
    day = date.isoformat() if isinstance(date, dt.date) else dt.date.fromisoformat(str(date)).isoformat()
    argv = [str(python), "-m", "helpers.run", ACCOUNT_FLAG, account]
    if accounts_file is not None:
        argv += ["--accounts", str(accounts_file)]
    # One job per task; the task's pool, not the runner, decides what runs beside it.
    argv += ["--jobs", str(int(job)), "--date", day, "--workers", "1"]
    if out is not None:
        argv += ["--out", str(out)]
    # One task is one job: an account that is mailed gets its summary once, from mail_argv's task after them all.
    return argv + (["--no-email"] if no_email else [])


def mail_argv(
    account: str,
    date: str | dt.date,
    out: str | Path | None = None,
    *,
    python: str | Path = "python",
    accounts_file: str | Path | None = None,
) -> list[str]:
    """The runner command that mails the account's day (its ``email_to``) once every job task has ended."""
    day = date.isoformat() if isinstance(date, dt.date) else dt.date.fromisoformat(str(date)).isoformat()
    argv = [str(python), "-m", "helpers.run", ACCOUNT_FLAG, account]
    if accounts_file is not None:
        argv += ["--accounts", str(accounts_file)]
    argv += ["--date", day, "--mail-only"]
    if out is not None:
        argv += ["--out", str(out)]
    return argv


def verdict(exit_code: int) -> str:
    """``"ok"``, ``"fail"`` (no retry can help), ``"partial"`` (published without its Mavera part: fail the
    task, no retry) or ``"retry"`` for a runner exit code."""
    if exit_code == EXIT_OK:
        return "ok"
    if exit_code == EXIT_BAD_SETUP:
        return "fail"
    if exit_code == EXIT_PARTIAL:
        return "partial"
    return "retry"  # 1, an interrupt (the task was stopped), or a crash (negative: killed by a signal)


def task_environment(
    account: Account,
    secrets: Mapping[str, str],
    base: Mapping[str, str],
    accounts: Iterable[Account] = (),
) -> dict[str, str]:
    """The environment of the runner process for ``account``'s task.

    ``base`` is the worker's environment (``os.environ``); ``secrets`` maps this account's secret variable
    names to their values (looked up by the scheduler). Withheld from ``base``: the scheduler's own
    variables (``AIRFLOW*``: its connections, variables and config), the standard key names, and every
    other account's secret variables, so a job can only ever see its own account's keys.

    ``KLAVIYO_RATE_SCALE`` becomes the worker's value divided by the account's ``concurrency``: that many
    tasks of one account may run at once (its pool's slots), each pacing against its share of the
    account's limits, so together they stay within them.
    """
    withheld = set(_WITHHELD)
    for other in (*accounts, account):
        withheld.update(other.secret_variables)
    env = {
        name: value
        for name, value in base.items()
        if name not in withheld and not name.lstrip("_").startswith(_WITHHELD_PREFIX)
    }
    missing = [name for name in account.secret_variables if not (secrets.get(name) or "").strip()]
    if missing:
        raise ValueError(f"account {account.name}: no value for {', '.join(missing)}")
    env.update({name: secrets[name] for name in account.secret_variables})
    scale = float(base.get("KLAVIYO_RATE_SCALE") or 1.0)
    if account.concurrency > 1 or scale != 1.0:
        env["KLAVIYO_RATE_SCALE"] = repr(scale / account.concurrency)
    return env
