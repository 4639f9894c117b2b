"""Many Klaviyo accounts in one project: ``accounts.toml`` names each account and where its secrets live.

An account entry holds the *names* of the environment variables that hold its keys, never the keys, so
the file can be reviewed and versioned like code while the values stay in a secret store (an Airflow
Variable or Connection, a Kubernetes secret, the scheduler's environment). :meth:`Account.environment`
maps those variables onto the standard names the clients read (``KLAVIYO_API_KEY``, ...), so notebooks
and clients never learn that accounts exist.

Standard library only: the Airflow DAG imports this module in Airflow's own environment, which has none
of the project's dependencies.

    [accounts.acme]                                   # name: lowercase letters, digits, - and _
    klaviyo_api_key_env = "ACME_KLAVIYO_API_KEY"      # the variable's NAME
    mavera_api_key_env = "MAVERA_API_KEY"             # one Mavera key may serve many accounts
    mavera_workspace_id = "ws_acme"                   # optional; likewise klaviyo_base_url, ...
    concurrency = 1                                   # Airflow tasks of this account at once
    email_to = ["lead@acme.example"]                  # optional: each run's summary by mail (--email-to)
    pdf = true                                        # optional: print the reports to PDF too (--pdf)

    [accounts.acme.parameters]                        # every job that declares them
    max_credits = 500

    [accounts.acme.jobs.04]                           # job 04 only (wins over [parameters])
    min_lift = 2.5
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLE = "accounts.example.toml"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")  # as helpers.config's check
# Values that look like keys: a file of names must never hold one (it gets committed, mailed, pasted).
KEY_LIKE = re.compile(r"^(pk_|mvra_)[A-Za-z0-9_]{6,}")
def default_cache_dir() -> Path:
    """As helpers.config.default_cache_dir on Linux (platformdirs' rule, with the standard library only):
    ``$XDG_CACHE_HOME`` when set to an absolute path, else ``~/.cache``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "klaviyo-mavera-workbooks"
PERSONA_PREFIX = "CLV tier: "  # as helpers.analysis.customers.PERSONA_PREFIX
POOL_PREFIX = "klaviyo_"

# Settings an account may give, and the standard variable each becomes in :meth:`Account.environment`.
SECRETS = {"klaviyo_api_key_env": "KLAVIYO_API_KEY", "mavera_api_key_env": "MAVERA_API_KEY"}
SETTINGS = {
    "klaviyo_base_url": "KLAVIYO_BASE_URL",
    "klaviyo_revision": "KLAVIYO_REVISION",
    "mavera_base_url": "MAVERA_BASE_URL",
    "mavera_workspace_id": "MAVERA_WORKSPACE_ID",
}
OTHER_KEYS = {"persona_prefix", "concurrency", "parameters", "jobs", "email_to", "pdf"}
ALLOWED = set(SECRETS) | set(SETTINGS) | OTHER_KEYS


class AccountsError(ValueError):
    """The accounts file is missing or malformed, or an account's secret is not set: one line says what to do."""


@dataclass(frozen=True)
class Account:
    """One Klaviyo account: where its secrets are, its optional settings and parameter overrides."""

    name: str
    klaviyo_api_key_env: str
    mavera_api_key_env: str
    settings: dict[str, str] = field(default_factory=dict)  # keys of SETTINGS
    persona_prefix: str = ""
    concurrency: int = 1
    parameters_all: dict[str, Any] = field(default_factory=dict)
    parameters_by_job: dict[int, dict[str, Any]] = field(default_factory=dict)
    email_to: tuple[str, ...] = ()  # where each run's summary mail goes (the runner's --email-to wins)
    pdf: bool = False  # print the reports to PDF as well (the runner's --pdf also switches it on)

    @property
    def secret_variables(self) -> tuple[str, str]:
        """The names of the variables holding this account's keys (Klaviyo, Mavera)."""
        return self.klaviyo_api_key_env, self.mavera_api_key_env

    @property
    def pool(self) -> str:
        """The Airflow pool that caps this account's concurrent tasks (its Klaviyo limits are per account)."""
        return f"{POOL_PREFIX}{self.name}"

    def environment(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The standard variables for this account's run, read from ``environ`` (e.g. ``os.environ``).

        Every standard name is in the result: a setting the account leaves out is ``""``, which the
        clients read as "use the default", so a stray ``KLAVIYO_BASE_URL`` of another account in the
        scheduler's environment never applies here. Caches and persona names are per account: the HTTP
        cache keys on URLs, which two accounts share, and one Mavera key may serve several accounts.
        """
        env: dict[str, str] = {}
        for attribute, standard in SECRETS.items():
            variable = getattr(self, attribute)
            value = (environ.get(variable) or "").strip()
            if not value:
                raise AccountsError(
                    f"account {self.name}: {variable} is not set; it holds the account's {standard} "
                    f"(named by {attribute} in the accounts file): set it in the environment or the scheduler"
                )
            env[standard] = value
        for attribute, standard in SETTINGS.items():
            env[standard] = self.settings.get(attribute, "")
        env["WORKBOOKS_CACHE_DIR"] = str(self.cache_dir(environ.get("WORKBOOKS_CACHE_DIR") or default_cache_dir()))
        env["WORKBOOKS_PERSONA_PREFIX"] = self.persona_prefix
        env["WORKBOOKS_ACCOUNT"] = self.name
        return env

    def output_dir(self, out_root: str | Path, date: str | dt.date) -> Path:
        """``<out_root>/<account>/<date>/``: each account's days apart from every other's."""
        day = date.isoformat() if isinstance(date, dt.date) else dt.date.fromisoformat(str(date)).isoformat()
        return Path(out_root) / self.name / day

    def cache_dir(self, cache_root: str | Path) -> Path:
        """``<cache_root>/<account>/``: no cached response of one account is ever served to another."""
        return Path(cache_root) / self.name

    def parameters(self, job: int) -> dict[str, Any]:
        """Overrides for job ``job``: the account's ``[parameters]``, then ``[jobs.NN]`` on top."""
        return {**self.parameters_all, **self.parameters_by_job.get(int(job), {})}


def persona_prefix(name: str) -> str:
    """``CLV tier (acme): ``: unlike the plain ``CLV tier: `` of runs without an account, and never a prefix
    of another account's (``CLV tier (acme-eu): ``), so 04/05's look-up by prefix finds only this account's."""
    return f"{PERSONA_PREFIX.rstrip(': ')} ({name}): "


def default_path(project_root: str | Path) -> Path:
    return Path(project_root) / "accounts.toml"


def load(path: str | Path) -> dict[str, Account]:
    """Every account in the file, by name, in file order; :class:`AccountsError` (one line) if it is bad."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccountsError(
            f"accounts file {path} not found: copy {EXAMPLE} to {path.name} and name your accounts in it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AccountsError(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise AccountsError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, str(path))


def parse(data: Mapping[str, Any], where: str = "accounts file") -> dict[str, Account]:
    """The accounts of an already-parsed TOML document (``where`` names it in errors)."""
    extra = sorted(set(data) - {"accounts"})
    if extra:
        raise AccountsError(f"{where}: unknown top-level key(s) {', '.join(extra)}; put accounts under [accounts.NAME]")
    table = data.get("accounts")
    if not isinstance(table, dict) or not table:
        raise AccountsError(f"{where}: no accounts; add at least one [accounts.NAME] table (see {EXAMPLE})")
    accounts = {name: _account(name, entry, where) for name, entry in table.items()}
    _check_distinct(accounts, where)
    return accounts


def pools(accounts: Mapping[str, Account]) -> dict[str, dict[str, Any]]:
    """The pools the DAG needs, as ``airflow pools import FILE`` reads them."""
    return {
        account.pool: {
            "slots": account.concurrency,
            "description": f"Klaviyo account {account.name}: its API limits are shared by its tasks",
            "include_deferred": False,
        }
        for account in accounts.values()
    }


def _account(name: str, entry: Any, where: str) -> Account:
    if not NAME.match(name):
        raise AccountsError(
            f"{where}: account name {name!r}: use lowercase letters, digits, '-' and '_' (it names folders and pools)"
        )
    at = f"{where}: account {name}"
    if not isinstance(entry, dict):
        raise AccountsError(f"{at}: must be a table ([accounts.{name}])")
    unknown = sorted(set(entry) - ALLOWED)
    if unknown:
        raise AccountsError(f"{at}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ALLOWED))}")
    _refuse_keys(entry, at)
    variables = _secret_variables(name, entry, at)
    return Account(
        name=name,
        klaviyo_api_key_env=variables["klaviyo_api_key_env"],
        mavera_api_key_env=variables["mavera_api_key_env"],
        settings=_settings(entry, at),
        persona_prefix=_persona_prefix(name, entry, at),
        concurrency=_concurrency(entry, at),
        parameters_all=_parameters(entry.get("parameters", {}), f"{at}: [parameters]"),
        parameters_by_job=_job_parameters(name, entry.get("jobs", {}), at),
        email_to=_email_to(entry, at),
        pdf=_flag(entry, "pdf", at),
    )


def _secret_variables(name: str, entry: dict[str, Any], at: str) -> dict[str, str]:
    """``{attribute: variable name}`` for the two keys; a missing or malformed name says what to write."""
    variables = {}
    for attribute in SECRETS:
        variable = entry.get(attribute)
        if not isinstance(variable, str) or not VARIABLE.match(variable):
            raise AccountsError(
                f"{at}: {attribute} must name the environment variable that holds the key, "
                f"e.g. {attribute} = \"{name.upper().replace('-', '_')}_{SECRETS[attribute]}\""
            )
        variables[attribute] = variable
    return variables


def _settings(entry: dict[str, Any], at: str) -> dict[str, str]:
    settings = {}
    for attribute in SETTINGS:
        if attribute in entry:
            value = entry[attribute]
            if not isinstance(value, str) or not value.strip():
                raise AccountsError(f"{at}: {attribute} must be a non-empty string")
            settings[attribute] = value.strip()
    return settings


def _persona_prefix(name: str, entry: dict[str, Any], at: str) -> str:
    prefix = entry.get("persona_prefix", persona_prefix(name))
    if not isinstance(prefix, str) or not prefix.strip():
        raise AccountsError(f"{at}: persona_prefix must be a non-empty string, e.g. \"{persona_prefix(name)}\"")
    return prefix


def _email_to(entry: dict[str, Any], at: str) -> tuple[str, ...]:
    """``email_to = ["a@x.example", ...]`` (or one string): the addresses, checked for their shape only."""
    value = entry.get("email_to", [])
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and ADDRESS.match(v.strip()) for v in values):
        raise AccountsError(f"{at}: email_to must be a list of mail addresses, e.g. email_to = [\"lead@shop.example\"]")
    return tuple(v.strip() for v in values)


def _flag(entry: dict[str, Any], name: str, at: str) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise AccountsError(f"{at}: {name} must be true or false")
    return value


def _concurrency(entry: dict[str, Any], at: str) -> int:
    concurrency = entry.get("concurrency", 1)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise AccountsError(f"{at}: concurrency must be a whole number of tasks, at least 1")
    return concurrency


def _job_parameters(name: str, jobs: Any, at: str) -> dict[int, dict[str, Any]]:
    """``[accounts.NAME.jobs.NN]`` tables by job number."""
    if not isinstance(jobs, dict):
        raise AccountsError(f"{at}: jobs must hold tables such as [accounts.{name}.jobs.04]")
    by_job: dict[int, dict[str, Any]] = {}
    for number, table in jobs.items():
        if not re.fullmatch(r"\d{1,2}", number) or int(number) < 1:
            raise AccountsError(f"{at}: jobs.{number}: give the job's number, e.g. [accounts.{name}.jobs.04]")
        if int(number) in by_job:
            raise AccountsError(f"{at}: jobs.{number}: job {int(number)} appears twice")
        by_job[int(number)] = _parameters(table, f"{at}: [jobs.{number}]")
    return by_job


def _parameters(table: Any, at: str) -> dict[str, Any]:
    """Parameter overrides: names as in a notebook's parameters cell; the runner checks them against it."""
    if not isinstance(table, dict):
        raise AccountsError(f"{at}: must be a table of parameter = value")
    for name, value in table.items():
        if not name.isidentifier():
            raise AccountsError(f"{at}: {name!r} is not a parameter name")
        if _has_datetime(value):  # TOML has them; notebook parameters are JSON-like literals
            raise AccountsError(f"{at}: {name}: dates and times are not notebook parameters; write them as strings")
    return dict(table)


def _has_datetime(value: Any) -> bool:
    if isinstance(value, dt.date | dt.time):
        return True
    if isinstance(value, dict):
        return any(_has_datetime(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_datetime(v) for v in value)
    return False


def _refuse_keys(value: Any, at: str, path: str = "") -> None:
    """A value that looks like an API key is refused without repeating it."""
    if isinstance(value, str) and KEY_LIKE.match(value.strip()):
        raise AccountsError(
            f"{at}: {path or 'a value'} looks like an API key; the file names environment variables, it never "
            "holds keys: put the key in the variable and its name here"
        )
    if isinstance(value, dict):
        for key, inner in value.items():
            _refuse_keys(inner, at, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for inner in value:
            _refuse_keys(inner, at, path)


def _check_distinct(accounts: Mapping[str, Account], where: str) -> None:
    """Two entries with one Klaviyo key are one account twice (and would bypass its pool); one persona
    prefix for two accounts would let each overwrite the other's personas in a shared Mavera workspace."""
    seen_keys: dict[str, str] = {}
    seen_prefixes: dict[str, str] = {}
    for account in accounts.values():
        other = seen_keys.setdefault(account.klaviyo_api_key_env, account.name)
        if other != account.name:
            raise AccountsError(
                f"{where}: accounts {other} and {account.name} both read {account.klaviyo_api_key_env}: "
                "one Klaviyo key is one account; give each account its own key variable"
            )
        other = seen_prefixes.setdefault(account.persona_prefix, account.name)
        if other != account.name:
            raise AccountsError(
                f"{where}: accounts {other} and {account.name} have the same persona_prefix "
                f"{account.persona_prefix!r}: their personas would overwrite each other; give each its own"
            )


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.scheduling.accounts [FILE]``: check the file; ``--pools`` prints it as ``airflow pools import`` JSON."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.scheduling.accounts", description=main.__doc__)
    parser.add_argument("file", nargs="?", default="accounts.toml", help="accounts file (default accounts.toml)")
    parser.add_argument("--pools", action="store_true", help="print the Airflow pools the DAG needs, as JSON")
    args = parser.parse_args(argv)
    try:
        accounts = load(args.file)
    except AccountsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.pools:
        print(json.dumps(pools(accounts), indent=2))
    else:
        for account in accounts.values():
            print(f"{account.name}: keys from {', '.join(account.secret_variables)}; pool {account.pool} "
                  f"({account.concurrency} slot{'s' if account.concurrency != 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
