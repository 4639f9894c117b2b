"""How analysis code writes money without knowing the report's currency (it imports nothing of `helpers.report`).

Functions that write amounts take `currency`: anything with `format(amount, decimals)`, in the notebooks
the report's `job.currency` (`helpers.report.currency.Currency`: "€1,234.50", "CHF 12.00"). Without one,
`NO_SYMBOL` writes the bare number: never a "$" that may be the wrong currency.
"""

from __future__ import annotations

import math
from typing import Protocol

__all__ = ["NO_SYMBOL", "Money"]


class Money(Protocol):
    def format(self, amount: float, decimals: int = 2) -> str: ...


class _NoSymbol:
    def format(self, amount: float, decimals: int = 2) -> str:
        if amount is None or (isinstance(amount, float) and math.isnan(amount)):
            return "–"
        return f"{'−' if amount < 0 else ''}{abs(amount):,.{decimals}f}"


NO_SYMBOL: Money = _NoSymbol()
