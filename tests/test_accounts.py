"""accounts.toml: loading, one-line errors, the environment an account's run sees, its folders and pools."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import textwrap
from pathlib import Path

import pytest

from helpers.scheduling import accounts
from helpers.scheduling.accounts import AccountsError

ROOT = Path(__file__).resolve().parents[1]

TWO = """
[accounts.acme]
klaviyo_api_key_env = "ACME_KLAVIYO_API_KEY"
mavera_api_key_env = "AGENCY_MAVERA_API_KEY"
mavera_workspace_id = "ws_acme"
klaviyo_base_url = "http://127.0.0.1:9"

[accounts.acme.parameters]
max_credits = 500
timeframe = "last_90_days"

[accounts.acme.jobs.04]
min_lift = 2.5
max_credits = 50

[accounts.acme-eu]
klaviyo_api_key_env = "ACME_EU_KLAVIYO_API_KEY"
mavera_api_key_env = "AGENCY_MAVERA_API_KEY"
concurrency = 3
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(textwrap.dedent(text))
    return path


def one_line_error(path: Path) -> str:
    with pytest.raises(AccountsError) as caught:
        accounts.load(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_loads_accounts_in_file_order_with_their_settings(tmp_path):
    loaded = accounts.load(write(tmp_path, TWO))
    assert list(loaded) == ["acme", "acme-eu"]
    acme, eu = loaded["acme"], loaded["acme-eu"]
    assert acme.secret_variables == ("ACME_KLAVIYO_API_KEY", "AGENCY_MAVERA_API_KEY")
    assert acme.settings == {"mavera_workspace_id": "ws_acme", "klaviyo_base_url": "http://127.0.0.1:9"}
    assert (acme.concurrency, eu.concurrency) == (1, 3)
    assert (acme.pool, eu.pool) == ("klaviyo_acme", "klaviyo_acme-eu")


def test_job_parameters_override_the_account_wide_ones(tmp_path):
    acme = accounts.load(write(tmp_path, TWO))["acme"]
    assert acme.parameters(4) == {"max_credits": 50, "timeframe": "last_90_days", "min_lift": 2.5}
    assert acme.parameters(2) == {"max_credits": 500, "timeframe": "last_90_days"}
    assert accounts.load(write(tmp_path, TWO))["acme-eu"].parameters(4) == {}


def test_environment_maps_the_named_variables_onto_the_standard_names(tmp_path):
    acme = accounts.load(write(tmp_path, TWO))["acme"]
    klaviyo, mavera = f"pk_{secrets.token_hex(8)}", f"mvra_live_{secrets.token_hex(8)}"
    environ = {
        "ACME_KLAVIYO_API_KEY": klaviyo, "AGENCY_MAVERA_API_KEY": mavera,
        # Another account's settings in the scheduler's environment must not leak into acme's run.
        "KLAVIYO_API_KEY": "pk_other", "MAVERA_BASE_URL": "http://elsewhere", "KLAVIYO_REVISION": "2020-01-01",
        "WORKBOOKS_CACHE_DIR": str(tmp_path / "cache"),
    }
    assert acme.environment(environ) == {
        "KLAVIYO_API_KEY": klaviyo,
        "MAVERA_API_KEY": mavera,
        "KLAVIYO_BASE_URL": "http://127.0.0.1:9",
        "KLAVIYO_REVISION": "",  # "" = the client's default, not the environment's
        "MAVERA_BASE_URL": "",
        "MAVERA_WORKSPACE_ID": "ws_acme",
        "WORKBOOKS_CACHE_DIR": str(tmp_path / "cache" / "acme"),
        "WORKBOOKS_PERSONA_PREFIX": "CLV tier (acme): ",
        "WORKBOOKS_ACCOUNT": "acme",
    }


def test_environment_names_the_missing_variable_never_a_value(tmp_path):
    acme = accounts.load(write(tmp_path, TWO))["acme"]
    mavera = f"mvra_live_{secrets.token_hex(8)}"
    with pytest.raises(AccountsError) as caught:
        acme.environment({"AGENCY_MAVERA_API_KEY": mavera, "ACME_KLAVIYO_API_KEY": "  "})
    message = str(caught.value)
    assert "ACME_KLAVIYO_API_KEY is not set" in message and "account acme" in message
    assert mavera not in message and "\n" not in message


def test_cache_defaults_under_the_users_cache_folder(tmp_path):
    eu = accounts.load(write(tmp_path, TWO))["acme-eu"]
    env = eu.environment({"ACME_EU_KLAVIYO_API_KEY": "pk_x", "AGENCY_MAVERA_API_KEY": "mvra_x"})
    assert env["WORKBOOKS_CACHE_DIR"] == str(Path.home() / ".cache" / "klaviyo-mavera-workbooks" / "acme-eu")


def test_output_dir_is_per_account_and_date(tmp_path):
    acme = accounts.load(write(tmp_path, TWO))["acme"]
    assert acme.output_dir(tmp_path / "outputs", "2026-07-15") == tmp_path / "outputs" / "acme" / "2026-07-15"
    assert acme.output_dir("outputs", dt.date(2026, 7, 1)) == Path("outputs/acme/2026-07-01")
    with pytest.raises(ValueError):
        acme.output_dir("outputs", "15/07/2026")


def test_persona_prefixes_never_prefix_one_another(tmp_path):
    loaded = accounts.load(write(tmp_path, TWO))
    prefixes = [a.persona_prefix for a in loaded.values()] + ["CLV tier: "]  # the runs without an account
    for a in prefixes:
        for b in prefixes:
            assert a == b or not b.startswith(a), (a, b)


def test_the_committed_example_loads():
    loaded = accounts.load(ROOT / "accounts.example.toml")
    assert set(loaded) == {"acme", "brightside"}
    assert loaded["acme"].parameters(4)["min_lift"] == 2.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[accounts.acme\n", "not valid TOML"),
        ("title = 'x'\n", "unknown top-level key(s) title"),
        ("[accounts]\n", "no accounts"),
        ("[accounts.Acme]\nklaviyo_api_key_env='A'\nmavera_api_key_env='B'\n", "account name 'Acme'"),
        ("[accounts.acme]\nmavera_api_key_env='B'\n", 'klaviyo_api_key_env = "ACME_KLAVIYO_API_KEY"'),
        ("[accounts.acme]\nklaviyo_api_key_env='has space'\nmavera_api_key_env='B'\n", "must name the environment"),
        ("[accounts.acme]\nklaviyo_api_key_env='A'\nmavera_api_key_env='B'\nklaviyo_key='x'\n",
         "unknown key(s) klaviyo_key"),
        ("[accounts.acme]\nklaviyo_api_key_env='A'\nmavera_api_key_env='B'\nconcurrency=0\n", "concurrency"),
        ("[accounts.acme]\nklaviyo_api_key_env='A'\nmavera_api_key_env='B'\nconcurrency=true\n", "concurrency"),
        ("[accounts.acme]\nklaviyo_api_key_env='A'\nmavera_api_key_env='B'\nklaviyo_base_url=''\n",
         "klaviyo_base_url must be a non-empty string"),
        ("[accounts.acme]\nklaviyo_api_key_env='A'\nmavera_api_key_env='B'\n[accounts.acme.jobs.x]\nn=1\n",
         "jobs.x: give the job's number"),
        ("[accounts.acme]\nklaviyo_api_key_env='A'\nmavera_api_key_env='B'\n[accounts.acme.jobs]\n"
         "4={n=1}\n04={n=2}\n", "job 4 appears twice"),
        ("[accounts.acme]\nklaviyo_api_key_env='A'\nmavera_api_key_env='B'\n[accounts.acme.parameters]\n"
         "since=2026-01-01\n", "dates and times are not notebook parameters"),
        ("[accounts.a]\nklaviyo_api_key_env='K'\nmavera_api_key_env='M'\n"
         "[accounts.b]\nklaviyo_api_key_env='K'\nmavera_api_key_env='M'\n", "accounts a and b both read K"),
        ("[accounts.a]\nklaviyo_api_key_env='K1'\nmavera_api_key_env='M'\npersona_prefix='P: '\n"
         "[accounts.b]\nklaviyo_api_key_env='K2'\nmavera_api_key_env='M'\npersona_prefix='P: '\n",
         "the same persona_prefix"),
    ],
)
def test_bad_files_are_one_line_that_says_what_to_fix(tmp_path, text, expected):
    assert expected in one_line_error(write(tmp_path, text))


