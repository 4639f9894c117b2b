"""The account a run is for (``--account NAME``): its entry in the accounts file, the environment its kernels
see, and its parameter overrides as layers under ``-p``. The contract: docs/airflow.md, "The runner contract".

Everything here is checked before any kernel starts; a problem is a :class:`RunError` (one line, exit 2)
that names files, accounts and variables, never a key's value.
"""

from __future__ import annotations

import os
from pathlib import Path

from helpers import config
from helpers.runner.plan import Layer
from helpers.runner.results import RunError
from helpers.scheduling import accounts
from helpers.scheduling.accounts import Account, AccountsError

FILE_VARIABLE = "WORKBOOKS_ACCOUNTS"


def accounts_file(given: str | Path | None = None) -> Path:
    """``--accounts FILE``, else ``$WORKBOOKS_ACCOUNTS``, else ``accounts.toml`` in the project."""
    chosen = given or os.environ.get(FILE_VARIABLE, "").strip()
    return Path(chosen).expanduser() if chosen else accounts.default_path(config.project_root())


def load(name: str, given: str | Path | None = None) -> Account:
    """Account ``name`` of the accounts file (see :func:`accounts_file`)."""
    path = accounts_file(given)
    try:
        loaded = accounts.load(path)
    except AccountsError as exc:
        raise RunError(str(exc)) from None
    if name not in loaded:
        raise RunError(f"account {name} is not in {path} (accounts: {', '.join(loaded)})")
    return loaded[name]


def refuse_sandbox(name: str, sandbox: bool) -> None:
    if sandbox:
        raise RunError(
            f"--sandbox with --account {name}: an account runs against its own APIs with its own keys; "
            "drop one of the two"
        )


def environment(account: Account) -> dict[str, str]:
    """The standard variables for ``account``'s run (its keys, API roots, cache folder, persona prefix),
    read from this process's environment after ``.env``; a variable that is not set names itself."""
    config.load_env()  # .env may hold the variables the accounts file names
    try:
        return account.environment(os.environ)
    except AccountsError as exc:
        raise RunError(str(exc)) from None


def secrets(account: Account) -> list[str]:
    """The values of the account's key variables, for redacting text printed before its run set them."""
    return [value for name in account.secret_variables if (value := os.environ.get(name, "").strip())]


def layers(account: Account) -> list[Layer]:
    """The account's overrides, under ``-p``: ``[parameters]`` for every job that declares them, then each
    ``[jobs.NN]`` for its job."""
    where = f"account {account.name}"
    return [
        Layer(f"{where} [parameters]", dict(account.parameters_all)),
        *(Layer(f"{where} [jobs.{number:02d}]", dict(values), job=number)
          for number, values in sorted(account.parameters_by_job.items())),
    ]
