"""Numbers and settings in the words a report's reader uses, shared by every analysis, table and page.

A reader should never need a glossary: a p-value is ``p < 0.001`` or ``p = 0.03`` (never ``1.5e-33``), a
Klaviyo timeframe key is "the last 90 days" (never ``last_90_days``). Pure functions, no imports of the project.
"""

from __future__ import annotations

import re

__all__ = ["TERMS", "p_text", "p_value", "term", "timeframe_text"]

_TIMEFRAME = re.compile(r"^last_(\d+)_days$")
_NAMED = {
    "today": "today", "yesterday": "yesterday", "this_week": "this week", "last_week": "last week",
    "this_month": "this month", "last_month": "last month", "this_year": "this year", "last_year": "last year",
    "last_12_months": "the last 12 months", "last_3_months": "the last 3 months",
}


def p_value(p: float) -> str:
    """The number part: ``< 0.001``, ``0.004``, ``0.03``."""
    value = float(p)
    if value < 0.001:
        return "< 0.001"
    if value < 0.01:
        return f"{value:.3f}"
    return f"{value:.2f}"


def p_text(p: float) -> str:
    """A p-value in a sentence: ``p < 0.001``, ``p = 0.004``, ``p = 0.03``."""
    text = p_value(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def timeframe_text(timeframe: object) -> str:
    """``last_90_days`` → "the last 90 days"; a custom ``{"start", "end"}`` → "start to end"; other text as is."""
    if isinstance(timeframe, dict) and "start" in timeframe and "end" in timeframe:
        return f"{str(timeframe['start'])[:10]} to {str(timeframe['end'])[:10]}"
    text = str(timeframe)
    match = _TIMEFRAME.match(text)
    if match:
        return f"the last {int(match[1])} days"
    return _NAMED.get(text, text.replace("_", " "))


# Column and metric names a notebook's Markdown may name, as the tables head them.
TERMS = {
    "predictive_analytics": "predictive analytics",
    "p_adjusted": "adjusted p",
    "weighted_support": "customers backing it",
    "customer_verdict": "customers' verdict",
    "data_favours": "Data favours",
    "prefers": "Prefers",
    "basis": "Basis",
    "contradicts_answers": "Contradicts the answers",
    "difference": "SMS − email",
    "click_rate": "click rate",
    "conversion_rate": "conversion rate",
    "revenue_per_recipient": "revenue per recipient",
    "open_rate": "open rate",
    "unsubscribe_rate": "unsubscribe rate",
    "average_order_value": "average order value",
    "historic_clv": "historic CLV",
    "predicted_clv": "predicted CLV",
    "total_clv": "total CLV",
    "churn_probability": "churn probability",
}


def term(name: str) -> str:
    """A column or metric name as a reader says it (``click_rate`` → "click rate")."""
    return TERMS.get(name) or (timeframe_text(name) if _TIMEFRAME.match(name) else name.replace("_", " "))
