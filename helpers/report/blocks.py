"""The blocks a report opens with: the header facts (run date, data period, currency), the findings, and
what moved since the last run.

A notebook shows each where it is computed, so it reads top to bottom in JupyterLab; each output carries
``{"workbooks": {"place": ...}}`` in its metadata, and the code-free report (:mod:`helpers.runner.report_html`)
lifts those outputs to the top, in the order of :data:`PLACES`, right after the title and the sandbox banner.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from typing import Any

PLACE_KEY = "workbooks"
HEADER, FINDINGS, SINCE, MISSING = "header", "findings", "since", "missing"
PLACES = (MISSING, HEADER, FINDINGS, SINCE)  # their order at the top of a report: what is missing first
MISSING_CLASS = "workbooks-missing"
HEADER_CLASS = "workbooks-header"
FINDINGS_CLASS = "workbooks-findings"
SINCE_CLASS = "workbooks-since"
MAX_FINDINGS = 5  # a reader takes in five lines; more fold under "more findings"

_BOX = {
    MISSING_CLASS: "border-left:4px solid #b45309;background:#fffbeb;padding:0.5rem 1rem;margin:0.5rem 0",
    HEADER_CLASS: "color:#374151;margin:0.25rem 0 0.5rem",
    FINDINGS_CLASS: "border-left:4px solid #1d4ed8;background:#eff6ff;padding:0.5rem 1rem;margin:0.5rem 0",
    SINCE_CLASS: "border-left:4px solid #6b7280;background:#f9fafb;padding:0.5rem 1rem;margin:0.5rem 0",
}


def markdown_html(text: str) -> str:
    """One line or paragraph of Markdown as HTML (mistune, the renderer nbconvert uses for Markdown cells);
    raw HTML in it is escaped."""
    import mistune

    return mistune.create_markdown(escape=True)(text).strip()


def _inline(text: str) -> str:
    """A bullet's Markdown as inline HTML: the list marker dropped, the paragraph tags unwrapped."""
    body = re.sub(r"^\s*[-*+]\s+", "", str(text).strip())
    rendered = markdown_html(body)
    match = re.fullmatch(r"<p>(.*)</p>", rendered, flags=re.S)
    return match[1] if match else rendered


def _bullets(lines: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{_inline(line)}</li>" for line in lines) + "</ul>"


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%b %Y}"


def header_html(run_at: dt.datetime, period_text: str, currency_text: str, filed_under: str | None = None) -> str:
    """Run date, data period and currency, one short line each."""
    run = f"{_day(run_at.date())}, {run_at:%H:%M} {run_at.tzname() or ''}".strip()
    if filed_under and filed_under != run_at.date().isoformat():
        run += f" (report dated {filed_under})"
    facts = (("Run", run), ("Data", period_text), ("Currency", currency_text))
    items = "".join(f"<li><strong>{name}:</strong> {html.escape(value)}</li>" for name, value in facts)
    return (f'<div class="{HEADER_CLASS}" style="{_BOX[HEADER_CLASS]}">'
            f'<ul style="list-style:none;padding-left:0;margin:0">{items}</ul></div>')


def findings_html(lines: Sequence[str], more: Sequence[str] = (), title: str = "Findings and next steps") -> str:
    """The findings block: ``lines`` in view (``Job.findings`` keeps them to :data:`MAX_FINDINGS`), ``more``
    folded under "N more findings" (a ``<details>``: no script needed)."""
    first, rest = list(lines), list(more)
    more_html = ""
    if rest:
        more_html = (f"<details><summary>{len(rest)} more finding{'s' if len(rest) != 1 else ''}</summary>"
                f"{_bullets(rest)}</details>")
    body = _bullets(first) if first else "<p>No findings: the notebook stopped before its analysis.</p>"
    return (f'<div class="{FINDINGS_CLASS}" style="{_BOX[FINDINGS_CLASS]}">'
            f"<h2>{html.escape(title)}</h2>{body}{more_html}</div>")


def missing_html(sentences: Sequence[str]) -> str:
    """The partial report's opening: which part is missing and why (``helpers.report.not_done``)."""
    return (f'<div class="{MISSING_CLASS}" style="{_BOX[MISSING_CLASS]}">'
            f"<h2>Partial report: the Klaviyo analysis is here, a Mavera step is not</h2>{_bullets(sentences)}</div>")


def since_html(previous_date: str, lines: Sequence[str]) -> str:
    """What moved since the last run of the same kind (``lines`` empty: nothing did)."""
    try:
        when = _day(dt.date.fromisoformat(previous_date))
    except ValueError:
        when = previous_date
    body = _bullets(lines) if lines else "<p>Nothing moved in the headline numbers.</p>"
    return (f'<div class="{SINCE_CLASS}" style="{_BOX[SINCE_CLASS]}">'
            f"<h2>Since the last run ({html.escape(when)})</h2>{body}</div>")


def markdown_bullets(lines: Sequence[str]) -> str:
    """The lines as one Markdown list (a line without a list marker gets one)."""
    return "\n".join(line if re.match(r"^\s*[-*+]\s", str(line)) else f"- {line}" for line in lines)


def plain(line: str) -> str:
    """A Markdown line as plain text for index.html and run.json: markers, emphasis and code ticks gone."""
    text = re.sub(r"^\s*[-*+]\s+", "", str(line).strip())
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m[1] or m[2], text)
    text = re.sub(r"(?<!\w)[*_](.+?)[*_](?!\w)", r"\1", text)
    return text.replace("`", "").strip()


def placed(kind: str) -> dict[str, Any]:
    """The output metadata that tells the report where the block goes."""
    if kind not in PLACES:
        raise ValueError(f"place {kind!r} is not one of {PLACES}")
    return {PLACE_KEY: {"place": kind}}


def place_of(output: dict) -> str | None:
    meta = (output.get("metadata") or {}).get(PLACE_KEY) or {}
    kind = meta.get("place") if isinstance(meta, dict) else None
    return kind if kind in PLACES else None


def show(kind: str, block_html: str, text: str, markdown: str | None = None) -> None:
    """Display a block where the notebook is; the report lifts it to the top. ``markdown``: the same content as
    Markdown, for readers of the saved notebook that take that (the report and JupyterLab show the HTML)."""
    from IPython.display import display

    data = {"text/html": block_html, "text/plain": text}
    if markdown is not None:
        data["text/markdown"] = markdown
    display(data, metadata=placed(kind), raw=True)
