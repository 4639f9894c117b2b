"""Settings from the environment and ``.env``. Secrets are never printed.

Every notebook and the runner read their configuration here. A missing or malformed setting
raises :class:`ConfigError` with one sentence that says what to do, before any request is sent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import find_dotenv, load_dotenv

KLAVIYO_DEFAULT_BASE_URL = "https://a.klaviyo.com"
KLAVIYO_DEFAULT_REVISION = "2026-07-15"
MAVERA_DEFAULT_BASE_URL = "https://app.mavera.io/api/v1"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says how to fix it."""


def load_env() -> None:
    """Read ``.env`` without overriding the environment: searched upwards from the working directory,
    else the project's own ``.env`` (cron jobs and schedulers often start in ``/`` or ``$HOME``)."""
    if _truthy("WORKBOOKS_IGNORE_DOTENV"):  # tests set this so a developer's .env never leaks in
        return
    path = find_dotenv(usecwd=True) or project_root() / ".env"
    if Path(path).is_file():
        load_dotenv(path, override=False)


def redact(secret: str | None) -> str:
    """A form of a key that is safe to show: its prefix only."""
    if not secret:
        return "<unset>"
    prefix = secret.split("_", 1)[0] if "_" in secret else secret[:2]
    return f"{prefix}_***"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def _truthy(name: str) -> bool:
    return (_env(name) or "").lower() in {"1", "true", "yes", "on"}


def _api_key(name: str, prefix: str, what: str, where: str) -> str:
    """The key in ``name``, or a ConfigError saying how to set it (checked before any request is sent)."""
    load_env()
    key = _env(name)
    if not key:
        raise ConfigError(
            f"{name} is not set: put your {what} ({prefix}...) in .env or the environment, or run with --sandbox."
        )
    if not key.startswith(prefix):
        raise ConfigError(
            f"{name} does not look like a {what} (it should start with {prefix}); create one under {where}."
        )
    return key


@dataclass(frozen=True)
class KlaviyoSettings:
    api_key: str = field(repr=False)
    base_url: str = KLAVIYO_DEFAULT_BASE_URL
    revision: str = KLAVIYO_DEFAULT_REVISION

    def __repr__(self) -> str:
        return f"KlaviyoSettings(api_key={redact(self.api_key)!r}, base_url={self.base_url!r}, revision={self.revision!r})"

    @classmethod
    def from_env(cls) -> KlaviyoSettings:
        key = _api_key("KLAVIYO_API_KEY", "pk_", "private API key", "Settings > API keys in Klaviyo")
        return cls(
            api_key=key,
            base_url=(_env("KLAVIYO_BASE_URL", KLAVIYO_DEFAULT_BASE_URL) or "").rstrip("/"),
            revision=_env("KLAVIYO_REVISION", KLAVIYO_DEFAULT_REVISION) or KLAVIYO_DEFAULT_REVISION,
        )


@dataclass(frozen=True)
class MaveraSettings:
    api_key: str = field(repr=False)
    base_url: str = MAVERA_DEFAULT_BASE_URL
    workspace_id: str | None = None

    def __repr__(self) -> str:
        return f"MaveraSettings(api_key={redact(self.api_key)!r}, base_url={self.base_url!r}, workspace_id={self.workspace_id!r})"

    @classmethod
    def from_env(cls) -> MaveraSettings:
        key = _api_key("MAVERA_API_KEY", "mvra_", "Mavera API key", "Settings > Developer > API Keys in Mavera")
        return cls(
            api_key=key,
            base_url=(_env("MAVERA_BASE_URL", MAVERA_DEFAULT_BASE_URL) or "").rstrip("/"),
            workspace_id=_env("MAVERA_WORKSPACE_ID"),
        )


def is_sandbox() -> bool:
    """True when the runner, ``make lab`` or a test pointed the clients at the local sandbox."""
    load_env()
    return _truthy("WORKBOOKS_SANDBOX")


def cache_dir() -> Path:
    """Where HTTP and Mavera result caches live (``WORKBOOKS_CACHE_DIR``, default ~/.cache/...)."""
    load_env()
    path = Path(_env("WORKBOOKS_CACHE_DIR") or Path.home() / ".cache" / "klaviyo-mavera-workbooks")
    path.mkdir(parents=True, exist_ok=True)
    return path


def project_root() -> Path:
    """The repository root (the folder holding pyproject.toml), searched upwards from the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").exists() and (candidate / "notebooks").is_dir():
            return candidate
    return Path.cwd()
