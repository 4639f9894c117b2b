"""Checks a rewrite passes before notebook 02 calls it "ready to paste", and the brief a copywriter needs.

Only lengths were checked, so a generator's slips went out as "ready": the brief echoed into the copy ("Our
aim with this email: …"), two variants word for word the same, a Klaviyo template tag (``{{ first_name }}``,
``{% unsubscribe %}``) or the message's link dropped. Each check here returns short sentences (none: ready);
the notebook step (``helpers.steps.rewrites``) asks once more when one fails, then shows "needs editing" with
the reason. Pure functions, no HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from helpers.analysis.flows import check_rewrite, sms_length

__all__ = ["LIMITS", "brief_context", "copy_of", "keep_tokens", "leaked_brief", "problems", "same_as"]

# What each channel allows, as the brief states it and check_rewrite enforces it.
LIMITS = {"email": "subject at most 60 characters, preview text at most 100",
          "sms": "one SMS segment (160 GSM-7 characters, 70 if it needs Unicode) including the opt-out line"}
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_LINK = re.compile(r"https?://\S+")
_FIELDS = ("subject", "preview_text", "body")
_LABELS = re.compile(r"(?i)\b(?:subject|preview(?: text)?)\s*:|\s\|\s")  # how flows.rewrite_requests joins parts
_PARTS = {"subject_preview": ("subject", "preview_text"), "body_cta": ("body",), "offer": ("body",), "sms": ("body",)}


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _norm_tag(tag: str) -> str:
    return re.sub(r"\s+", "", tag)


def keep_tokens(original: str) -> list[str]:
    """What a rewrite must carry over from the original, in order: its template tags (``{{ first_name }}``,
    ``{% unsubscribe %}``: Klaviyo fills them at send time) and its links (the message's tracked link)."""
    found = [m.group(0) for m in _TAG.finditer(original)] + [m.group(0).rstrip(".,;:!?)") for m in _LINK.finditer(original)]
    return list(dict.fromkeys(found))


def copy_of(fields: Mapping[str, object], part: str) -> str:
    """The rewritten text of ``part`` (subject and preview, or body), one string."""
    return "\n".join(_text(fields.get(f)) for f in _PARTS.get(part, _FIELDS) if _text(fields.get(f)))


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", _TAG.sub(" ", text).casefold())


def leaked_brief(copy: str, brief: Iterable[str], original: str = "", min_words: int = 6) -> str | None:
    """A run of ``min_words`` words the copy took from the brief (the request's context, goal, limits), or
    None. Runs that the original copy holds too are fine: keeping the original's words is no leak."""
    said = _words(copy)
    kept = {tuple(w) for w in _windows(_words(original), min_words)}
    shingles = {tuple(w) for w in _windows(said, min_words)} - kept
    for text in brief:
        for window in _windows(_words(text), min_words):
            if tuple(window) in shingles:
                return " ".join(window)
    return None


def _windows(words: Sequence[str], size: int) -> list[Sequence[str]]:
    return [words[i:i + size] for i in range(len(words) - size + 1)]


def _key(text: str) -> str:
    return " ".join(_words(text))


def same_as(copy: str, others: Mapping[int, str]) -> int | None:
    """The variant number among ``others`` {variant: copy} whose copy is the same as ``copy`` (case,
    spacing and punctuation ignored), or None."""
    key = _key(copy)
    return next((k for k, text in others.items() if key and _key(text) == key), None)


def problems(
    channel: str,
    part: str,
    fields: Mapping[str, object],
    original: str,
    brief: Iterable[str] = (),
    others: Mapping[int, str] | None = None,
) -> list[str]:
    """Every reason a rewrite is not ready to paste, as short sentences (empty: ready).

    ``fields``: the rewrite (``subject``, ``preview_text``, ``body``); ``original``: the text it replaces;
    ``brief``: what was sent to the generator besides the original (context, goal); ``others``: the other
    variants of the same message already accepted {variant: copy}. Checks: channel limits (subject, preview,
    SMS segments with opt-out: ``flows.check_rewrite``); not the original unchanged; not the same as another
    variant; no run of the brief's words in the copy; every template tag and link of the original kept.
    """
    found = check_rewrite(channel, **{k: _text(fields.get(k)) if fields.get(k) is not None else None
                                      for k in _FIELDS})
    copy = copy_of(fields, part)
    if not copy.strip():
        return found or ["the rewrite is empty"]
    if original.strip() and _key(copy) == _key(_LABELS.sub(" ", original)):
        found.append("it is the original unchanged")
    twin = same_as(copy, others or {})
    if twin is not None:
        found.append(f"it is the same as variant {twin}")
    leak = leaked_brief(copy, brief, original)
    if leak:
        found.append(f"it repeats the brief (“{leak}”)")
    have = {_norm_tag(t) for t in keep_tokens(copy)}
    dropped = [t for t in keep_tokens(original) if _norm_tag(t) not in have]
    if dropped:
        found.append("it drops " + ", ".join(f"“{t}”" for t in dropped) + " from the original")
    return found


def brief_context(flow_name: str, trigger: str, message_name: str, channel: str, stage: str, diagnosis: str,
                  numbers: str, original: str) -> str:
    """The context a copywriter needs, for the Generate request: the flow's purpose and trigger, the failing
    funnel stage and its numbers, the channel's limits, and what to keep from the current copy."""
    keep = keep_tokens(original)
    sms = sms_length(original) if channel == "sms" and original else None
    current = f" The current SMS is {sms['units']} {sms['encoding']} units." if sms else ""
    return (f"Flow '{flow_name}' (purpose: {flow_name.lower()}; trigger: {trigger or 'unknown'}), message "
            f"'{message_name}' ({channel}). Failing stage: {stage or 'unknown'} — {diagnosis}. Numbers: {numbers}. "
            f"Limits: {LIMITS.get(channel, '')}.{current} "
            + (f"Keep exactly: {' '.join(keep)}. " if keep else "")
            + "Write only the new copy, nothing of this brief.")


def _numbers(tests, message_id: str) -> str:
    mine = tests[(tests["message_id"] == message_id) & tests["flagged"]]
    money = lambda v: f"{v:.2f}"  # noqa: E731  (revenue per recipient)
    pct = lambda v: f"{v:.1%}"  # noqa: E731
    return "; ".join(
        f"{t.metric.replace('_', ' ')} {(money if t.metric == 'revenue_per_recipient' else pct)(t.rate)} vs peers "
        f"{(money if t.metric == 'revenue_per_recipient' else pct)(t.peer_rate)} ({t.ratio:.0%} of peers)"
        for t in mine.itertuples(index=False)
    ) or "n/a"


def requests(evaluated, tests, variants: int = 2) -> list[dict]:
    """``flows.rewrite_requests`` with the brief a copywriter needs as the request's context
    (:func:`brief_context`: the current copy's tags and links to keep, the failing stage, the flow's purpose
    and trigger, the channel's limits); each request also carries ``original``, the text it replaces, for
    :func:`problems`."""
    from helpers.analysis.flows import rewrite_requests

    out = rewrite_requests(evaluated, tests, variants=variants)
    rows = evaluated.set_index("message_id")
    for req in out:
        row = rows.loc[req["message_id"]]
        original = str(req["input_data"].get("original") or "")
        req["original"] = original
        req["input_data"]["context"] = brief_context(
            str(row.get("flow_name", "")), str(row.get("trigger_type") or ""), str(row.get("message_name", "")),
            req["channel"], str(row.get("stage") or ""), str(row.get("diagnosis") or ""),
            _numbers(tests, req["message_id"]), original)
    return out
