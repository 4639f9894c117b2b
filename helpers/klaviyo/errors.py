"""Failed Klaviyo requests as :class:`KlaviyoError`: one line that says what happened and what to do."""

from __future__ import annotations

import re

import requests

from helpers.http import ratelimits
from helpers.http.session import retry_after_seconds, retry_at
from helpers.redaction import redact


class KlaviyoError(RuntimeError):
    """A Klaviyo request failed in a way a person can act on; the message says what to do.

    The message is redacted here, where the error becomes text: no key survives into a report, even
    one a server echoed back or a library quoted.
    """

    def __init__(self, message: str, status: int | None = None):
        super().__init__(redact(message))
        self.status = status


class KlaviyoAuthError(KlaviyoError):
    """Klaviyo rejected the key (401) or the key lacks a scope (403): no retry helps until the key is fixed
    (the runner counts a job that stops on it as a permanent failure, exit 2)."""


class KlaviyoSettingsError(KlaviyoError):
    """A setting is wrong in a way no retry fixes (a base URL whose server does not speak https, a TLS
    certificate that is not trusted): the runner counts it as a permanent failure, exit 2."""


# What each collection is, for a person: error sentences name what was being fetched, as paths are
# taken out of the reports' error lines.
_FETCHING = (
    (re.compile(r"^/api/profiles/?$"), "profiles"),
    (re.compile(r"^/api/segments/?$"), "the list of segments"),
    (re.compile(r"^/api/segments/[^/]+/profiles/?$"), "a segment's members"),
    (re.compile(r"^/api/segments/[^/]+/?$"), "a segment's profile count"),
    (re.compile(r"^/api/flows/?$"), "the list of flows"),
    (re.compile(r"^/api/flows/[^/]+/flow-actions/?$"), "a flow's actions"),
    (re.compile(r"^/api/flows/[^/]+/?$"), "a flow's definition"),
    (re.compile(r"^/api/flow-actions/[^/]+/flow-messages/?$"), "flow messages"),
    (re.compile(r"^/api/campaigns/?$"), "campaigns"),
    (re.compile(r"^/api/metrics/?$"), "the list of metrics"),
    (re.compile(r"^/api/events/?$"), "events"),
    (re.compile(r"^/api/catalog-items/?$"), "catalog items"),
    (re.compile(r"^/api/catalog-categories/?$"), "catalog categories"),
    (re.compile(r"^/api/flow-values-reports/?$"), "the flow performance report"),
    (re.compile(r"^/api/campaign-values-reports/?$"), "the campaign performance report"),
)


def fetching(path: str) -> str:
    """What a request to ``path`` fetches, in a reader's words ("the list of segments"); the path itself
    for one not listed."""
    return next((words for regex, words in _FETCHING if regex.match(path)), path)


