"""The Klaviyo emulator's WSGI app: auth, revision, parameter checks, rate limits, routing.

Handlers live in ``klaviyo_routes.py`` (collections and objects) and ``klaviyo_reports.py`` (reporting);
this module owns what every request goes through and the JSON:API error shape.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from urllib.parse import urlencode

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from helpers.ratelimits import limit_for

from .filters import Condition, FilterError, parse_filter
from .limits import RateLimiter
from .params import OPERATIONS, REVISION

JSONAPI = "application/vnd.api+json"
REQUIRED_HINTS = {("GET /api/campaigns", "filter"): " A channel filter is required: "
                  "filter=equals(messages.channel,'email') (or 'sms', 'mobile_push')."}


class ApiError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str, parameter: str | None = None,
                 headers: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.parameter = parameter
        self.headers = headers or {}

    def response(self) -> Response:
        error = {"id": str(uuid.uuid4()), "status": self.status, "code": self.code, "title": self.title,
                 "detail": self.detail, "links": {}, "meta": {}}
        if self.parameter:
            error["source"] = {"parameter": self.parameter}
        return Response(json.dumps({"errors": [error]}), self.status, self.headers, content_type=JSONAPI)


def bad_param(parameter: str, detail: str) -> ApiError:
    return ApiError(400, "invalid", "Invalid input.", detail, parameter)


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", "Not found.", f"A {kind} with id {ident} does not exist.")


class Call:
    """One parsed, validated request, handed to a route handler."""

    def __init__(self, request: Request, op: str, args: dict, base: str):
        self.request = request
        self.op = op
        self.args = args
        self.base = base
        self.query = request.args
        allowed = OPERATIONS[op]
        self.filters: list[Condition] = []
        if "filter" in allowed and "filter" in self.query:
            try:
                self.filters = parse_filter(self.query["filter"], allowed["filter"].get("fields", {}))
            except FilterError as exc:
                raise bad_param("filter", f"Invalid filter provided: {exc}") from exc

    def listing(self, name: str) -> list[str]:
        raw = self.query.get(name)
        return [v.strip() for v in raw.split(",") if v.strip()] if raw else []

    def fields(self, kind: str) -> list[str] | None:
        values = self.listing(f"fields[{kind}]")
        return values or None

    def page_size(self) -> int:
        spec = OPERATIONS[self.op].get("page[size]", {})
        return int(self.query.get("page[size]", spec.get("default", 100)))

    def cursor(self) -> int:
        raw = self.query.get("page[cursor]") or self.query.get("page_cursor")
        if not raw:
            return 0
        name = "page[cursor]" if "page[cursor]" in self.query else "page_cursor"
        try:
            text = base64.urlsafe_b64decode(raw.encode() + b"==").decode()
            # Only cursors this server issued ("o:<offset>", offset >= 0); a forged negative one would
            # otherwise slice from the end and answer 200 with the tail rows.
            if not re.fullmatch(r"o:\d+", text):
                raise ValueError(text)
            return int(text[2:])
        except ValueError as exc:
            raise bad_param(name, "Invalid page cursor: pass the links.next URL back unchanged.") from exc

    def url(self, **overrides: str | None) -> str:
        params = dict(self.query.items(multi=False))
        for k, v in overrides.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        q = urlencode(params)
        return f"{self.base}{self.request.path}" + (f"?{q}" if q else "")

    def page_links(self, offset: int, size: int, total: int, cursor_param: str = "page[cursor]") -> dict:
        links = {"self": self.url()}
        if offset + size < total:
            links["next"] = self.url(**{cursor_param: encode_cursor(offset + size)})
        if offset > 0:
            links["prev"] = self.url(**{cursor_param: encode_cursor(max(0, offset - size))})
        return links

    def conditions(self, field: str) -> list[Condition]:
        return [c for c in self.filters if c.field == field]


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


class KlaviyoEmulator:
    def __init__(self, store, api_key: str, limiter: RateLimiter):
        from . import reports, routes

        self.store = store
        self.api_key = api_key
        self.limiter = limiter
        self.requests: dict[str, int] = {}
        self._count_lock = threading.Lock()  # handler threads count concurrently; += is not atomic
        handlers = {**routes.HANDLERS, **reports.HANDLERS}
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
        if revision != REVISION:
            raise ApiError(400, "invalid", "Invalid input.",
                           f"Unknown revision '{revision}': this server supports '{REVISION}'.", "revision")
        adapter = self.url_map.bind("sandbox", path_info=request.path)
        try:
            op, args = adapter.match(request.path, method=request.method)
        except MethodNotAllowed as exc:
            raise ApiError(405, "method_not_allowed", "Method not allowed.",
                           f"{request.method} is not allowed on {request.path}.") from exc
        except NotFound as exc:
            raise ApiError(404, "not_found", "Not found.", f"No endpoint at {request.path}.") from exc

        params = {k: request.args.getlist(k) for k in request.args}
        limit = limit_for(request.method, request.path, params)
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
            body = self.handlers[op](self.store, call)
        except ApiError as exc:
            exc.headers.update(headers)
            raise
        return Response(json.dumps(body), 200, headers, content_type=JSONAPI)

    @staticmethod
    def validate_query(op: str, request: Request) -> None:
        allowed = OPERATIONS[op]
        for name in request.args:
            if name not in allowed:
                raise bad_param(name, f"'{name}' is not a valid query parameter for {op}.")
            spec = allowed[name]
            values = request.args.getlist(name)
            if len(values) > 1:
                raise bad_param(name, f"'{name}' was given more than once; join values with commas.")
            if "enum" in spec:
                for v in values[0].split(","):
                    if v.strip() not in spec["enum"]:
                        raise bad_param(name, f"'{v.strip()}' is not a valid value for '{name}'.")
            if name == "page[size]":
                try:
                    size = int(values[0])
                except ValueError as exc:
                    raise bad_param(name, "page[size] must be an integer.") from exc
                if not 1 <= size <= spec.get("max", 100):
                    raise bad_param(name, f"page[size] must be between 1 and {spec.get('max', 100)}.")
        for name, spec in allowed.items():
            if spec.get("required") and name not in request.args:
                hint = REQUIRED_HINTS.get((op, name), "")
                raise bad_param(name, f"'{name}' is required for {op}.{hint}")
