"""The Klaviyo emulator's WSGI app: auth, revision, parameter checks, rate limits, routing.

Handlers live in ``routes.py`` (collections and objects), ``reports.py`` and ``series.py`` (reporting); what they are
handed and the JSON:API error shape live in ``call.py``. This module owns what every request goes through.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import graph, reports, routes, series
from .call import JSONAPI, ApiError, Call, bad_param
from .limits import RateLimiter, limit_of
from .params import OPERATIONS, REVISION

REVISION_FORMAT = re.compile(r"(\d{4})-(\d{2})-(\d{2})(\.[a-z]+)?")

REQUIRED_HINTS = {("GET /api/campaigns", "filter"): " A channel filter is required: "
                  "filter=equals(messages.channel,'email') (or 'sms', 'mobile_push')."}


class KlaviyoEmulator:
    def __init__(self, store, api_key: str, limiter: RateLimiter):
        self.store = store
        self.api_key = api_key
        self.limiter = limiter
        self.requests: dict[str, int] = {}
        self._count_lock = threading.Lock()  # handler threads count concurrently; += is not atomic
        handlers = {**routes.HANDLERS, **reports.HANDLERS, **series.HANDLERS}
        handlers.update(graph.generic_routes(set(OPERATIONS), set(handlers)))
        self.handlers = handlers
        self.url_map = Map([Rule(key.split(" ", 1)[1].replace("{id}", "<id>"), methods=[key.split(" ", 1)[0]],
                                 endpoint=key) for key in handlers])

    def request_counts(self) -> dict[str, int]:
        with self._count_lock:
            return dict(self.requests)

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except ApiError as exc:
            response = exc.response()
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if not auth:
            raise ApiError(401, "not_authenticated", "Authentication credentials were not provided.",
                           "Missing Authorization header: send 'Authorization: Klaviyo-API-Key <private key>'.")
        if auth != f"Klaviyo-API-Key {self.api_key}":
            raise ApiError(401, "not_authenticated", "Incorrect authentication credentials.",
                           "The API key is missing, malformed or not valid for this account.")
        revision = request.headers.get("revision")
        if not revision:
            raise ApiError(400, "invalid", "Invalid input.",
                           f"Missing 'revision' header: send 'revision: {REVISION}'.", "revision")
        check_revision(revision)
        # Klaviyo answers /api/profiles and /api/profiles/ alike (its own links end in a slash).
        path = request.path.rstrip("/") or "/"
        adapter = self.url_map.bind("sandbox", path_info=path)
        try:
            op, args = adapter.match(path, method=request.method)
        except MethodNotAllowed as exc:
            raise ApiError(405, "method_not_allowed", "Method not allowed.",
                           f"{request.method} is not allowed on {request.path}.") from exc
        except NotFound as exc:
            raise ApiError(404, "not_found", "Not found.", f"No endpoint at {request.path}.") from exc

        params = {k: request.args.getlist(k) for k in request.args}
        limit = limit_of(op, params)
        headers = {}
        if limit is not None:
            with self._count_lock:
                self.requests[limit.bucket] = self.requests.get(limit.bucket, 0) + 1
            decision = self.limiter.check(limit)
            if not decision.allowed:
                s = "" if decision.retry_after == 1 else "s"
                raise ApiError(429, "throttled", "Request was throttled.",
                               f"Request was throttled. Expected available in {decision.retry_after} second{s}.",
                               headers={"Retry-After": str(decision.retry_after)})
            if decision.limit:
                headers = {"RateLimit-Limit": str(decision.limit), "RateLimit-Remaining": str(decision.remaining),
                           "RateLimit-Reset": str(decision.reset)}
        # Every counted request carries the RateLimit-* headers, whether it fails validation or in its handler.
        try:
            self.validate_query(op, request)
            call = Call(request, op, args, request.host_url.rstrip("/"))
            graph.check_options(op, call)
            body = self.handlers[op](self.store, call)
        except ApiError as exc:
            exc.headers.update(headers)
            raise
        return Response(json.dumps(body), 200, headers, content_type=JSONAPI)

    @staticmethod
    def validate_query(op: str, request: Request) -> None:
        """400 for a parameter the operation does not take, a repeated one, a value outside its enum."""
        allowed = OPERATIONS[op]
        for name in request.args:
            if name not in allowed:
                raise bad_param(name, f"'{name}' is not a valid query parameter for {op}.")
            values = request.args.getlist(name)
            if len(values) > 1:
                raise bad_param(name, f"'{name}' was given more than once; join values with commas.")
            _check_value(name, values[0], allowed[name])
        for name, spec in allowed.items():
            if spec.get("required") and name not in request.args:
                hint = REQUIRED_HINTS.get((op, name), "")
                raise bad_param(name, f"'{name}' is required for {op}.{hint}")


def _check_value(name: str, value: str, spec: dict) -> None:
    """400 for a value of query parameter ``name`` outside its enum, or a page size out of range."""
    if "enum" in spec:
        for v in value.split(","):
            if v.strip() not in spec["enum"]:
                raise bad_param(name, f"'{v.strip()}' is not a valid value for '{name}'.")
    if name == "page[size]":
        _check_page_size(value, spec.get("max", 100))


def _check_page_size(value: str, most: int) -> None:
    try:
        size = int(value)
    except ValueError as exc:
        raise bad_param("page[size]", "page[size] must be an integer.") from exc
    if not 1 <= size <= most:
        raise bad_param("page[size]", f"page[size] must be between 1 and {most}.")


def check_revision(revision: str) -> None:
    """The emulator speaks one revision: another valid revision date gets a 400 that says so (the shapes it
    serves are 2026-07-15's, which the project's client pins); a value that is not a date is malformed."""
    m = REVISION_FORMAT.fullmatch(revision)
    try:
        valid = m is not None and date(int(m[1]), int(m[2]), int(m[3])) is not None
    except ValueError:
        valid = False
    if not valid:
        raise ApiError(400, "invalid", "Invalid input.",
                       f"Malformed revision header '{revision[:40]}': send a revision date, YYYY-MM-DD "
                       f"(this server speaks '{REVISION}').", "revision")
    if revision != REVISION:
        raise ApiError(400, "invalid", "Invalid input.",
                       f"Unsupported revision '{revision}': this emulator speaks revision {REVISION} only, the "
                       f"revision the project's Klaviyo client pins (KLAVIYO_REVISION); send 'revision: {REVISION}'.",
                       "revision")