def _attempts(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"


def unreachable(method: str, path: str, attempts: int, reason: str, base_url: str) -> KlaviyoError:
    """No answer after every attempt (``reason`` from :func:`helpers.http.session.transport_failure`)."""
    return KlaviyoError(
        f"could not reach Klaviyo to fetch {fetching(path)} ({method} {path}) after {_attempts(attempts)} "
        f"({reason}); check KLAVIYO_BASE_URL={base_url} and the network, then rerun.")


def tls_failed(method: str, path: str, reason: str, base_url: str) -> KlaviyoSettingsError:
    """A TLS handshake or certificate failure: a setting to fix, not retried."""
    return KlaviyoSettingsError(
        f"could not open a secure connection to Klaviyo to fetch {fetching(path)} ({method} {path}): {reason}; "
        f"check KLAVIYO_BASE_URL={base_url} (https:// to a server that speaks it, with a trusted certificate).")


def refused(method: str, path: str, reason: str, base_url: str) -> KlaviyoError:
    """A URL from an answer (links.next, a redirect) names another origin: nothing was sent there."""
    return KlaviyoError(
        f"Klaviyo's answer to {method} {path} pointed to another server ({reason}); the request and the key "
        f"were not sent there. If the account really moved, set KLAVIYO_BASE_URL (now {base_url}).")


def _detail(response: requests.Response) -> str:
    """The first JSON:API error's detail (or title), if the body is a JSON:API error document."""
    if "json" not in response.headers.get("content-type", ""):
        return ""
    try:
        first = (response.json().get("errors") or [{}])[0]
        return str(first.get("detail") or first.get("title") or "").strip()
    except (ValueError, AttributeError, IndexError):
        return ""


def http_error(method: str, path: str, response: requests.Response, *, revision: str,
               attempts: int, max_wait: float | None = None) -> KlaviyoError:
    """The error for an answer with status >= 400 (retries, where they apply, are already spent).

    ``attempts``: how many were really made; ``max_wait``: the longest Retry-After the client sleeps on.
    """
    status = response.status_code
    ctype = response.headers.get("content-type", "")
    detail = _detail(response)
    what = f"{method} {path}"
    if status == 401:
        return KlaviyoAuthError(
            f"Klaviyo rejected the API key (401) on {what}: set KLAVIYO_API_KEY to a current private key "
            "(pk_...) of this account.", status)
    if status == 403:
        return _forbidden(method, path, what, ctype, response, status)
    if status in (400, 404, 410) and "revision" in detail.lower():
        return KlaviyoError(
            f"Klaviyo does not accept revision {revision} ({status}: {detail}); set "
            f"KLAVIYO_REVISION to a supported revision or unset it to use {ratelimits.revision()}.", status)
    if status == 410:
        return KlaviyoError(
            f"revision {revision} is retired (410 on {what}); set KLAVIYO_REVISION to a "
            f"supported revision such as {ratelimits.revision()}.", status)
    if status == 404:
        return KlaviyoError(f"Klaviyo has no {path} (404): check the id, it may have been deleted.", status)
    if status == 429:
        return _throttled(method, path, what, response, status, attempts, max_wait)
    if status >= 500:
        return KlaviyoError(
            f"Klaviyo failed on {fetching(path)} ({what}, {status}) after {_attempts(attempts)}; rerun later "
            "(results fetched so far are cached).", status)
    return KlaviyoError(f"Klaviyo refused {what} ({status}): {detail or response.reason}", status)


def _forbidden(method: str, path: str, what: str, ctype: str, response: requests.Response,
               status: int) -> KlaviyoError:
    """A 403: Klaviyo's bot protection (a challenge page), or a key without the endpoint's scope."""
    if "html" in ctype or response.headers.get("cf-mitigated"):
        return KlaviyoError(
            f"Klaviyo's bot protection blocked {what} (403 challenge page, not a missing scope); "
            "rerun later or from another network.", status)
    scopes = ratelimits.scopes_for(method, path)
    need = ", ".join(scopes) if scopes else "the read scope for this endpoint"
    return KlaviyoAuthError(
        f"the API key lacks a scope for {what} (403): grant {need} to the key under "
        "Settings > API keys in Klaviyo.", status)


def _throttled(method: str, path: str, what: str, response: requests.Response, status: int,
               attempts: int, max_wait: float | None) -> KlaviyoError:
    """A 429 that retries did not get past: the daily cap, a wait longer than we sleep, or throttling."""
    wait = response.headers.get("Retry-After")
    seconds = retry_after_seconds(wait)
    when = f"at {retry_at(seconds)}" if seconds is not None else "later"
    lim = ratelimits.limit_for(method, path)
    if lim is not None and lim.daily is not None:
        return KlaviyoError(
            f"Klaviyo's daily limit for {lim.bucket} ({lim.daily}/day, shared by every app on the account) "
            f"is used up; rerun {when if seconds is not None else 'after midnight UTC'} - cached reports "
            "are reused.", status)
    if seconds is not None and max_wait is not None and seconds > max_wait:
        return KlaviyoError(
            f"Klaviyo asks to wait {seconds:,.0f} s before {what} (429), longer than the {max_wait:g} s this "
            f"client waits; rerun {when} (results fetched so far are cached).", status)
    return KlaviyoError(
        f"Klaviyo kept throttling {what} (429, Retry-After {wait}) after {_attempts(attempts)}; another "
        f"integration may be using this account's limit - rerun {when}.", status)