def test_a_missing_file_says_to_copy_the_example(tmp_path):
    message = one_line_error(tmp_path / "accounts.toml")
    assert "not found: copy accounts.example.toml to accounts.toml" in message


@pytest.mark.parametrize(
    "template",
    [
        "[accounts.acme]\nklaviyo_api_key_env = '{key}'\nmavera_api_key_env = 'M'\n",
        "[accounts.acme]\nklaviyo_api_key_env = 'K'\nmavera_api_key_env = 'M'\n[accounts.acme.parameters]\nnote = '{key}'\n",
    ],
    ids=["as-variable-name", "as-parameter"],
)
def test_a_key_pasted_into_the_file_is_refused_without_repeating_it(tmp_path, template):
    key = f"pk_{secrets.token_hex(12)}"
    message = one_line_error(write(tmp_path, template.format(key=key)))
    assert "looks like an API key" in message and key not in message


def test_pools_are_what_airflow_pools_import_reads(tmp_path):
    pools = accounts.pools(accounts.load(write(tmp_path, TWO)))
    assert {name: pool["slots"] for name, pool in pools.items()} == {"klaviyo_acme": 1, "klaviyo_acme-eu": 3}
    assert all(set(pool) == {"slots", "description", "include_deferred"} for pool in pools.values())


