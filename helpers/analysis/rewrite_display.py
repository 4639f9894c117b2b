"""Rewrites shown as the channel shows them (notebook 02): email subject, preview and body; SMS as sent.

The rewrites table cut long bodies and printed line breaks as a literal "\\n", so a reader could not
judge the copy. These functions return the full text with real line breaks: an email as its inbox line
(subject, preview) above its body, an SMS exactly as the phone receives it — with the opt-out line added
when the copy lacks one (Klaviyo appends it on send) — and its length in characters and billed segments.
`*_markdown` variants are escaped for a notebook's Markdown (see `markdown`), the plain ones are for
files and terminals.
"""

from __future__ import annotations

import pandas as pd

from helpers.analysis.flows import sms_length
from helpers.analysis.markdown import escape, multiline, real_line_breaks

__all__ = ["OPT_OUT", "rewrite_cards", "rewrite_markdown", "sms_preview"]

OPT_OUT = "Reply STOP to opt out."


def _clean(value) -> str | None:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return real_line_breaks(value).strip()


def sms_preview(body: str | None, opt_out: str = OPT_OUT) -> dict:
    """The SMS as sent and its length: `flows.sms_length` of the body with real line breaks, plus
    `characters` (len of the sent text), `opt_out_added` and a one-line `summary`, e.g. "142 characters ·
    GSM-7 · 1 segment · opt-out line added".

    Why: a literal "\\n" counts two characters and shows as a backslash on the phone; the count must be of
    what is sent, opt-out included, because every extra segment is billed.
    """
    text = _clean(body) or ""
    info = sms_length(text, opt_out)
    characters = len(info["text"])
    units = "" if info["units"] == characters else f" ({info['units']} {info['encoding']} units)"
    parts = [f"{characters} characters{units}", info["encoding"],
             f"{info['segments']} segment{'s' if info['segments'] != 1 else ''}"]
    parts.append("opt-out line added" if not info["has_opt_out"] else "opt-out line present")
    return {**info, "characters": characters, "opt_out_added": not info["has_opt_out"], "summary": " · ".join(parts)}


def rewrite_markdown(
    channel: str,
    subject: str | None = None,
    preview_text: str | None = None,
    body: str | None = None,
    opt_out: str = OPT_OUT,
) -> str:
    """One rewrite in full for a Markdown cell: labels in bold, the copy escaped, every line break kept. Fields a
    rewrite did not touch (None/NaN) are left out; an empty result says so.

    Email: "**Subject:** …" and "**Preview:** …" on their own lines, the body below as paragraphs. SMS: the
    message as sent, then its length summary in italics. Nothing is truncated.
    """
    if channel == "sms":
        if not _clean(body):
            return "*(empty SMS)*"
        sms = sms_preview(body, opt_out)
        return f"{multiline(sms['text'])}\n\n*{escape(sms['summary'])}*"
    head = [f"**{label}:** {escape(' '.join(text.split()))}" for label, value in (("Subject", subject),
            ("Preview", preview_text)) if (text := _clean(value)) is not None]
    parts = ["\\\n".join(head)] if head else []
    text = _clean(body)
    if text:
        parts.append(multiline(text))
    return "\n\n".join(parts) if parts else "*(empty rewrite)*"


def rewrite_cards(rewrites: pd.DataFrame, opt_out: str = OPT_OUT) -> str:
    """Every rewrite as a Markdown card: a heading naming flow, message and variant, the copy as the
    channel shows it (`rewrite_markdown`) and its channel-limit check.

    Why: the report must show each rewrite in full, ready to paste. `rewrites` is the notebook's rewrites
    frame (`flow_name, message_name, channel, part, variant, subject, preview_text, body, checks`); cards
    follow its row order. No rows → a sentence saying there are none.
    """
    if rewrites.empty:
        return "No rewrites were made in this run."
    cards = []
    for row in rewrites.to_dict("records"):
        title = " · ".join(escape(str(row[k])) for k in ("flow_name", "message_name") if row.get(k))
        variant = f" — variant {int(row['variant'])}" if pd.notna(row.get("variant")) else ""
        part = f" ({escape(str(row['part']).replace('_', ' '))})" if row.get("part") else ""
        copy = rewrite_markdown(row.get("channel"), row.get("subject"), row.get("preview_text"), row.get("body"),
                                opt_out)
        checks = _clean(row.get("checks"))
        card = f"#### {title}{variant}{part}\n\n{copy}"
        if checks is not None:  # not checked (no column or NaN): say nothing rather than "ready"
            card += "\n\n*" + ("ready to paste" if checks in ("", "ok") else f"needs editing: {escape(checks)}") + "*"
        cards.append(card)
    return "\n\n---\n\n".join(cards)
