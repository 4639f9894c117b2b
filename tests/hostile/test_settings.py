"""Settings checked once, before anything starts, one line each that says what to set; messages that
tell the truth (the attempts really made, flags that exist)."""

from __future__ import annotations

import json
import shlex

import pytest

from helpers import config
from helpers.analysis.focus_groups import NO_PERSONAS
from helpers.config import ConfigError, KlaviyoSettings
from helpers.klaviyo import KlaviyoClient, KlaviyoError
from tests.hostile.support import KLAVIYO_KEY, MAVERA_KEY, json_response


def test_preflight_reports_every_bad_setting_once_in_one_line_each(monkeypatch, tmp_path):
    cache_file = tmp_path / "cache"
    cache_file.write_text("not a folder")
    monkeypatch.setenv("KLAVIYO_BASE_URL", "a.klaviyo.com")
    monkeypatch.setenv("MAVERA_BASE_URL", "app.mavera.io/api/v1")
    monkeypatch.setenv("KLAVIYO_REVISION", "banana")
    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_live_caf\u00e9\u2603123")  # é is Latin-1, the snowman is not
    monkeypatch.setenv("MAVERA_API_KEY", MAVERA_KEY)
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(cache_file))
    problems = config.preflight()
    assert [p.split(" ", 1)[0].split("=")[0] for p in problems] == [
        "KLAVIYO_API_KEY", "KLAVIYO_BASE_URL", "MAVERA_BASE_URL", "KLAVIYO_REVISION", "WORKBOOKS_CACHE_DIR"]
    assert all("\n" not in p and len(p) < 300 for p in problems)
    key, klaviyo_url, mavera_url, revision, cache = problems
    assert "not Latin-1" in key and "caf" not in key
    assert klaviyo_url == ("KLAVIYO_BASE_URL=a.klaviyo.com does not start with https:// (or http://): "
                           "set KLAVIYO_BASE_URL to a URL like https://a.klaviyo.com (or unset it to use that).")
    assert "set MAVERA_BASE_URL to a URL like https://app.mavera.io/api/v1" in mavera_url
    assert revision == ("KLAVIYO_REVISION='banana' is not a revision date (YYYY-MM-DD): set it like 2026-07-15 "
                        "or unset it to use 2026-07-15.")
    assert "is a file, not a folder: point WORKBOOKS_CACHE_DIR at a folder" in cache


def test_preflight_passes_good_settings_and_names_missing_required_keys(monkeypatch):
    assert config.preflight() == []
    assert config.preflight(require=["KLAVIYO_API_KEY"]) == [
        "KLAVIYO_API_KEY is not set: put your private API key (pk_...) in .env or the environment, "
        "or run with --sandbox."]
    monkeypatch.setenv("KLAVIYO_RATE_SCALE", "fast")
    assert config.preflight() == ["KLAVIYO_RATE_SCALE must be a number (e.g. 1 or 0.5)."]


@pytest.mark.parametrize("url,problem", [
    ("https://a.klaviyo.com", None), ("http://127.0.0.1:8080", None),
    ("a.klaviyo.com", "does not start with https://"), ("127.0.0.1:8080", "does not start with https://"),
    ("ftp://a.klaviyo.com", "does not start with https://"), ("https://", "names no host"),
    ("https://a.klaviyo.com:99999", "invalid port"), ("https://user:pw@a.klaviyo.com", "user name or password"),
    ("https://a.klaviyo.com /api", "a space"),
])
def test_base_urls_need_a_scheme_and_a_host(url, problem):
    found = config.base_url_problem("KLAVIYO_BASE_URL", url)
    assert (found is None) if problem is None else (problem in found and "pw" not in found)


def test_each_setting_fails_where_it_is_read_not_inside_every_kernel(monkeypatch, tmp_path):
    monkeypatch.setenv("KLAVIYO_API_KEY", KLAVIYO_KEY)
    monkeypatch.setenv("KLAVIYO_REVISION", "banana")
    with pytest.raises(ConfigError, match="^KLAVIYO_REVISION='banana' is not a revision date"):
        KlaviyoSettings.from_env()
    monkeypatch.setenv("KLAVIYO_REVISION", "2026-02-30")
    with pytest.raises(ConfigError, match="not a revision date"):
        KlaviyoSettings.from_env()
    monkeypatch.delenv("KLAVIYO_REVISION")
    monkeypatch.setenv("KLAVIYO_BASE_URL", "a.klaviyo.com")
    with pytest.raises(ConfigError, match="^KLAVIYO_BASE_URL=a.klaviyo.com does not start with https://"):
        KlaviyoClient.from_env()


def test_a_cache_folder_that_cannot_be_one_is_a_config_error(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(blocker))
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        config.cache_dir()
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(blocker / "below"))
    with pytest.raises(ConfigError, match=r"cannot be created \(Not a directory\): point WORKBOOKS_CACHE_DIR"):
        config.cache_dir()


def test_the_cache_folder_follows_xdg_cache_home_unless_workbooks_cache_dir_says_otherwise(monkeypatch, tmp_path):
    from helpers.scheduling import accounts

    monkeypatch.delenv("WORKBOOKS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.cache_dir() == tmp_path / "xdg" / "klaviyo-mavera-workbooks"
    assert accounts.default_cache_dir() == config.default_cache_dir()  # the scheduler's root is the same
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(tmp_path / "mine"))
    assert config.cache_dir() == tmp_path / "mine"


def test_errors_report_the_attempts_really_made(hostile):
    hostile.handler = lambda req: json_response({"errors": [{"detail": "no"}]}, 501)  # not retried
    kc = KlaviyoClient(KlaviyoSettings(api_key=KLAVIYO_KEY, base_url=hostile.base), rate_scale=0, cache=False,
                       progress=False, backoff=0.01, attempts=6)
    with pytest.raises(KlaviyoError, match=r"501\) after 1 attempt;"):
        kc.segments()
    hostile.handler = lambda req: json_response({"errors": [{"detail": "busy"}]}, 503 if req.number < 4 else 504)
    with pytest.raises(KlaviyoError, match=r"\(GET /api/flows, 504\) after 6 attempts"):
        kc.flows()
    assert len(hostile.requests) == 1 + 6


def test_the_persona_hint_names_a_flag_the_runner_has():
    command = NO_PERSONAS.split("persona_ids: ", 1)[1].split(" (or", 1)[0]
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "helpers.run"] and "-y" not in argv
    name, value = argv[argv.index("-p") + 1:argv.index("-p") + 3]
    assert name == "persona_ids" and isinstance(json.loads(value), list)
