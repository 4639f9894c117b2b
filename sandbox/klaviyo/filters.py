"""Klaviyo's ``filter`` query language: parse, and check against what an operation allows.

Grammar: ``op(field,value)``, combined with ``and(...)`` or a plain comma list (read as AND). Strings are
quoted with ' or ", lists are ``["a","b"]``, datetimes are unquoted ISO-8601 (a quoted datetime is an
error, as in the real API), plus numbers, true, false and null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime


class FilterError(ValueError):
    """A filter the endpoint would reject; the message names the offending part."""


@dataclass(frozen=True)
class Condition:
    op: str
    field: str
    value: object


_TOKEN = re.compile(r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<punct>[(),\[\]])|(?P<word>[^\s(),\[\]"']+))""")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def parse_datetime(text: str) -> float:
    value = text.replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FilterError(f"'{text}' is not a valid ISO-8601 datetime") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class _Parser:
    def __init__(self, text: str):
        self.tokens = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise FilterError(f"invalid filter syntax near '{text[pos:pos + 20]}'")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, expected: str | None = None):
        tok = self.peek()
        if tok[0] is None or (expected is not None and tok[1] != expected):
            raise FilterError(f"invalid filter syntax: expected '{expected or 'a value'}'")
        self.i += 1
        return tok

    def expressions(self) -> list[Condition]:
        out = self.expression()
        while self.peek()[1] == ",":
            self.take(",")
            out += self.expression()
        return out

    def expression(self) -> list[Condition]:
        kind, word = self.take()
        if kind != "word":
            raise FilterError(f"invalid filter syntax near {word!r}: expected an operator such as equals(...)")
        self.take("(")
        if word == "and":
            out = self.expressions()
            self.take(")")
            return out
        if word in ("or", "not"):
            raise FilterError(f"the '{word}' operator is not supported for this endpoint; use and(...)")
        _, field = self.take()
        self.take(",")
        value = self.value()
        self.take(")")
        return [Condition(word, field, value)]

    def value(self):
        kind, tok = self.peek()
        if tok == "[":
            self.take("[")
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("]")
            return items
        self.take()
        if kind == "str":
            inner = tok[1:-1]
            # Klaviyo rejects every quoted datetime, date-only ones included.
            if _DATETIME.match(inner):
                raise FilterError(f"datetime values must not be quoted: {tok}")
            return inner
        if tok in ("true", "false"):
            return tok == "true"
        if tok == "null":
            return None
        if _DATETIME.match(tok):
            return parse_datetime(tok)
        try:
            return float(tok) if "." in tok else int(tok)
        except ValueError as exc:
            raise FilterError(f"invalid filter value {tok!r}: quote strings") from exc


def parse_filter(text: str, allowed: dict[str, list[str]]) -> list[Condition]:
    """Conditions of ``text``; FilterError names the first field or operator the endpoint does not allow."""
    parser = _Parser(text)
    conditions = parser.expressions()
    if parser.i != len(parser.tokens):
        raise FilterError("invalid filter syntax: unexpected text after the last condition")
    for c in conditions:
        if c.field not in allowed:
            raise FilterError(f"'{c.field}' is not a valid field for filtering this endpoint "
                              f"(allowed: {', '.join(sorted(allowed))})")
        if c.op not in allowed[c.field]:
            raise FilterError(f"operator '{c.op}' is not allowed on field '{c.field}' "
                              f"(allowed: {', '.join(allowed[c.field])})")
        if c.op in ("any", "contains-any", "contains-all") and not isinstance(c.value, list):
            raise FilterError(f"'{c.op}' on '{c.field}' needs a list value like [\"a\",\"b\"]")
    return conditions
