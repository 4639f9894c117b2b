"""``python -m helpers.run --account NAME``: the account's keys, folder, caches, persona names and parameter
overrides (docs/airflow.md, "The runner contract"); everything it refuses is one line and exit 2."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

import pytest

from helpers import run
from helpers.runner import plan
from helpers.runner.plan import Layer
from helpers.runner.results import RunError
from tests.runner.support import FIXTURES, write_notebook

DATE = "2026-07-15"
ENV_PARAMETERS = """\
n: int = 1  # a number
label: str = "default"  # text
ratio: float = 0.5  # a float
"""
# What the kernel sees, recorded (the key only as a digest: run.json must never hold it).
RECORD_ENV = """\
import hashlib
import os

from helpers import report
from helpers.analysis import customers

job = report.setup("01_env")
for name in ("KLAVIYO_BASE_URL", "MAVERA_BASE_URL", "MAVERA_WORKSPACE_ID", "WORKBOOKS_CACHE_DIR", "WORKBOOKS_ACCOUNT"):
    report.record(name, os.environ.get(name))
report.record("klaviyo_key_sha", hashlib.sha256(os.environ.get("KLAVIYO_API_KEY", "").encode()).hexdigest())
report.record("persona_name", customers.persona_name("VIP"))
report.record("params", {"n": n, "label": label, "ratio": ratio})
"""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def folder(tmp_path):
    """01 records its environment; 02 declares a parameter 01 does not (``timeframe``)."""
    nb = tmp_path / "nb"
    write_notebook(nb / "01_env.ipynb", ENV_PARAMETERS, RECORD_ENV)
    write_notebook(nb / "02_other.ipynb", 'timeframe: str = "last_90_days"  # a report window', "pass")
    return nb


@pytest.fixture
def keys(monkeypatch):
    values = {"NORTH_KLAVIYO_API_KEY": f"pk_{secrets.token_hex(12)}", "SOUTH_KLAVIYO_API_KEY": f"pk_{secrets.token_hex(12)}",
              "AGENCY_MAVERA_API_KEY": f"mvra_{secrets.token_hex(12)}"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def accounts_file(tmp_path: Path, north_extra: str = "") -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(f"""
[accounts.north]
klaviyo_api_key_env = "NORTH_KLAVIYO_API_KEY"
mavera_api_key_env = "AGENCY_MAVERA_API_KEY"
klaviyo_base_url = "http://127.0.0.1:9"
mavera_workspace_id = "ws_north"
{north_extra}

[accounts.south]
klaviyo_api_key_env = "SOUTH_KLAVIYO_API_KEY"
mavera_api_key_env = "AGENCY_MAVERA_API_KEY"
""")
    return path


def recorded(run_dir: Path) -> dict:
    (job,) = [j for j in json.loads((run_dir / "run.json").read_text())["jobs"] if j["notebook"] == "01_env"]
    assert job["status"] == "succeeded", job["error"]
    return job["metrics"]


# ---------------------------------------------------------------------------------------------- a run for an account


def test_an_account_runs_with_its_keys_folder_cache_persona_names_and_overrides(folder, keys, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(cache))
    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_the_schedulers_own_key_x")  # no account's: never this run's
    monkeypatch.setenv("MAVERA_BASE_URL", "http://127.0.0.1:9/elsewhere")  # another account's setting
    path = accounts_file(tmp_path, """
