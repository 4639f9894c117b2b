"""Settings from the environment and ``.env``. Secrets are never printed.

Every notebook and the runner read their configuration here. A missing or malformed setting
raises :class:`ConfigError` with one sentence that says what to do, before any request is sent;
:func:`preflight` checks every setting at once (the runner calls it before any kernel starts).
Keys are checked for what an HTTP header can carry; :mod:`helpers.redaction` masks them in any text.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from dotenv import find_dotenv, load_dotenv

from helpers import redaction
from helpers.private import private_dir

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




def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def _truthy(name: str) -> bool:
    return (_env(name) or "").lower() in {"1", "true", "yes", "on"}


# (variable, prefix, what it is, where to create one)
_KEYS = {
    "KLAVIYO_API_KEY": ("pk_", "private API key", "Settings > API keys in Klaviyo"),
    "MAVERA_API_KEY": ("mvra_", "Mavera API key", "Settings > Developer > API Keys in Mavera"),
}
_REVISION = re.compile(r"(\d{4})-(\d{2})-(\d{2})(\.pre)?")


def key_problem(name: str, key: str) -> str | None:
    """What is wrong with a key's characters, in one line that never shows the key; None when fine.

    An HTTP header value carries Latin-1 text without control characters; a key with a line break
    would be rejected by requests (in an error quoting it) or, worse, split the header.
    """
    prefix, what, where = _KEYS.get(name, ("", "key", "its service"))
    for position, char in enumerate(key, 1):
        if char in "\r\n":
            problem = "a line break"
        elif ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            problem = f"a control character (U+{ord(char):04X})"
        elif ord(char) > 0xFF:
            problem = "a character an HTTP header cannot carry (not Latin-1)"
        elif char.isspace():
            problem = "a space"
        else:
            continue
        return (f"{name} contains {problem} at position {position}: copy the {what} again from {where} "
                "and set it without it.")
    if prefix and not key.startswith(prefix):
        return f"{name} does not look like a {what} (it should start with {prefix}); create one under {where}."
    return None


def base_url_problem(name: str, url: str) -> str | None:
    """What is wrong with an API root, in one line that says what to set; None when fine."""
    default = KLAVIYO_DEFAULT_BASE_URL if name.startswith("KLAVIYO") else MAVERA_DEFAULT_BASE_URL
    fix = f"set {name} to a URL like {default} (or unset it to use that)."
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
        return f"{name} contains a space or a character a URL cannot hold: {fix}"
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or "://" not in url:
        return f"{name}={url} does not start with https:// (or http://): {fix}"
    if "@" in parts.netloc:
        return f"{name} must not hold a user name or password (keys go in the API key variables): {fix}"
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return f"{name}={url} has an invalid port: {fix}"
    if not parts.hostname:
        return f"{name}={url} names no host: {fix}"
    return insecure_url_problem(name, url)


def is_loopback(host: str) -> bool:
    """True for this machine: ``localhost``, 127.0.0.0/8 and ::1 (the sandbox and local test servers)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_url_problem(name: str, url: str) -> str | None:
    """One line when ``url`` would send a key unencrypted: plain ``http://`` to a host other than this machine,
    unless ``WORKBOOKS_ALLOW_HTTP=1`` (a test proxy) says so; None otherwise."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or is_loopback(parts.hostname or "") or _truthy("WORKBOOKS_ALLOW_HTTP"):
        return None
    secure = urlunsplit(("https", *parts[1:]))
    return (f"{name}={url} is plain http: the API key would travel unencrypted; set {name}={secure} (plain http "
            "is allowed only to this machine, or with WORKBOOKS_ALLOW_HTTP=1 for a test proxy).")


def revision_problem(revision: str) -> str | None:
    """What is wrong with KLAVIYO_REVISION, in one line; None when it is a revision date."""
    match = _REVISION.fullmatch(revision)
    valid = False
    if match:
        try:
            date(int(match[1]), int(match[2]), int(match[3]))
            valid = True
        except ValueError:
            pass
    if valid:
        return None
    return (f"KLAVIYO_REVISION={revision!r} is not a revision date (YYYY-MM-DD): set it like "
            f"{KLAVIYO_DEFAULT_REVISION} or unset it to use {KLAVIYO_DEFAULT_REVISION}.")


def _check(problem: str | None) -> None:
    if problem:
        raise ConfigError(problem)


def _api_key(name: str, prefix: str, what: str, where: str) -> str:
    """The key in ``name``, or a ConfigError saying how to set it (checked before any request is sent)."""
    load_env()
    key = _env(name)
    if not key:
        raise ConfigError(
            f"{name} is not set: put your {what} ({prefix}...) in .env or the environment, or run with --sandbox."
        )
    _check(key_problem(name, key))
    return key


@dataclass(frozen=True, repr=False)
class _ApiSettings:
    """What the two APIs' settings share: the key registered for redaction and checked, the base URL checked, a
    repr that masks the key, and how they are read from the environment. Each subclass names its variables and
    its default base URL."""

    KEY: ClassVar[tuple[str, str, str, str]]  # (variable, prefix, what it is, where to find it)
    URL: ClassVar[str]  # the base URL's variable
    api_key: str = field(repr=False)
    base_url: str = ""

    def __post_init__(self) -> None:
        # Settings built in code (tests, bench) are held to the same rules as the environment's.
        redaction.register(self.api_key)
        _check(key_problem(self.KEY[0], self.api_key) if _unsafe(self.api_key) else None)
        _check(base_url_problem(self.URL, self.base_url))

    def __repr__(self) -> str:
        shown = (f"{f.name}={redaction.mask(self.api_key) if f.name == 'api_key' else getattr(self, f.name)!r}"
                 for f in fields(self))  # subclasses are dataclasses
        return f"{type(self).__name__}({', '.join(shown)})"

    @classmethod
    def _from_env(cls, **more: str | None):
        return cls(api_key=_api_key(*cls.KEY), base_url=(_env(cls.URL, cls.base_url) or "").rstrip("/"), **more)


@dataclass(frozen=True, repr=False)
class KlaviyoSettings(_ApiSettings):
    KEY = ("KLAVIYO_API_KEY", "pk_", "private API key", "Settings > API keys in Klaviyo")
    URL = "KLAVIYO_BASE_URL"
    base_url: str = KLAVIYO_DEFAULT_BASE_URL
    revision: str = KLAVIYO_DEFAULT_REVISION

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(revision_problem(self.revision))

    @classmethod
    def from_env(cls) -> KlaviyoSettings:
        return cls._from_env(revision=_env("KLAVIYO_REVISION", KLAVIYO_DEFAULT_REVISION) or KLAVIYO_DEFAULT_REVISION)


@dataclass(frozen=True, repr=False)
class MaveraSettings(_ApiSettings):
    KEY = ("MAVERA_API_KEY", "mvra_", "Mavera API key", "Settings > Developer > API Keys in Mavera")
    URL = "MAVERA_BASE_URL"
    base_url: str = MAVERA_DEFAULT_BASE_URL
    workspace_id: str | None = None

    @classmethod
    def from_env(cls) -> MaveraSettings:
        return cls._from_env(workspace_id=_env("MAVERA_WORKSPACE_ID"))


def is_sandbox() -> bool:
    """True when the runner, ``make lab`` or a test pointed the clients at the local sandbox."""
    load_env()
    return _truthy("WORKBOOKS_SANDBOX")


def _unsafe(key: str) -> bool:
    """A key holding a character a header cannot carry (the prefix is checked only for keys from the
    environment: code may build settings with sandbox or placeholder keys)."""
    return key_problem("", key) is not None


def rate_scale() -> float | None:
    """``KLAVIYO_RATE_SCALE``: the share of Klaviyo's limits to pace against (0: none), or None when unset."""
    load_env()
    raw = _env("KLAVIYO_RATE_SCALE")
    if raw is None:
        return None
    try:
        scale = float(raw)
    except ValueError:
        scale = math.nan
    if not math.isfinite(scale) or scale < 0:
        raise ConfigError("KLAVIYO_RATE_SCALE must be a number (e.g. 1 or 0.5).")
    return scale


