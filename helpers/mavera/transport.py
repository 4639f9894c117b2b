"""One Mavera request on the wire: the session (the project's HTTP policy), error lines, credits charged,
how long to wait after a 429 and between focus-group polls."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import requests

from helpers.config import ConfigError, load_env
from helpers.http import session as http

DEFAULT_TIMEOUT = (10, 120)
DEFAULT_POLL_SECONDS = 3.0  # real focus groups take 30-120 s (research: poll every 3-5 s)
MAX_RETRY_AFTER = http.RETRY_AFTER_CAP  # a longer Retry-After fails with when to retry, never a long sleep
ATTEMPTS = 12  # per free GET, and per charged request (each unanswered one looked up before the next)


def make_session(api_key: str, backoff_factor: float = 0.5, base_url: str | None = None,
                 deadline: float | None = http.REQUEST_DEADLINE) -> requests.Session:
    """The Mavera session, built on the project's one HTTP policy module (helpers/http/session.py).

    urllib3 retries idempotent GETs (every lookup is a free GET) on 429/5xx/dropped connections,
    honouring Retry-After, up to :data:`ATTEMPTS` attempts within one deadline per request
    (:data:`helpers.http.session.REQUEST_DEADLINE`), like Klaviyo's; POST and PATCH are not retried there
    (only connection failures before anything was sent): the client decides per call, because a charging
    POST must not be repeated blindly. The session sends only to the origin of ``base_url`` (the client
    binds it to its own when given a session without one).
    """
    return http.make_session(
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                 "Accept": "application/json", "User-Agent": "klaviyo-mavera-workbooks"},
        retry=http.make_retry(attempts=ATTEMPTS, backoff=backoff_factor, backoff_max=20, methods=("GET",),
                              max_retry_after=MAX_RETRY_AFTER),
        timeout=DEFAULT_TIMEOUT,
        origin=base_url,
        deadline=deadline,
    )


def error_line(resp: requests.Response) -> tuple[str, str | None]:
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    err = (doc.get("error") or {}) if isinstance(doc, dict) else {}
    if not isinstance(err, dict):
        err = {"message": str(err)}
    message = " ".join(str(err.get("message") or resp.reason or "no message").split())
    return message, err.get("code")


def credits_of(body: Mapping) -> int:
    usage = body.get("usage") or {}
    value = usage.get("credits_used", body.get("credits_charged", 0))
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0



def poll_seconds() -> float:
    """``MAVERA_POLL_SECONDS`` from the environment/.env, or the default; a bad value is one clear line."""
    load_env()
    raw = os.environ.get("MAVERA_POLL_SECONDS", "").strip()
    if not raw:
        return DEFAULT_POLL_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"MAVERA_POLL_SECONDS must be a positive number of seconds (e.g. 3), not {raw!r}; "
                          "unset it for the default.")
    return value


def retry_after_wait(resp: requests.Response, attempt: int) -> float:
    """Seconds to wait after a 429: its Retry-After (seconds or a date; callers refuse ones over the
    cap first, and this caps again), else exponential backoff."""
    wait = http.retry_after_seconds(resp.headers.get("Retry-After"))
    return min(MAX_RETRY_AFTER, wait) if wait is not None else float(min(60, 2 ** (attempt + 1)))