[accounts.north.parameters]
ratio = 2
timeframe = "last_30_days"
[accounts.north.jobs.01]
n = 5
label = "from the account"
""")
    before = dict(os.environ)
    out = tmp_path / "out"
    code = run.main(["--account", "north", "--accounts", str(path), "--notebooks", str(folder), "--jobs", "1",
                     "--date", DATE, "--out", str(out), "--no-html", "-p", "label", "from the command line"])
    assert code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.iterdir()) == ["north"]
    metrics = recorded(out / "north" / DATE)
    assert metrics["klaviyo_key_sha"] == sha(keys["NORTH_KLAVIYO_API_KEY"])
    assert metrics["KLAVIYO_BASE_URL"] == "http://127.0.0.1:9"
    assert metrics["MAVERA_BASE_URL"] == ""  # "" = the client's default, not the scheduler's variable
    assert metrics["MAVERA_WORKSPACE_ID"] == "ws_north"
    assert metrics["WORKBOOKS_CACHE_DIR"] == str(cache / "north")
    assert metrics["WORKBOOKS_ACCOUNT"] == "north"
    assert metrics["persona_name"] == "CLV tier (north): VIP"
    # [parameters] under [jobs.01] under -p; timeframe is 02's alone, so 01 never gets it.
    assert metrics["params"] == {"n": 5, "label": "from the command line", "ratio": 2.0}
    assert dict(os.environ) == before  # the account's environment was the run's only


def test_without_an_account_nothing_changes(folder, keys, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(cache))
    accounts_file(tmp_path)
    monkeypatch.setenv("WORKBOOKS_ACCOUNTS", str(tmp_path / "accounts.toml"))  # read only with --account
    out = tmp_path / "out"
    assert run.main(["--notebooks", str(folder), "--jobs", "1", "--date", DATE, "--out", str(out), "--no-html"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [DATE]
    metrics = recorded(out / DATE)
    assert metrics["persona_name"] == "CLV tier: VIP"
    assert metrics["WORKBOOKS_CACHE_DIR"] == str(cache)
    assert metrics["WORKBOOKS_ACCOUNT"] is None and metrics["klaviyo_key_sha"] == sha("")
    assert metrics["params"] == {"n": 1, "label": "default", "ratio": 0.5}


def test_the_accounts_file_defaults_to_workbooks_accounts(folder, keys, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBOOKS_ACCOUNTS", str(accounts_file(tmp_path)))
    out = tmp_path / "out"
    code = run.main(["--account", "south", "--notebooks", str(folder), "--jobs", "1", "--date", DATE,
                     "--out", str(out), "--no-html"])
    assert code == 0
    assert recorded(out / "south" / DATE)["klaviyo_key_sha"] == sha(keys["SOUTH_KLAVIYO_API_KEY"])


def test_same_day_reruns_stay_within_their_account(folder, keys, tmp_path):
    path, out = accounts_file(tmp_path), tmp_path / "out"

    def once(name: str) -> int:
        return run.main(["--account", name, "--accounts", str(path), "--notebooks", str(folder), "--jobs", "2",
                         "--date", DATE, "--out", str(out), "--no-html"])

    assert once("north") == 0 and once("south") == 0
    south = (out / "south" / DATE / "run.json").read_bytes()
    assert once("north") == 0  # replaces north's report of the day, which moves to north's previous/
    assert [p.name for p in (out / "north" / DATE / "previous").iterdir()]
    assert not (out / "south" / DATE / "previous").exists()
    assert (out / "south" / DATE / "run.json").read_bytes() == south


# ---------------------------------------------------------------------------------------------- refused before anything runs


NORTH = ["--account", "north", "--accounts", "{file}"]


@pytest.mark.parametrize(
    ("argv", "north_extra", "message"),
    [
        (["--account", "nowhere", "--accounts", "{file}"], "",
         "account nowhere is not in {file} (accounts: north, south)"),
        (["--account", "north", "--accounts", "{tmp}/absent.toml"], "",
         "accounts file {tmp}/absent.toml not found: copy accounts.example.toml to absent.toml"),
        ([*NORTH, "--sandbox"], "", "--sandbox with --account north: an account runs against its own"),
        (["--accounts", "{file}"], "", "--accounts {file}: say which account to run with --account NAME"),
        (NORTH, "klaviyo_key = 'x'", "{file}: account north: unknown key(s) klaviyo_key"),
        (NORTH, "[accounts.north.parameters]\nnope = 1",
         "account north [parameters] nope: no notebook has a parameter named 'nope'"),
        (NORTH, "[accounts.north.jobs.01]\ntimeframe = 'last_30_days'",
         "account north [jobs.01] timeframe: 01_env has no parameter named 'timeframe'"),
        (NORTH, "[accounts.north.jobs.09]\nn = 1", "account north [jobs.09]: there is no job 09 (jobs: 1,2)"),
        ([*NORTH, "--jobs", "1"], "[accounts.north.jobs.01]\nn = 'many'",
         "account north [jobs.01] n: parameter n='many' should be a whole number"),
        (NORTH, "[accounts.north.parameters]\nauth_token = 'x'",
         "account north [parameters] auth_token: secrets are never parameters"),
    ],
    ids=["unknown-account", "missing-file", "with-sandbox", "file-without-account", "bad-file",
         "name-no-job-declares", "name-its-job-does-not-declare", "no-such-job", "wrong-type", "secret-name"],
)
def test_refusals_are_one_line_exit_2_before_anything_runs(folder, keys, tmp_path, capsys, argv, north_extra, message):
    path = accounts_file(tmp_path, north_extra)
    out = tmp_path / "out"

    def fill(text: str) -> str:
        return text.replace("{file}", str(path)).replace("{tmp}", str(tmp_path))

    code = run.main([*map(fill, argv), "--notebooks", str(folder), "--date", DATE, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"error: {fill(message)}"), err
    assert err.count("\n") == 1
    assert not any(key in err for key in keys.values())
    assert not out.exists()  # nothing ran, no folder was made


def test_a_missing_key_variable_names_it_and_never_a_value(folder, keys, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SOUTH_KLAVIYO_API_KEY")
    code = run.main(["--account", "south", "--accounts", str(accounts_file(tmp_path)), "--notebooks", str(folder),
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: account south: SOUTH_KLAVIYO_API_KEY is not set;") and err.count("\n") == 1
    assert keys["AGENCY_MAVERA_API_KEY"] not in err
    assert not (tmp_path / "out").exists()


def test_one_jobs_bad_value_fails_that_job_alone(folder, keys, tmp_path):
    """A scheduler runs one job per task: job 02 runs while 01's override is wrong (docs/airflow.md)."""
    path = accounts_file(tmp_path, "[accounts.north.jobs.01]\nn = 'many'")
    out = tmp_path / "out"
    assert run.main(["--account", "north", "--accounts", str(path), "--notebooks", str(folder), "--jobs", "2",
                     "--date", DATE, "--out", str(out), "--no-html"]) == 0
    assert run.main(["--account", "north", "--accounts", str(path), "--notebooks", str(folder), "--jobs", "1",
                     "--date", DATE, "--out", str(out), "--no-html"]) == 2


# ---------------------------------------------------------------------------------------------- layers under -p


def test_layers_apply_in_order_under_the_command_line():
    notebooks = plan.discover(FIXTURES)  # 01_succeeds: n, label, ratio, fail; 02..05 other names
    first = plan.select(notebooks, [1])
    layers = [Layer("a [parameters]", {"n": 2, "ratio": 1, "note": "x"}), Layer("a [jobs.01]", {"n": 4}, job=1),
              Layer("a [jobs.05]", {"note": "y"}, job=5)]
    assert plan.plan_parameters(first, {}, layers, known=notebooks) == {"01_succeeds": {"n": 4, "ratio": 1.0}}
    assert plan.plan_parameters(first, {"n": "9"}, layers, known=notebooks)["01_succeeds"]["n"] == 9
    # Without ``known`` only the selection counts: "note" (05's) would be a typo.
    with pytest.raises(RunError, match=r"a \[parameters\] note: no notebook has a parameter named 'note'"):
        plan.plan_parameters(first, {}, layers[:1])
