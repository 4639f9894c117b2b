"""The scheduler's side of the runner contract: the command line, exit codes, and the task's environment."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest

from helpers import run
from helpers.scheduling import accounts
from helpers.scheduling import runner_contract as scheduling

FILE = {
    "accounts": {
        "acme": {"klaviyo_api_key_env": "ACME_KLAVIYO_API_KEY", "mavera_api_key_env": "AGENCY_MAVERA_API_KEY"},
        "bolt": {"klaviyo_api_key_env": "BOLT_KLAVIYO_API_KEY", "mavera_api_key_env": "BOLT_MAVERA_API_KEY",
                 "concurrency": 2},
    }
}


@pytest.fixture
def loaded():
    return accounts.parse(FILE)


def test_runner_argv_is_one_account_one_job_one_date():
    argv = scheduling.runner_argv("acme", 4, "2026-07-15", "/srv/outputs", python="/p/bin/python",
                                  accounts_file="/etc/accounts.toml")
    assert argv == ["/p/bin/python", "-m", "helpers.run", "--account", "acme", "--accounts", "/etc/accounts.toml",
                    "--jobs", "4", "--date", "2026-07-15", "--workers", "1", "--out", "/srv/outputs"]
    assert scheduling.runner_argv("acme", 1, dt.date(2026, 7, 1))[-4:] == ["--date", "2026-07-01", "--workers", "1"]
    with pytest.raises(ValueError):
        scheduling.runner_argv("acme", 1, "{{ ds }}")  # an unrendered template is never passed on


def test_the_flags_the_runner_has_today_are_the_ones_the_contract_uses(capsys):
    """--jobs/--date/--out/--workers are today's runner flags (python -m helpers.run --help); only
    --account/--accounts are new, for the runner to add."""
    argv = scheduling.runner_argv("acme", 4, "2026-07-15", "/srv/outputs", accounts_file="a.toml")
    with pytest.raises(SystemExit) as stopped:
        run.main(["--help"])
    assert stopped.value.code == 0
    known = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", capsys.readouterr().out))
    assert {"--jobs", "--date", "--out", "--workers"} <= known
    assert {a for a in argv if a.startswith("--")} - known <= {"--account", "--accounts"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [(0, "ok"), (1, "retry"), (2, "fail"), (3, "partial"), (130, "retry"), (143, "retry"), (-9, "retry")],
)
def test_exit_codes(code, expected):
    assert scheduling.verdict(code) == expected


def test_the_runner_and_the_contract_agree_on_exit_codes():
    """The runner's codes (helpers.runner.results) are the scheduler's (standard library only, so defined twice)."""
    from helpers.runner import results

    assert (results.EXIT_OK, results.EXIT_PERMANENT, results.EXIT_PARTIAL) == (
        scheduling.EXIT_OK, scheduling.EXIT_BAD_SETUP, scheduling.EXIT_PARTIAL)
    assert scheduling.verdict(results.EXIT_FAILED) == "retry"


def test_runner_exit_codes_today_match_the_contract(capsys):
    """Exit 2 is what the runner returns today for a flag, parameter or setting it refuses."""
    assert run.main(["--jobs", "99"]) == scheduling.EXIT_BAD_SETUP
    assert "error: --jobs 99" in capsys.readouterr().err


def test_task_environment_holds_only_this_accounts_keys(loaded):
    acme, bolt = loaded["acme"], loaded["bolt"]
    keys = {"ACME_KLAVIYO_API_KEY": f"pk_{secrets.token_hex(8)}", "AGENCY_MAVERA_API_KEY": f"mvra_{secrets.token_hex(8)}"}
    worker = {
        "PATH": "/usr/bin", "HOME": "/home/airflow", "WORKBOOKS_SANDBOX": "1",
        "BOLT_KLAVIYO_API_KEY": "pk_bolt", "BOLT_MAVERA_API_KEY": "mvra_bolt",  # another account's
        "KLAVIYO_API_KEY": "pk_stray", "MAVERA_API_KEY": "mvra_stray",  # no account's
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://u:pw@db/airflow",  # the scheduler's own
        "AIRFLOW_CONN_BOLT_KLAVIYO_API_KEY": "generic://:pk_bolt@", "AIRFLOW_VAR_X": "y", "__AIRFLOW_SUPERVISOR_FD": "12",
        "VIRTUAL_ENV": "/opt/airflow-venv",
    }
    env = scheduling.task_environment(acme, keys, worker, loaded.values())
    assert env == {"PATH": "/usr/bin", "HOME": "/home/airflow", "WORKBOOKS_SANDBOX": "1", **keys}
    assert scheduling.task_environment(bolt, {"BOLT_KLAVIYO_API_KEY": "pk_b", "BOLT_MAVERA_API_KEY": "mvra_b"},
                                       worker, loaded.values())["BOLT_KLAVIYO_API_KEY"] == "pk_b"


def test_concurrent_tasks_of_an_account_share_its_limits(loaded):
    keys = {"BOLT_KLAVIYO_API_KEY": "pk_b", "BOLT_MAVERA_API_KEY": "mvra_b"}
    bolt = loaded["bolt"]  # concurrency 2: two tasks at once, each paces against half
    assert scheduling.task_environment(bolt, keys, {})["KLAVIYO_RATE_SCALE"] == "0.5"
    assert scheduling.task_environment(bolt, keys, {"KLAVIYO_RATE_SCALE": "0"})["KLAVIYO_RATE_SCALE"] == "0.0"
    acme = loaded["acme"]
    acme_keys = {"ACME_KLAVIYO_API_KEY": "pk_a", "AGENCY_MAVERA_API_KEY": "mvra_a"}
    assert "KLAVIYO_RATE_SCALE" not in scheduling.task_environment(acme, acme_keys, {})


def test_task_environment_refuses_a_missing_key(loaded):
    with pytest.raises(ValueError, match="account acme: no value for AGENCY_MAVERA_API_KEY"):
        scheduling.task_environment(loaded["acme"], {"ACME_KLAVIYO_API_KEY": "pk_a"}, {})


def test_a_mailed_account_is_mailed_once_a_day_not_per_job(capsys):
    job = scheduling.runner_argv("acme", 4, "2026-07-15", no_email=True)
    assert job[-1] == "--no-email" and "--no-email" not in scheduling.runner_argv("acme", 4, "2026-07-15")
    day = scheduling.mail_argv("acme", "2026-07-15", "/srv/outputs", python="/p/bin/python", accounts_file="a.toml")
    assert day == ["/p/bin/python", "-m", "helpers.run", "--account", "acme", "--accounts", "a.toml",
                   "--date", "2026-07-15", "--mail-only", "--out", "/srv/outputs"]
    with pytest.raises(SystemExit):
        run.main(["--help"])
    known = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", capsys.readouterr().out))
    assert {"--no-email", "--mail-only", "--email-to", "--pdf"} <= known
