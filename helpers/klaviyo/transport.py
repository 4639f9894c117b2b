"""Sending one Klaviyo request: the session with every policy of :mod:`helpers.http.session`, answers as JSON.

Pacing against Klaviyo's per-bucket fixed windows (one pacer per account and process), urllib3
retries (429 with Retry-After, 5xx, timeouts, dropped connections), and an on-disk requests-cache
with the per-stream lifetimes declared in :mod:`helpers.klaviyo.streams`. Failures become
:class:`~helpers.klaviyo.errors.KlaviyoError` (see :mod:`helpers.klaviyo.errors`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from helpers.config import ConfigError, KlaviyoSettings, cache_dir, revision_problem
from helpers.http import ratelimits
from helpers.http.session import (
    REQUEST_DEADLINE,
    BodyTooLarge,
    BodyTooSlow,
    DailyLimitReached,
    Pacer,
    RefusedURL,
    RequestStats,
    attempts_of,
    is_tls_failure,
    make_retry,
    make_session,
    transport_failure,
)
from helpers.klaviyo.errors import KlaviyoError, http_error, refused, tls_failed, unreachable
from helpers.klaviyo.streams import stream_for

JSONAPI = "application/vnd.api+json"
# Attempts per idempotent request: enough that a long job through a flaky network does not fail by arithmetic
# (0.3 ** 12 is 5e-7 a request), while the request's deadline (REQUEST_DEADLINE) bounds the time they take.
ATTEMPTS = 12

_PACERS: dict[tuple[str, str, float], Pacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(base_url: str, api_key: str, scale: float) -> Pacer:
    """One pacer per account and process: every client of one key draws on the same buckets."""
    key = (base_url, hashlib.sha256(api_key.encode()).hexdigest(), scale)
    with _PACERS_LOCK:
        if key not in _PACERS:
            _PACERS[key] = Pacer(ratelimits.limit_for, scale=scale)
        return _PACERS[key]


class Transport:
    """One Klaviyo account over HTTP: ``request`` returns a JSON document or raises KlaviyoError."""

    def __init__(
        self,
        settings: KlaviyoSettings,
        *,
        refresh: bool = False,
        rate_scale: float = 1.0,
        cache: bool = True,
        attempts: int = ATTEMPTS,
        backoff: float = 0.5,
        max_retry_after: float = 90.0,
        timeout: tuple[float, float] = (10.0, 120.0),
        pool_size: int = 32,
        deadline: float | None = REQUEST_DEADLINE,
    ) -> None:
        if problem := revision_problem(settings.revision):
            raise ConfigError(problem)
        self.settings = settings
        self.refresh = refresh
        self.stats = RequestStats()
        self.pacer = shared_pacer(settings.base_url, settings.api_key, rate_scale)
        # Responses differ by revision (and an unsupported one is refused), so each revision has its own cache.
        fingerprint = hashlib.sha256(
            f"{settings.base_url}\n{settings.api_key}\n{settings.revision}".encode()).hexdigest()[:16]
        self.session = make_session(
            headers={
                "Authorization": f"Klaviyo-API-Key {settings.api_key}",
                "revision": settings.revision,
                "accept": JSONAPI,
            },
            pacer=self.pacer,
            stats=self.stats,
            retry=make_retry(attempts, backoff=backoff, max_retry_after=max_retry_after),
            timeout=timeout,
            cache_path=cache_dir() / f"klaviyo-{fingerprint}.sqlite" if cache else None,
            pool_size=pool_size,
            origin=settings.base_url,  # the key goes nowhere else, whatever an answer links to
            deadline=deadline,
        )
        self.attempts = attempts
        self.max_retry_after = max_retry_after
        self.timeout = timeout  # (connect, read) seconds

    @property
    def requests_sent(self) -> int:
        return self.stats.sent

    @property
    def cache_hits(self) -> int:
        """Requests answered from the response cache (nothing sent to Klaviyo for them)."""
        return self.stats.cached

    def close(self) -> None:
        self.session.close()

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.settings.base_url + "/", path_or_url.lstrip("/"))

    def _request_options(self, path: str, params: Mapping[str, Any] | None, body: Mapping[str, Any] | None,
                         ttl: timedelta | None) -> dict[str, Any]:
        """requests' keyword arguments: query, JSON:API body, and the cache lifetime of the path's stream."""
        if ttl is None:
            stream = stream_for(path)
            ttl = stream.ttl if stream else None
        kwargs: dict[str, Any] = {"params": dict(params or {}) or None}
        if body is not None:
            kwargs["data"] = json.dumps(body, sort_keys=True)
            kwargs["headers"] = {"content-type": JSONAPI}
        if ttl is not None and hasattr(self.session, "cache"):
            kwargs["expire_after"] = ttl
            kwargs["force_refresh"] = self.refresh
        return kwargs

    def _send(self, method: str, url: str, path: str, kwargs: dict[str, Any]) -> requests.Response:
        """The answer to one request (any status), or the KlaviyoError for getting none."""
        try:
            return self.session.request(method, url, **kwargs)
        except DailyLimitReached as exc:
            raise KlaviyoError(f"Klaviyo {exc}", 429) from None
        except RefusedURL as exc:
            raise refused(method, path, str(exc), self.settings.base_url) from None
        except (requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidURL) as exc:
            raise KlaviyoError(f"Klaviyo {method} {path}: {url} is not a URL requests can send to "
                               f"({type(exc).__name__}); check KLAVIYO_BASE_URL={self.settings.base_url}.") from None
        except (BodyTooLarge, BodyTooSlow) as exc:  # an answer began but was refused: not retried
            raise KlaviyoError(f"Klaviyo's answer to {method} {path} was refused: {exc}; rerun later "
                               "(results fetched so far are cached).") from None
        except requests.RequestException as exc:  # no answer, or a body broken off
            reason = transport_failure(exc, self.timeout)
            if is_tls_failure(exc):  # not retried: a setting to fix
                raise tls_failed(method, path, reason, self.settings.base_url) from None
            raise unreachable(method, path, attempts_of(exc, self.attempts), reason,
                              self.settings.base_url) from None

    def request(
        self,
        method: str,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        ttl: timedelta | None = None,
    ) -> dict[str, Any]:
        """One request through every policy; returns the JSON document or raises :class:`KlaviyoError`."""
        url = self._url(path_or_url)
        path = urlsplit(url).path
        response = self._send(method, url, path, self._request_options(path, params, body, ttl))
        if getattr(response, "from_cache", False):
            self.stats.count_cached()
        if response.status_code >= 400:
            raise http_error(method, path, response, revision=self.settings.revision,
                             attempts=attempts_of(response, self.attempts), max_wait=self.max_retry_after)
        try:
            doc = response.json()
        except ValueError:
            raise KlaviyoError(f"Klaviyo answered {method} {path} with a body that is not JSON.") from None
        if not isinstance(doc, dict):
            raise KlaviyoError(f"Klaviyo answered {method} {path} with JSON that is not a JSON:API document.")
        return doc