def test_cli_checks_the_file_and_prints_pools(tmp_path, capsys):
    path = write(tmp_path, TWO)
    assert accounts.main([str(path), "--pools"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"klaviyo_acme", "klaviyo_acme-eu"}
    assert accounts.main([str(tmp_path / "absent.toml")]) == 2
    assert capsys.readouterr().err.startswith("error: accounts file ")


def test_persona_names_follow_the_runs_prefix(tmp_path, monkeypatch):
    """Job 01 names, and 04/05 find, personas by the run's prefix: an account's own, else "CLV tier: "."""
    from helpers.analysis import customers, focus_groups

    listed = [{"id": "a1", "name": "CLV tier (acme): VIP"}, {"id": "p1", "name": "CLV tier: VIP"},
              {"id": "e1", "name": "CLV tier (acme-eu): VIP"}]
    assert customers.persona_name("VIP") == "CLV tier: VIP"  # no account: as before
    assert focus_groups.resolve_personas([], None, listed) == ["p1"]
    acme = accounts.load(write(tmp_path, TWO))["acme"]
    for name, value in acme.environment({"ACME_KLAVIYO_API_KEY": "pk_x", "AGENCY_MAVERA_API_KEY": "mvra_x"}).items():
        monkeypatch.setenv(name, value)
    assert customers.persona_name("VIP") == "CLV tier (acme): VIP"
    assert focus_groups.resolve_personas([], None, listed) == ["a1"]
    assert focus_groups.choose_personas([], None, lambda: listed)[1] == "found by the 'CLV tier (acme):' name"


def test_an_account_may_name_who_gets_its_summary_and_ask_for_pdfs(tmp_path):
    text = TWO.replace('concurrency = 3', 'concurrency = 3\nemail_to = ["lead@acme.example", "ops@acme.example"]\npdf = true')
    loaded = accounts.load(write(tmp_path, text))
    assert loaded["acme-eu"].email_to == ("lead@acme.example", "ops@acme.example") and loaded["acme-eu"].pdf is True
    assert loaded["acme"].email_to == () and loaded["acme"].pdf is False
    with pytest.raises(AccountsError, match="email_to must be a list of mail addresses"):
        accounts.load(write(tmp_path, TWO.replace("concurrency = 3", 'concurrency = 3\nemail_to = ["not-an-address"]')))
    with pytest.raises(AccountsError, match="pdf must be true or false"):
        accounts.load(write(tmp_path, TWO.replace("concurrency = 3", 'concurrency = 3\npdf = "yes"')))
