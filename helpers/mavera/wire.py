"""How the Mavera client speaks to the wire: GETs, POST/PATCH attempts, charged requests made exactly once,
lists that must end, and each failure as the MaveraError that says what to do.

:class:`Wire` is the base of :class:`~helpers.mavera.client.MaveraClient`, which sets the attributes it
reads (``base_url``, ``_session``, ``_sleep``, ``done``, ``max_pages``) and counts (``requests_sent``,
``credits_spent``). Every request and response shape stays in ``client``; this module knows statuses,
bodies as JSON objects and list pages, not what an endpoint means.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping

import requests

from helpers.http import session as http
from helpers.mavera.errors import (
    CreditsExhausted,
    MaveraAPIError,
    MaveraAuthError,
    MaveraError,
    MaveraSettingsError,
    MaveraUnavailable,
)
from helpers.mavera.transport import (
    ATTEMPTS,
    DEFAULT_TIMEOUT,
    MAX_RETRY_AFTER,
    credits_of,
    error_line,
    retry_after_wait,
)

MAX_POST_ATTEMPTS = ATTEMPTS  # sends of one POST/PATCH (429s waited out, unanswered charged ones looked up first)
POST_DEADLINE = 600.0  # seconds for one POST/PATCH through all its attempts, waits and lookups
MAX_LIST_PAGES = 1_000  # one list endpoint (100 items a page); a list that never ends stops here


class _Unknown(Exception):
    """A charging POST failed in a way that leaves open whether Mavera applied it."""


class _Unresolved(MaveraUnavailable):
    """A charging POST whose outcome is still unknown: unanswered, and the lookup failed too."""


class Wire:
    """Requests to one Mavera account, each failure a MaveraError (see the module's docstring)."""

    base_url: str
    _session: requests.Session
    _sleep: Callable[[float], None]
    done: list[dict]
    max_pages: int
    requests_sent: int
    credits_spent: int

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _raise_for(self, resp: requests.Response, method: str, path: str) -> None:
        message, code = error_line(resp)
        where = f"Mavera {method} {path}"
        if resp.status_code in (401, 403):
            verb = "rejected" if resp.status_code == 401 else "refused access to"
            raise MaveraAuthError(
                f"Mavera {verb} MAVERA_API_KEY ({resp.status_code} on {method} {path}: {message}): set MAVERA_API_KEY "
                "to a current key with access to MAVERA_WORKSPACE_ID (Settings > Developer > API Keys in Mavera), "
                "then rerun.", resp.status_code, code)
        if resp.status_code >= 500 or resp.status_code == 429:
            tries = http.attempts_of(resp, 1)
            raise MaveraUnavailable(f"{where} failed with {resp.status_code} after {tries} attempt"
                                    f"{'s' if tries != 1 else ''}: {message}; try again later.", resp.status_code, code)
        if resp.status_code == 402:
            done = ", ".join(f"{d['kind']} {d.get('id')}" for d in self.done) or "nothing"
            raise CreditsExhausted(
                f"{where}: out of Mavera credits ({message}); kept what was done ({done}); add credits and rerun "
                "(finished work is cached and will not be charged again).", self.done,
            )
        raise MaveraAPIError(f"{where} failed with {resp.status_code}: {message}", resp.status_code, code)

    def _not_sent(self, method: str, path: str, exc: requests.RequestException) -> MaveraError | None:
        """The error for a request that was never sent (a refused origin, a base URL requests cannot use)."""
        if isinstance(exc, http.RefusedURL):
            return MaveraError(f"Mavera {method} {path}: the answer pointed to another server ({exc}); the request "
                               f"and the key were not sent there. If Mavera really moved, set MAVERA_BASE_URL "
                               f"(now {self.base_url}).")
        if isinstance(exc, (requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidURL)):
            return MaveraError(f"Mavera {method} {path}: MAVERA_BASE_URL={self.base_url} is not an http(s) URL "
                               f"({type(exc).__name__}); set it like https://app.mavera.io/api/v1.")
        if http.is_tls_failure(exc):  # no TLS session was made: nothing reached Mavera, and no retry helps
            return MaveraSettingsError(
                f"could not open a secure connection to Mavera for {method} {path}: {http.tls_reason(exc)}; check "
                f"MAVERA_BASE_URL={self.base_url} (https:// to a server that speaks it, with a trusted certificate).")
        return None

    def _body(self, resp: requests.Response, method: str, path: str, charged: bool = False) -> dict:
        """The JSON object of a 2xx answer, or a MaveraError saying what came instead."""
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        kind = "JSON that is not an object" if body is not None else \
            f"a body that is not JSON ({resp.headers.get('Content-Type') or 'no content type'})"
        after = (" It may have been applied and charged, so it was not repeated; check Mavera before rerunning."
                 if charged else " Try again later; if it persists, check MAVERA_BASE_URL.")
        raise MaveraError(f"Mavera answered {method} {path} ({resp.status_code}) with {kind}.{after}")

    def _too_long(self, resp: requests.Response, method: str, path: str) -> MaveraError | None:
        """A 429 whose Retry-After is beyond :data:`MAX_RETRY_AFTER`: fail now, saying when to retry."""
        wait = http.retry_after_seconds(resp.headers.get("Retry-After"))
        if wait is None or wait <= MAX_RETRY_AFTER:
            return None
        return MaveraAPIError(f"Mavera asks to wait {wait:,.0f} s before {method} {path} (429), longer than the "
                              f"{MAX_RETRY_AFTER:g} s this client waits; rerun at {http.retry_at(wait)} "
                              "(finished work is cached).", 429, "rate_limit_exceeded")

    def _get(self, path: str, params: Mapping | None = None) -> dict:
        try:
            resp = self._session.get(self._url(path), params=params, timeout=DEFAULT_TIMEOUT)
        except requests.RequestException as exc:
            if (error := self._not_sent("GET", path, exc)) is not None:
                raise error from None
            self.requests_sent += 1
            reason = http.transport_failure(exc, DEFAULT_TIMEOUT)
            tries = http.attempts_of(exc, 1)
            raise MaveraUnavailable(f"Mavera GET {path} failed after {tries} attempt{'s' if tries != 1 else ''} "
                                    f"({reason}); try again later.") from None
        self.requests_sent += 1
        if resp.status_code == 429 and (error := self._too_long(resp, "GET", path)) is not None:
            raise error
        if resp.status_code >= 400:
            self._raise_for(resp, "GET", path)
        return self._body(resp, "GET", path)

    def _send(self, method: str, path: str, payload: dict, charging: bool, timeout=DEFAULT_TIMEOUT) -> dict:
        """POST/PATCH once per attempt; 429 is waited out (it was not applied), up to :data:`MAX_RETRY_AFTER`.

        For a charging call, a 5xx, timeout or dropped connection raises ``_Unknown`` so the caller can
        look the object up (:meth:`_once`); a non-charging call is retried with backoff instead, up to
        :data:`MAX_POST_ATTEMPTS` attempts within :data:`POST_DEADLINE`. A request that was never sent
        (refused origin, unusable base URL, TLS failure) fails at once.
        """
        ends = time.monotonic() + POST_DEADLINE
        for attempt in range(MAX_POST_ATTEMPTS):
            if attempt and time.monotonic() > ends:
                break
            try:
                resp = self._session.request(method, self._url(path), json=payload, timeout=timeout)
            except requests.RequestException as exc:
                if (error := self._not_sent(method, path, exc)) is not None:
                    raise error from None
                self.requests_sent += 1
                reason = "timeout" if isinstance(exc, requests.Timeout) else http.transport_failure(exc, timeout)
                if charging:  # sent, perhaps applied: the caller looks it up rather than paying twice
                    raise _Unknown(reason) from exc
                self._sleep(min(30, 2**attempt))
                continue
            self.requests_sent += 1
            body = self._answer_of(resp, method, path, charging, attempt)
            if body is not None:
                return body
        raise MaveraUnavailable(f"Mavera {method} {path} still failing after {attempt + 1} attempts; "
                                "try again later.")

    def _once(self, method: str, path: str, payload: dict, find: Callable[[], dict | None], what: str,
              timeout=DEFAULT_TIMEOUT) -> tuple[dict, bool]:
        """Send a charging request so that Mavera applies it exactly once, whatever faults come between.

        After an attempt that may or may not have been applied (5xx, timeout, dropped connection), wait a
        backoff (a request still running on Mavera's side lands meanwhile), look the object up with
        ``find`` (free GETs, themselves retried) and send again only when it is not there. Returns the
        answer and whether it was found by the lookup (applied, though its answer never arrived). Bounded
        by :data:`MAX_POST_ATTEMPTS` sends and :data:`POST_DEADLINE`; then a :class:`MaveraUnavailable`
        that says nothing was charged (every lookup found nothing).
        """
        ends = time.monotonic() + POST_DEADLINE
        last: _Unknown | None = None
        attempt = 0
        for attempt in range(1, MAX_POST_ATTEMPTS + 1):
            try:
                return self._send(method, path, payload, charging=True, timeout=timeout), False
            except _Unknown as exc:
                last = exc
            self._sleep(min(30.0, 2.0 ** (attempt - 1)))
            try:
                found = find()
            except MaveraError as exc:
                raise _Unresolved(f"{what}: Mavera did not confirm {method} {path} ({last}) and looking it up failed "
                                  f"too ({exc}); it may or may not have been charged, so it was not repeated; rerun "
                                  "to try again (the rerun looks it up before sending).") from None
            if found is not None:
                return found, True
            if time.monotonic() > ends:
                break
        raise MaveraUnavailable(
            f"{what}: Mavera did not answer {method} {path} in {attempt} attempt{'s' if attempt != 1 else ''} "
            f"(last: {last}); it was looked up after each and never found, so nothing was charged; try again later.")

    def _answer_of(self, resp: requests.Response, method: str, path: str, charging: bool,
                   attempt: int) -> dict | None:
        """The body of a POST/PATCH answer, or None after waiting when it should be sent again.

        429 was not applied: wait it out. A 5xx on a charging call may have been applied: ``_Unknown``,
        so the caller looks the object up; on a free call, back off and retry.
        """
        if resp.status_code == 429:
            if (error := self._too_long(resp, method, path)) is not None:
                raise error
            self._sleep(retry_after_wait(resp, attempt))
            return None
        if resp.status_code >= 500:
            if charging:
                raise _Unknown(f"HTTP {resp.status_code}")
            self._sleep(min(30, 2**attempt))
            return None
        if resp.status_code >= 400:
            self._raise_for(resp, method, path)
        body = self._body(resp, method, path, charged=charging)
        if "error" in body and "id" not in body:
            self._raise_for(resp, method, path)
        self.credits_spent += credits_of(body)
        return body

    def _list(self, path: str, params: Mapping | None = None) -> Iterable[dict]:
        """Every item of a list endpoint, following next_cursor (or offset) pages until has_more is false.

        A list that cannot end is stopped with a MaveraError: a cursor seen before, a page served again,
        or more pages than its ``total`` (offset lists) or :attr:`max_pages` allow.
        """
        params = dict(params or {})
        params.setdefault("limit", 100)
        offset = 0
        cursors: set[str] = set()
        pages_seen: set[int] = set()
        budget = self.max_pages
        for number in range(1, 1_000_000):
            page = self._get(path, params)
            items = page.get("data") or []
            if not isinstance(items, list):
                raise MaveraError(f"Mavera answered GET {path} with a list whose data is not a list; try again later.")
            yield from items
            if not page.get("has_more") or not items:
                return
            fingerprint = hash(tuple(str(i.get("id")) if isinstance(i, dict) else repr(i) for i in items))
            total = page.get("total")
            if isinstance(total, int) and total >= 0:
                budget = min(budget, math.ceil(total / max(1, len(items))) + 2)
            cursor = page.get("next_cursor")
            if (cursor and str(cursor) in cursors) or fingerprint in pages_seen or number >= budget:
                raise MaveraError(f"Mavera's GET {path} kept saying has_more (page {number} repeats an earlier one "
                                  f"or passes {budget:,} pages); stopped so it cannot loop - try again later.")
            pages_seen.add(fingerprint)
            if cursor:
                cursors.add(str(cursor))
                params["cursor"] = cursor
            else:  # offset-style endpoints (research §5)
                offset += len(items)
                params["offset"] = offset
        raise AssertionError("unreachable")  # pragma: no cover
