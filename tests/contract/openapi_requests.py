"""Check the Klaviyo requests a sandbox received against Klaviyo's official OpenAPI document (2026-07-15).

The notebook tests record every Klaviyo request the clients send while a notebook runs
(``Sandbox.recording()``), then call :func:`assert_valid`: each request's method and path must be an
operation of the document, its query parameters must be ones that operation declares, with values its
schemas accept (enums of sparse fieldsets, includes, sorts, page sizes), its headers must carry what the
operation requires (``revision``, the API key), and a body must match the operation's request body. The
first problems are listed in the assertion, one line each, with openapi-core's validation error.

Two readings of the document, both Klaviyo's own behaviour: a path may end in a slash (Klaviyo's
``links.next`` URLs do, and the API answers them; the document's paths do not), and the reporting endpoints'
``page_cursor`` is accepted wherever a ``links.next`` URL carries it.
"""

from __future__ import annotations

import json
import re
import warnings
from functools import lru_cache
from urllib.parse import parse_qsl

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.conftest import SPEC_PATH

SPEC_HOST = "https://a.klaviyo.com"  # the document's server; requests are checked as if sent there
SHOWN = 8  # problems listed in one assertion


class RecordedOpenAPIRequest:
    """A recorded request (``sandbox.server.RecordedRequest``) in openapi-core's Request protocol."""

    def __init__(self, recorded):
        self.recorded = recorded
        self.host_url = SPEC_HOST
        self.path = recorded.path.rstrip("/") or "/"
        self.method = recorded.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(recorded.query, keep_blank_values=True)),
            header=Headers(recorded.headers), cookie=ImmutableMultiDict())
        self.content_type = (recorded.headers.get("Content-Type") or "").lower()
        self.body = recorded.body or None

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


@lru_cache(maxsize=1)
def _openapi() -> OpenAPI:
    # The document itself is not re-validated on each load (slow; and it is Klaviyo's, not ours).
    return OpenAPI.from_file_path(str(SPEC_PATH), config=Config(spec_validator_cls=None))


@lru_cache(maxsize=1)
def _operations() -> list[tuple[str, re.Pattern, set[str], set[str]]]:
    """(method, path regex, declared query parameter names, required header names) per operation, literal
    paths first."""
    spec = json.loads(SPEC_PATH.read_text())
    params = spec["components"].get("parameters", {})
    out = []
    for path, item in spec["paths"].items():
        regex = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for method, op in item.items():
            if not isinstance(op, dict) or method not in ("get", "post", "patch", "put", "delete"):
                continue
            names, headers = set(), set()
            for p in [*item.get("parameters", []), *op.get("parameters", [])]:
                p = params[p["$ref"].split("/")[-1]] if "$ref" in p else p
                if p.get("in") == "query":
                    names.add(p["name"])
                elif p.get("in") == "header" and p.get("required"):
                    headers.add(p["name"].lower())
            out.append((method, regex, names, headers, path.count("{")))
    out.sort(key=lambda t: t[4])
    return [(m, r, n, h) for m, r, n, h, _ in out]


def _beyond_openapi_core(req: RecordedOpenAPIRequest) -> list[str]:
    """What openapi-core does not check: query parameters the operation does not declare, and required
    headers that are missing (it lets a schema ``default`` stand in for ``revision``; Klaviyo does not)."""
    for method, regex, names, headers in _operations():
        if method == req.method and regex.match(req.path):
            out = []
            extra = sorted(set(req.parameters.query) - names - {"page_cursor"})
            if extra:
                out.append(f"query parameter(s) {', '.join(extra)} not declared for this operation")
            missing = sorted(h for h in headers if h not in req.parameters.header)
            if missing:
                out.append(f"required header(s) {', '.join(missing)} missing")
            return out
    return []  # an unknown path: openapi-core says so


def problems(recorded: list) -> list[str]:
    """One line per recorded request that does not match the document."""
    openapi = _openapi()
    out = []
    for r in recorded:
        req = RecordedOpenAPIRequest(r)
        where = f"{r.method} {r.path}{'?' + r.query if r.query else ''}"
        out += [f"{where}: {line}" for line in _beyond_openapi_core(req)]
        try:
            openapi.validate_request(req)
        except Exception as exc:  # openapi-core raises a family of errors; each names what is wrong
            cause = exc.__cause__ or exc.__context__
            detail = f"{type(exc).__name__}: {exc}" + (f" ({type(cause).__name__}: {cause})" if cause else "")
            out.append(f"{where}: {detail[:400]}")
    return out


def assert_valid(recorded: list) -> int:
    """Fail with the validation errors if any recorded Klaviyo request is invalid; returns how many were checked
    (none is fine: a notebook that stops at a bad parameter sends nothing). Without the document beside the
    clone (shared/specs) nothing can be checked: a warning says so."""
    if not SPEC_PATH.exists():
        warnings.warn(f"Klaviyo OpenAPI document not found at {SPEC_PATH}: requests not checked", stacklevel=2)
        return 0
    found = problems(recorded)
    assert not found, (f"{len(found)} of {len(recorded)} Klaviyo requests do not match the official OpenAPI "
                       f"document:\n  " + "\n  ".join(found[:SHOWN]))
    return len(recorded)
