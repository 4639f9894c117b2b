import os
from unittest import mock

import pytest

from helpers import config
from helpers.config import ConfigError, KlaviyoSettings, MaveraSettings, is_sandbox
from helpers.redaction import redact


def test_missing_klaviyo_key_says_what_to_do():
    with pytest.raises(ConfigError, match="KLAVIYO_API_KEY is not set"):
        KlaviyoSettings.from_env()


def test_public_key_is_refused(monkeypatch):
    monkeypatch.setenv("KLAVIYO_API_KEY", "AbC123")
    with pytest.raises(ConfigError, match="start with pk_"):
        KlaviyoSettings.from_env()


def test_defaults_and_redacted_repr(monkeypatch):
    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_secretvalue123")
    s = KlaviyoSettings.from_env()
    assert s.base_url == "https://a.klaviyo.com"
    assert s.revision == "2026-07-15"
    assert "secretvalue" not in repr(s) and "secretvalue" not in str(s)


def test_mavera_settings(monkeypatch):
    with pytest.raises(ConfigError, match="MAVERA_API_KEY is not set"):
        MaveraSettings.from_env()
    monkeypatch.setenv("MAVERA_API_KEY", "mvra_live_topsecret")
    monkeypatch.setenv("MAVERA_WORKSPACE_ID", "ws_1")
    s = MaveraSettings.from_env()
    assert s.base_url == "https://app.mavera.io/api/v1" and s.workspace_id == "ws_1"
    assert "topsecret" not in repr(s)
    assert redact("mvra_live_topsecret") == "mvra_***"


def test_dotenv_does_not_override_environment(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("KLAVIYO_API_KEY=pk_fromfile\nWORKBOOKS_SANDBOX=1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBOOKS_IGNORE_DOTENV")
    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_fromenv")
    # load_dotenv writes os.environ directly, behind monkeypatch's back: restore it wholesale.
    with mock.patch.dict(os.environ):
        assert KlaviyoSettings.from_env().api_key == "pk_fromenv"
        assert is_sandbox()
    assert "WORKBOOKS_SANDBOX" not in os.environ  # later tests in this worker must not run "in the sandbox"


def test_project_dotenv_is_found_from_any_working_directory(monkeypatch, tmp_path):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / ".env").write_text("KLAVIYO_API_KEY=pk_fromprojectfile\n")
    monkeypatch.setattr(config, "project_root", lambda: project)
    monkeypatch.chdir(elsewhere)  # no .env here or above it (tmp_path is outside any checkout)
    monkeypatch.delenv("WORKBOOKS_IGNORE_DOTENV")
    with mock.patch.dict(os.environ):
        assert KlaviyoSettings.from_env().api_key == "pk_fromprojectfile"
