"""Frames as tables a business reader can read: human headers, one format per quantity, no pandas index
unless it is the row label, a cap on rows that says so and where the rest is, and a box that scrolls
sideways instead of widening the page.

:func:`table_html` is pure (frame in, HTML out); ``Job.table`` in :mod:`helpers.report` saves the CSV and
shows the result.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from helpers.analysis.wording import p_text, p_value, term  # noqa: F401 - p_text re-exported for notebooks
from helpers.report.currency import Currency

TABLE_CLASS = "workbooks-table"
NOTE_CLASS = "workbooks-table-note"
MISSING = "–"
# Inline, so the box scrolls in JupyterLab too (the report's stylesheet says the same).
_BOX_STYLE = "overflow-x:auto;max-width:100%"

Format = str | Callable[[Any], str]


class ByRow:
    """A column whose rows hold different quantities (a test table: one row a rate, the next revenue):
    ``ByRow({"click_rate": "percent2", "revenue_per_recipient": "money"})`` formats each cell by its row's
    label (the frame's index), or with ``by="metric"`` by the row's value in that column. A row whose format
    is ``"text"`` is shown as text (left-aligned, wrapping) in an otherwise numeric column."""

    def __init__(self, by_label: Mapping[Any, Format], default: Format | None = None, by: str | None = None):
        self.by_label = dict(by_label)
        self.default = default
        self.by = by

    def get(self, label: Any) -> Format | None:
        return self.by_label.get(label, self.default)


def _pct(decimals: int) -> Callable[[Any], str]:
    return lambda v: f"{v:.{decimals}%}"


_p_value = p_value  # helpers.analysis.wording: "< 0.001", "0.004", "0.03", never e-notation


_KINDS: dict[str, Callable[[Any], str]] = {
    "count": lambda v: f"{v:,.0f}",
    "number": lambda v: f"{v:,.2f}",
    "number1": lambda v: f"{v:,.1f}",
    "percent": _pct(1),
    "percent0": _pct(0),
    "percent2": _pct(2),
    "ratio": lambda v: f"{v:,.2f}×",
    "score": lambda v: f"{v:.2f}",
    "signed": lambda v: f"{v:+.0f}",
    "p_value": _p_value,
    "date": lambda v: pd.Timestamp(v).strftime("%Y-%m-%d"),
    "yes_no": lambda v: "yes" if bool(v) else "no",
    "text": str,
    "term": term,  # a metric or column name as a reader says it: click_rate → "click rate"
}
KINDS = (*_KINDS, "money", "money0")  # money: the report's currency symbol, 2 decimals; money0: whole units


def humanize(name: Any) -> str:
    """``revenue_per_recipient`` → ``Revenue per recipient``; other labels as they are."""
    text = str(name)
    if "_" not in text and not text.islower():
        return text
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _default(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if isinstance(value, numbers.Real):
        return f"{value:,.2f}"
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    return str(value)


def formatter(fmt: Format | None, currency: Currency | None) -> Callable[[Any], str]:
    """A function value → text for a format: a kind name (:data:`KINDS`), a ``str.format`` pattern such as
    ``"{:.1%}"``, or a callable. Missing values become ``–``."""
    if fmt is None:
        base = _default
    elif callable(fmt):
        base = fmt
    elif fmt in ("money", "money0"):
        money = currency or Currency("USD", "assumed")
        decimals = 0 if fmt == "money0" else 2
        base = lambda v: money.format(float(v), decimals)  # noqa: E731
    elif fmt in _KINDS:
        base = _KINDS[fmt]
    elif "{" in fmt:
        base = fmt.format
    else:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(KINDS)}, a pattern like '{{:.1%}}' or a function")

    def show(value: Any) -> str:
        if _is_missing(value):
            return MISSING
        try:
            return base(value)
        except (TypeError, ValueError):  # a text cell in a numeric column: show it as it is
            return str(value)

    return show


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def table_html(
    df: pd.DataFrame,
    *,
    headers: Mapping[str, str] | None = None,
    formats: Mapping[str, Format] | None = None,
    max_rows: int | None = 10,
    csv_href: str | None = None,
    currency: Currency | None = None,
    caption: str | None = None,
) -> str:
    """The table as HTML in a sideways-scrolling box, with a note when rows are left out.

    ``headers``: column → header; when given, only those columns are shown, in that order (a column not in
    it is left out). ``formats``: column → format (see :func:`formatter`); a column without one gets counts
    with separators, numbers with two decimals; a format for a column the frame lacks is ignored. The index is shown as the first column only when it is a
    label (named, or not the default 0..n-1). ``csv_href``: the link to the file that holds every row
    (and possibly more columns, or more rows than this selection).
    """
    frame = _labelled(df)
    columns = list(headers) if headers else list(frame.columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"table columns {missing} are not in the frame (it has {list(frame.columns)})")
    # A format for a column the frame lacks is ignored: notebooks drop columns that came back empty.
    formats = {c: f for c, f in (formats or {}).items() if c in frame.columns}
    total = len(frame)
    shown = frame if max_rows is None else frame.head(max_rows)
    labels = list(df.index[: len(shown)])

    def cell_fmt(column: str, row: int) -> Format | None:
        fmt = formats.get(column)
        if not isinstance(fmt, ByRow):
            return fmt
        return fmt.get(shown[fmt.by].iloc[row] if fmt.by else labels[row])

    numeric = {c: _numeric(frame[c]) or isinstance(formats.get(c), ByRow)
               or formats.get(c) in ("money", "money0", "count", "percent", "ratio") for c in columns}

    label = frame.columns[0] if frame is not df else None  # the index, shown as the first column
    # pandas' class names: the row label's header is index_name, the others col_heading.
    head = "".join(
        f'<th scope="col" class="{"index_name" if c == label else "col_heading"}"{_align(numeric[c], header=True)}>'
        f'{html.escape(str((headers or {}).get(c) or humanize(c)))}</th>'
        for c in columns
    )
    rows = []
    for row, record in enumerate(shown[columns].itertuples(index=False, name=None)):
        fmts = [cell_fmt(c, row) for c in columns]
        tds = "".join(f"<td{_align(numeric[c] and f != 'text')}>{html.escape(formatter(f, currency)(v))}</td>"
                      for c, f, v in zip(columns, fmts, record, strict=True))
        rows.append(f"<tr>{tds}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    table = f'<table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    note = _note(len(shown), total, csv_href)
    return f'<div class="{TABLE_CLASS}" style="{_BOX_STYLE}">{table}</div>{note}'


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with its index as the first column when the index labels the rows (e.g. tier names)."""
    if isinstance(df.index, pd.RangeIndex) and df.index.name is None:
        return df
    return df.reset_index()


def _align(numeric: bool, header: bool = False) -> str:
    # Numbers never break ("$11,054" split over two lines reads as two numbers); text and headers wrap
    # between words.
    if not numeric:
        return ' style="text-align:left"'
    return ' style="text-align:right"' if header else ' style="text-align:right;white-space:nowrap"'


def _note(shown: int, total: int, href: str | None) -> str:
    if href:
        name = html.escape(href.rsplit("/", 1)[-1])
        link = f'<a href="{html.escape(href, quote=True)}"><code>{name}</code></a>'
        text = f"showing {shown:,} of {total:,} — all in {link}" if shown < total else f"data: {link}"
    elif shown < total:
        text = f"showing {shown:,} of {total:,}"
    else:
        return ""
    return f'<p class="{NOTE_CLASS}">{text[:1].upper() + text[1:]}</p>'


def table_text(df: pd.DataFrame, headers: Mapping[str, str] | None = None, max_rows: int | None = 10) -> str:
    """A plain-text version for consoles and ``text/plain``."""
    frame = _labelled(df)
    if headers:
        frame = frame[[c for c in headers if c in frame.columns]].rename(columns=dict(headers))
    return frame.head(max_rows).to_string() if max_rows is not None else frame.to_string()