APP_NAME = "klaviyo-mavera-workbooks"


def default_cache_dir() -> Path:
    """The user's cache folder for this project: ``$XDG_CACHE_HOME/klaviyo-mavera-workbooks`` (default
    ``~/.cache/...``) on Linux, the platform's own elsewhere (platformdirs)."""
    import platformdirs

    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


def cache_dir() -> Path:
    """Where HTTP and Mavera result caches live (``WORKBOOKS_CACHE_DIR``, else :func:`default_cache_dir`),
    created private to the user (0700); a ConfigError says what to set when it cannot be a folder."""
    load_env()
    configured = _env("WORKBOOKS_CACHE_DIR")
    path = Path(configured).expanduser() if configured else default_cache_dir()
    name = f"WORKBOOKS_CACHE_DIR={path}" if configured else f"the cache folder {path}"
    fix = (f"point WORKBOOKS_CACHE_DIR at a folder you can write (or unset it to use {default_cache_dir()}, "
           "which follows XDG_CACHE_HOME).")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name} is a file, not a folder: {fix}")
    try:
        private_dir(path)
    except OSError as exc:
        raise ConfigError(f"{name} cannot be created ({exc.strerror or type(exc).__name__}): {fix}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{name} is not writable: {fix}")
    return path


def preflight(require: Iterable[str] = ()) -> list[str]:
    """Every setting checked at once: one line per problem, each saying what to set (empty: all fine).

    The runner calls this before any kernel starts, so a bad setting is reported once instead of
    inside every notebook. Keys are checked when set; ``require`` names the ones that must be set.
    Nothing is sent and no key is ever shown.
    """
    load_env()
    problems: list[str] = []
    for name, (prefix, what, _where) in _KEYS.items():
        key = _env(name)
        if not key:
            if name in require:
                problems.append(f"{name} is not set: put your {what} ({prefix}...) in .env or the "
                                "environment, or run with --sandbox.")
            continue
        if problem := key_problem(name, key):
            problems.append(problem)
    for name, default in (("KLAVIYO_BASE_URL", KLAVIYO_DEFAULT_BASE_URL), ("MAVERA_BASE_URL", MAVERA_DEFAULT_BASE_URL)):
        if problem := base_url_problem(name, (_env(name, default) or "").rstrip("/")):
            problems.append(problem)
    if problem := revision_problem(_env("KLAVIYO_REVISION", KLAVIYO_DEFAULT_REVISION) or ""):
        problems.append(problem)
    for check in (rate_scale, cache_dir):
        try:
            check()
        except ConfigError as exc:
            problems.append(str(exc))
    return [redaction.redact(p) for p in problems]


