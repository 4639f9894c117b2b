"""Which currency a report's money is in, and how to write an amount in it.

Klaviyo's reporting API and catalog carry no currency: revenue and prices are in the account's preferred
currency. Order events sometimes name theirs (integrations put it in the event properties); when the data
says, that wins. Otherwise the account currency comes from ``WORKBOOKS_CURRENCY`` (an ISO 4217 code), and
without it the report assumes US dollars and says so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ENV = "WORKBOOKS_CURRENCY"
DEFAULT = "USD"
# Where integrations put an order's currency in a Placed Order event's properties.
EVENT_KEYS = ("$currency_code", "currency_code", "CurrencyCode", "currency", "Currency", "$currency")


@dataclass(frozen=True)
class Currency:
    code: str  # ISO 4217
    source: str  # how it is known, for the report's header

    @property
    def symbol(self) -> str:
        from babel.numbers import get_currency_symbol

        return get_currency_symbol(self.code, locale="en_US")

    @property
    def assumed(self) -> bool:
        return self.source.startswith("assumed")

    @property
    def text(self) -> str:
        """``USD ($), from the order events`` — what the header says."""
        symbol = self.symbol
        shown = self.code if symbol == self.code else f"{self.code} ({symbol})"
        return f"{shown}, {self.source}"

    def format(self, amount: float, decimals: int = 2) -> str:
        """``$1,234.50``; a negative amount as ``−$12.00``; not a number as ``–``."""
        if amount is None or (isinstance(amount, float) and math.isnan(amount)):
            return "–"
        sign = "−" if amount < 0 else ""
        symbol = self.symbol
        body = f"{abs(amount):,.{decimals}f}"
        # "$1,234.50", "CA$1,234.50"; a symbol that is letters only ("CHF") gets a space: "CHF 1,234.50".
        return f"{sign}{symbol} {body}" if symbol.isalpha() else f"{sign}{symbol}{body}"


def _valid(code: object) -> str | None:
    text = str(code or "").strip().upper()
    return text if len(text) == 3 and text.isalpha() else None


def from_events(properties: Iterable[Mapping] | None) -> str | None:
    """The one currency code the events' properties name, or None (none named, or several)."""
    found: set[str] = set()
    for props in properties or ():
        if not isinstance(props, Mapping):
            continue
        for key in EVENT_KEYS:
            code = _valid(props.get(key))
            if code:
                found.add(code)
                break
    return found.pop() if len(found) == 1 else None


def currency(events=None) -> Currency:
    """The currency of this report's amounts: from the order events when they name one (``events``: a frame
    with a ``properties`` column of dicts, as ``KlaviyoClient.events`` returns, or an iterable of dicts), else
    the account currency set in ``WORKBOOKS_CURRENCY``, else US dollars, marked as assumed."""
    props = events
    if hasattr(events, "columns"):  # a frame: its properties column, if it has one
        props = events["properties"].tolist() if "properties" in events.columns else None
    code = from_events(props)
    if code:
        return Currency(code, "from the order events")
    configured = _valid(os.environ.get(ENV))
    if configured:
        return Currency(configured, f"the account currency ({ENV})")
    return Currency(DEFAULT, f"assumed: Klaviyo's data does not name its currency; set {ENV} if yours is not {DEFAULT}")
