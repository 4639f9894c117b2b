"""What a Klaviyo route handler is given and may raise: the parsed request (``Call``) and JSON:API errors.

Kept apart from the WSGI app so that the handlers (``routes``, ``reports``) and the app that dispatches to
them all import this module, and none of them imports another.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .filters import Condition, FilterError, parse_filter
from .params import OPERATIONS

JSONAPI = "application/vnd.api+json"
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
        # Written the way Klaviyo writes its links: a slash before the query, brackets percent-encoded.
        return f"{self.base}{self.request.path.rstrip('/')}/" + (f"?{q}" if q else "")

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
