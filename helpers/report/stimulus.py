"""What a focus group was shown, as the channel shows it: an email as an inbox line (sender, subject line, preview,
body when there is one), an SMS as a message bubble, any other stimulus as wrapped text with its list kept.

A reader judges the personas' answers by what they saw; a monospace block that runs off the right edge hides
half of it. Everything here wraps within its box (long links included) and carries inline styles, so the saved
notebook in JupyterLab shows the same as the report. ``show`` displays it with the plain text beside, which is
what the focus group was sent.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

STIMULUS_CLASS = "workbooks-stimulus"  # the report's print stylesheet keeps one whole on a page

_WRAP = "overflow-wrap:anywhere;word-break:normal"
_BOX = f"max-width:100%;box-sizing:border-box;margin:0.5rem 0 0.8rem;{_WRAP}"
_CAPTION = "color:#4b5563;font-size:0.9em;margin:0.6rem 0 0.25rem"
_EMAIL = ("border:1px solid #d1d5db;border-radius:8px;padding:0.6rem 0.9rem;max-width:42rem;box-sizing:border-box;"
          "background:#fff;" + _WRAP)
_PREVIEW = "color:#4b5563;margin-top:0.15rem"
_BODY = "border-top:1px solid #e5e7eb;margin-top:0.5rem;padding-top:0.5rem;white-space:pre-wrap"
_BUBBLE = ("display:inline-block;max-width:min(24rem,100%);box-sizing:border-box;background:#e5e7eb;color:#111827;"
           "border-radius:18px 18px 18px 4px;padding:0.5rem 0.85rem;white-space:pre-wrap;" + _WRAP)
_TEXT = f"border-left:3px solid #d1d5db;padding:0.2rem 0.9rem;{_WRAP}"


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _caption(label: str) -> str:
    return f'<div style="{_CAPTION}">{_esc(label)}</div>' if label else ""


def email_html(subject: str, preview: str = "", body: str = "", *, label: str = "", sender: str = "") -> str:
    """An email as the inbox lists it: sender, subject line in bold, preview text under it; ``body`` (plain
    text) below a rule when the stimulus had one."""
    parts = [f'<div style="color:#374151;font-size:0.9em">{_esc(sender)}</div>' if sender else "",
             f'<div style="font-weight:600">{_esc(subject) or "(no subject line)"}</div>',
             f'<div style="{_PREVIEW}">{_esc(preview)}</div>' if preview else "",
             f'<div style="{_BODY}">{_esc(body)}</div>' if body else ""]
    return f'{_caption(label)}<div class="workbooks-email" style="{_EMAIL}">{"".join(parts)}</div>'


def sms_html(body: str, *, label: str = "") -> str:
    """A text message as a phone shows it: one bubble, its line breaks kept, a long link wrapped."""
    return f'{_caption(label)}<div><div class="workbooks-sms" style="{_BUBBLE}">{_esc(body)}</div></div>'


def text_html(text: str) -> str:
    """Any other stimulus (04's bundle offers): its paragraphs wrapped, lines starting with "- " as a list."""
    out: list[str] = []
    items: list[str] = []
    for line in str(text).splitlines():
        if line.startswith("- "):
            items.append(f"<li>{_esc(line[2:])}</li>")
            continue
        if items:
            out.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if line.strip():
            out.append(f"<p>{_esc(line)}</p>")
    if items:
        out.append(f"<ul>{''.join(items)}</ul>")
    return f'<div style="{_TEXT}">{"".join(out)}</div>'


def campaigns_html(email: Mapping[str, Any], sms: Mapping[str, Any]) -> str:
    """05's stimulus: the best email (its subject line and preview, what the focus group was shown) and the best
    SMS (its body), each under its campaign's name."""
    return (email_html(_field(email, "subject"), _field(email, "preview_text"),
                       label=f"Email · campaign '{_field(email, 'name')}' (subject line and preview)")
            + sms_html(_field(sms, "body"), label=f"SMS · campaign '{_field(sms, 'name')}'"))


def _field(row: Mapping[str, Any], key: str) -> str:
    import pandas as pd

    value = row.get(key)
    return "" if pd.api.types.is_scalar(value) and pd.isna(value) else str(value)  # missing: empty, never "nan"


def stimulus_html(content: str, title: str = "What the personas were shown") -> str:
    """The stimulus box: a short title, then ``content`` (from the functions above)."""
    return (f'<div class="{STIMULUS_CLASS}" style="{_BOX}"><div style="font-weight:600">{_esc(title)}</div>'
            f"{content}</div>")


def show(content: str, text: str) -> None:
    """Display the stimulus (``content`` HTML) with ``text``, what was sent, as its plain-text form."""
    from IPython.display import display

    display({"text/html": stimulus_html(content), "text/plain": text}, raw=True)
