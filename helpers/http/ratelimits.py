"""Klaviyo's published rate limits, as the client paces against them.

Limits come from ``apifacts/klaviyo_ratelimits.json``, extracted from the official OpenAPI
document by ``scripts/extract_ratelimits.py``; the sandbox enforces the same file with its own reader.
Klaviyo counts fixed windows per account and per endpoint: a burst window of one second, a steady window of one minute and, for the reporting
endpoints, a daily cap. Some parameters (``additional-fields[profile]=predictive_analytics``,
``additional-fields[segment]=profile_count``) move a request to a lower limit; those requests are
counted in a bucket of their own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

import apifacts


@dataclass(frozen=True)
class Limit:
    bucket: str  # e.g. "GET /api/profiles" or "GET /api/profiles#predictive_analytics"
    burst: int  # requests per burst window (one second unless shared, see ``share``)
    steady: int  # requests per steady window (one minute unless shared)
    daily: int | None = None  # requests per day, where Klaviyo caps them
    burst_window: int = 1  # seconds
    steady_window: int = 60  # seconds

    def scaled(self, factor: float) -> Limit:
        """The same limit multiplied by ``factor`` (the sandbox's --rate-scale), never below 1."""
        return Limit(
            self.bucket,
            max(1, round(self.burst * factor)),
            max(1, round(self.steady * factor)),
            None if self.daily is None else max(1, round(self.daily * factor)),
        )

    def share(self, factor: float) -> Limit:
        """The part of this limit one client may use when it holds ``factor`` of the account's budget.

        Clients that share an account each pace against their part, so parts must never add up to more
        than the whole: counts are floored, never rounded up, and a part below one request per window
        becomes one request per several windows (1/s at a third: one request per 3 s).
        """
        burst, burst_window = _part(self.burst, factor, 1)
        steady, steady_window = _part(self.steady, factor, 60)
        # A daily cap below one a day would mean days between reports; one a day is the least we pace to.
        daily = None if self.daily is None else max(1, math.floor(self.daily * factor + 1e-9))
        return Limit(self.bucket, burst, steady, daily, burst_window, steady_window)


def _part(count: int, factor: float, window: int) -> tuple[int, int]:
    """(requests, window seconds) for ``count * factor`` requests per ``window``, never more than that rate."""
    exact = count * factor
    if exact >= 1 - 1e-9:  # the tolerance keeps 75 * (1/3) at 25, not 24
        return math.floor(exact + 1e-9), window
    return 1, window * math.ceil(1 / exact - 1e-9)


@lru_cache(maxsize=1)
def _table() -> dict:
    return apifacts.load("klaviyo_ratelimits")


@lru_cache(maxsize=1)
def _templates() -> list[tuple[str, re.Pattern, str]]:
    """(method, compiled path regex, operation key), most specific (literal) paths first."""
    out = []
    for key in _table()["operations"]:
        method, path = key.split(" ", 1)
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "/?$"
        out.append((method, re.compile(regex), key))
    # A literal segment must win over a template: /api/segments/{id} vs /api/segments/...
    out.sort(key=lambda t: t[2].count("{"))
    return out


def operation_for(method: str, path: str) -> str | None:
    """The spec operation key ("GET /api/segments/{id}") for a concrete request path."""
    method = method.upper()
    for m, regex, key in _templates():
        if m == method and regex.match(path):
            return key
    return None


def _values(params: Mapping[str, object], name: str) -> set[str]:
    raw = params.get(name)
    if raw is None:
        return set()
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    return {v.strip() for item in items for v in str(item).split(",")}


def limit_for(method: str, url_or_path: str, params: Mapping[str, object] | None = None) -> Limit | None:
    """The limit a request falls under, or None for a path the spec does not list.

    ``params`` may be given separately or be part of ``url_or_path``'s query string.
    """
    parts = urlsplit(url_or_path)
    merged: dict[str, object] = {k: v for k, v in parse_qs(parts.query).items()}
    merged.update(params or {})
    key = operation_for(method, parts.path)
    if key is None:
        return None
    op = _table()["operations"][key]
    for cond in op["conditional"]:
        # "include=list" in the prose means include=lists; accept either spelling.
        wanted = cond["value"]
        got = _values(merged, cond["param"])
        if wanted in got or wanted + "s" in got:
            return Limit(f"{key}#{wanted}", cond["burst"], cond["steady"], op["daily"])
    return Limit(key, op["burst"], op["steady"], op["daily"])


def scopes_for(method: str, path: str) -> list[str]:
    key = operation_for(method, path)
    return list(_table()["operations"][key]["scopes"]) if key else []


def revision() -> str:
    return _table()["revision"]
