"""Klaviyo's published rate limits, shared by the client (which paces) and the sandbox (which enforces).

Limits come from ``helpers/data/klaviyo_ratelimits.json``, extracted from the official OpenAPI
document by ``scripts/extract_ratelimits.py``. Klaviyo counts fixed windows per account and per
endpoint: a burst window of one second, a steady window of one minute and, for the reporting
endpoints, a daily cap. Some parameters (``additional-fields[profile]=predictive_analytics``,
``additional-fields[segment]=profile_count``) move a request to a lower limit; those requests are
counted in a bucket of their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Limit:
    bucket: str  # e.g. "GET /api/profiles" or "GET /api/profiles#predictive_analytics"
    burst: int  # requests per second
    steady: int  # requests per minute
    daily: int | None = None  # requests per day, where Klaviyo caps them

    def scaled(self, factor: float) -> Limit:
        """The same limit multiplied by ``factor`` (the sandbox's --rate-scale), never below 1."""
        return Limit(
            self.bucket,
            max(1, round(self.burst * factor)),
            max(1, round(self.steady * factor)),
            None if self.daily is None else max(1, round(self.daily * factor)),
        )


@lru_cache(maxsize=1)
def _table() -> dict:
    text = resources.files("helpers").joinpath("data/klaviyo_ratelimits.json").read_text()
    return json.loads(text)


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