def project_root() -> Path:
    """The repository root (the folder holding pyproject.toml), searched upwards from the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").exists() and (candidate / "notebooks").is_dir():
            return candidate
    return Path.cwd()


# ---------------------------------------------------------------------------------------------- mail (--email-to)

SMTP_VARIABLES = ("WORKBOOKS_SMTP_HOST", "WORKBOOKS_SMTP_PORT", "WORKBOOKS_SMTP_FROM", "WORKBOOKS_SMTP_USER",
                  "WORKBOOKS_SMTP_PASSWORD", "WORKBOOKS_SMTP_STARTTLS")
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def email_address_problem(name: str, address: str) -> str | None:
    """What is wrong with one mail address (``name`` says where it came from); None when it looks like one."""
    if _ADDRESS.fullmatch(address.strip()):
        return None
    return f"{name}: {address!r} is not a mail address (like analyst@shop.example)."


@dataclass(frozen=True)
class SmtpSettings:
    """Where the run's summary mail goes out (``--email-to``). The password is a secret like the API keys:
    registered for redaction, never in a repr."""

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True

    def __post_init__(self) -> None:
        redaction.register(self.password)

    def __repr__(self) -> str:
        secret = redaction.mask(self.password) if self.password else None
        return (f"SmtpSettings(host={self.host!r}, port={self.port}, sender={self.sender!r}, user={self.user!r}, "
                f"password={secret!r}, starttls={self.starttls})")

    @property
    def implicit_tls(self) -> bool:
        """Port 465 speaks TLS from the first byte (SMTPS); STARTTLS upgrades a plain connection instead."""
        return self.port == 465

    @classmethod
    def from_env(cls) -> SmtpSettings:
        """The settings, or a ConfigError with every problem (one sentence each, joined)."""
        problems = smtp_problems()
        if problems:
            raise ConfigError(" ".join(problems))
        starttls = _smtp_starttls()
        return cls(
            host=_env("WORKBOOKS_SMTP_HOST") or "",
            port=int(_env("WORKBOOKS_SMTP_PORT") or (587 if starttls else 25)),
            sender=_env("WORKBOOKS_SMTP_FROM") or "",
            user=_env("WORKBOOKS_SMTP_USER"),
            password=_env("WORKBOOKS_SMTP_PASSWORD"),
            starttls=starttls,
        )


def _smtp_starttls() -> bool:
    raw = (_env("WORKBOOKS_SMTP_STARTTLS") or "1").lower()
    return raw in {"1", "true", "yes", "on"}


def smtp_problems() -> list[str]:
    """Every mail setting checked at once, one line per problem (empty: all fine); no value of the password
    is ever shown. The runner calls this before any job when ``--email-to`` is given."""
    load_env()
    problems: list[str] = []
    host = _env("WORKBOOKS_SMTP_HOST")
    if not host:
        problems.append("WORKBOOKS_SMTP_HOST is not set: name your mail server (e.g. smtp.example.com) in .env "
                        "or the environment to use --email-to.")
    elif any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in host) or "/" in host:
        problems.append(f"WORKBOOKS_SMTP_HOST={host!r} is not a host name: give only the server's name, like smtp.example.com.")
    port = _env("WORKBOOKS_SMTP_PORT")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        problems.append(f"WORKBOOKS_SMTP_PORT={port!r} is not a port: use 587 (STARTTLS), 465 (TLS) or 25.")
    sender = _env("WORKBOOKS_SMTP_FROM")
    if not sender:
        problems.append("WORKBOOKS_SMTP_FROM is not set: the address the summary is sent from (e.g. reports@shop.example).")
    elif problem := email_address_problem("WORKBOOKS_SMTP_FROM", sender):
        problems.append(problem)
    raw_tls = (_env("WORKBOOKS_SMTP_STARTTLS") or "1").lower()
    if raw_tls not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        problems.append(f"WORKBOOKS_SMTP_STARTTLS={raw_tls!r}: use 1 (encrypt with STARTTLS, the default) or 0.")
    user, password = _env("WORKBOOKS_SMTP_USER"), _env("WORKBOOKS_SMTP_PASSWORD")
    if bool(user) != bool(password):
        problems.append("WORKBOOKS_SMTP_USER and WORKBOOKS_SMTP_PASSWORD go together: set both to log in, or neither.")
    plain = not _smtp_starttls() and port != "465"
    if password and plain and (host or "").lower() not in _LOOPBACK:
        problems.append("WORKBOOKS_SMTP_STARTTLS=0 with a password would send it unencrypted: set "
                        "WORKBOOKS_SMTP_STARTTLS=1 or use port 465.")
    return [redaction.redact(p) for p in problems]
