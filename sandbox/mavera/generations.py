"""Generation apps and the copy the emulator writes for them: derived from the current copy sent
(``original``: its words, template tags and links), the product and offer, within each channel's limits.

Like a real generator it slips now and then, in a seeded, deterministic way (:func:`slip`), so the checks a
notebook runs before calling a rewrite "ready" are exercised: about four answers in ten echo the brief,
drop a tag or link, repeat variant 1 whatever variant was asked, or run past the channel's limit. The same
request always gets the same answer; a request asked again with a changed brief gets a fresh draw."""

from __future__ import annotations

import re

from .seeded import digest, pick


def _app(app_id: str, name: str, category: str, description: str, *specific: tuple[str, str, str]) -> dict:
    """A generation app: the brief fields every app shares, its own (name, label, type) fields, then context."""
    def field(name, label, kind="text", required=False):
        return {"name": name, "label": label, "type": kind, "required": required}

    fields = [field("product", "Product or topic", required=True), field("offer", "Offer"),
              field("audience", "Audience"), field("tone", "Tone"), *(field(*f) for f in specific),
              field("context", "Context", "textarea"), field("variant", "Variant number", "number")]
    return {"id": app_id, "name": name, "category": category, "description": description, "input_fields": fields}


GENERATION_APPS = [
    _app("email-subject-line", "Email Subject Line", "Email", "A subject line (and preview text) for a marketing email.",
         ("original", "Current subject line", "text")),
    _app("email-body", "Email Body", "Email", "Body copy with a call to action for a marketing email.",
         ("goal", "Goal of the email", "text"), ("original", "Current body", "textarea")),
    _app("sms-message", "SMS Message", "SMS",
         "A marketing text message within 160 characters, opt-out language included.",
         ("original", "Current message", "text")),
]
APPS_BY_ID = {app["id"]: app for app in GENERATION_APPS}


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,:;-") + "…"


SLIPS = ("echo_brief", "drop_tags", "same_variant", "too_long")  # what slip() may answer, else None
_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|https?://\S+", re.S)


def slip(seed: int, app_id: str, data: dict) -> str | None:
    """The slip this request's answer makes (one of :data:`SLIPS`), or None for a clean answer: 6 in 10 are clean."""
    draw = int.from_bytes(digest(seed, app_id, data, "slip")[:4], "big") % 10
    return SLIPS[draw] if draw < len(SLIPS) else None


def _variant(data: dict) -> int:
    try:
        return max(1, int(data.get("variant") or 1))
    except (TypeError, ValueError):
        return 1


def _parts(original: str) -> tuple[str, str]:
    """(subject, preview) of an original sent as "Subject: … | Preview: …"; else (the text, "")."""
    # A tag's filter has a "|" too ({{ first_name|default:'there' }}): only " | Preview" ends the subject.
    subject = re.search(r"subject:\s*(.*?)\s*(?:\|\s*preview|$)", original, re.IGNORECASE | re.MULTILINE)
    preview = re.search(r"preview(?: text)?:\s*(.*?)\s*$", original, re.IGNORECASE | re.MULTILINE)
    if subject:
        return subject.group(1).strip(), preview.group(1).strip() if preview else ""
    return original.strip(), ""


def _brief_echo(data: dict) -> str:
    """The first words of the brief, as a generator that echoes its instructions writes them."""
    words = str(data.get("context") or data.get("goal") or "").split()
    return " ".join(words[:9]).rstrip(".,;:")


def _without_tags(text: str) -> str:
    return re.sub(r"\s{2,}", " ", _TAGS.sub("", text)).strip()


_HOOKS = ["picked for you", "new this week", "worth a second look", "made for you", "one more look",
          "a little extra inside"]


def _hook(data: dict, variant: int, seed: int, app_id: str) -> str:
    start = int.from_bytes(digest(seed, app_id, data.get("product"), "hook")[:2], "big")
    return _HOOKS[(start + variant) % len(_HOOKS)]  # consecutive variants never share a hook


def _subject_line(data: dict, topic: str, offer: str, variant: int, seed: int) -> tuple[str, str]:
    old_subject, old_preview = _parts(str(data.get("original") or ""))
    core = old_subject or topic
    hook = _hook(data, variant, seed, "email-subject-line")
    subject = f"{core} ({offer})" if offer and variant % 2 else f"{core}: {hook}"
    if len(subject) > 60:
        subject = core if len(core) <= 60 else _fit(core, 60)
    preview = (f"{hook.capitalize()}: {old_preview}" if old_preview else f"{hook.capitalize()}, one tap away.")
    return subject, _fit(preview, 100)


def _sms(data: dict, topic: str, offer: str, variant: int, seed: int, tone: str) -> str:
    original = str(data.get("original") or "")
    keep = " ".join(m.group(0).rstrip(".,;:!?)") for m in _TAGS.finditer(original))
    brand = original.split(":", 1)[0].strip() if ":" in original[:40] else ""
    opener = f"{brand}:" if brand else ("Hey!" if tone in {"playful", "casual", "fun"} else "Hi,")
    hook = _hook(data, variant, seed, "sms-message")
    middle = f" {topic}, {hook}" + (f": {offer}." if offer else ".")
    close = (f" Tap: {keep}" if keep else " Tap to see it.") + " Reply STOP to opt out."
    room = 160 - len(opener) - len(close)
    return f"{opener}{_fit(middle, max(10, room)).rstrip('…')}{close}"[:160]


def _email_body(data: dict, topic: str, offer: str, audience: str, variant: int, seed: int, tone: str) -> str:
    original = str(data.get("original") or "").strip()
    keep = [m.group(0) for m in _TAGS.finditer(original)]
    greeting = "Hi there," if tone != "formal" else "Hello,"
    lines = [greeting, "", f"We picked out **{topic}** for {audience or 'you'}"
             + (f" — and for a short time, {offer}." if offer else "."),
             pick(["Customers who bought once keep coming back for it.", "It pairs well with what you already have.",
                   "It's one of this season's most reordered picks."], seed, "email-body", data.get("product"), variant)]
    if original:
        first = re.split(r"(?<=[.!?])\s", _without_tags(original))[0]
        if first:
            lines += ["", f"In case you missed it: {first}"]
    lines += ["", f"**[Shop {topic} now — {_hook(data, variant, seed, 'email-body')}]**"]
    if keep:
        lines += ["", " ".join(keep)]
    return "\n".join(lines)


def _clean_text(app_id: str, data: dict, persona: dict | None, seed: int) -> str:
    product = str(data.get("product")).strip()
    # Notebook inputs name "Flow: Message"; the copy talks about the topic, not the message label.
    topic = product.split(":", 1)[0].strip() if ":" in product else product
    offer = str(data.get("offer") or "").strip()
    audience = str(data.get("audience") or (persona or {}).get("name") or "").strip()
    tone = str(data.get("tone") or "warm").strip().lower()
    variant = _variant(data)
    if app_id == "email-subject-line":
        subject, preview = _subject_line(data, topic, offer, variant, seed)
        return f"**Subject:** {subject}\n\n**Preview text:** {preview}"
    if app_id == "sms-message":
        return _sms(data, topic, offer, variant, seed, tone)
    return _email_body(data, topic, offer, audience, variant, seed, tone)


def _slipped(app_id: str, text: str, data: dict, kind: str) -> str:
    """``text`` with the slip ``kind`` made (``same_variant`` is handled by the caller)."""
    if kind == "echo_brief" and _brief_echo(data):
        echo = _brief_echo(data)
        if app_id == "email-subject-line":
            return re.sub(r"(\*\*Preview text:\*\* ).*", lambda m: m.group(1) + _fit(echo, 100), text)
        return f"{text.split(' Reply STOP')[0]} {echo}. Reply STOP to opt out." if app_id == "sms-message" \
            else f"{text}\n\nOur aim with this email: {echo}."
    if kind == "drop_tags":
        return "\n".join(_without_tags(line) if line.strip() else line for line in text.split("\n"))
    if kind == "too_long":
        extra = " Plenty more where that came from, with new arrivals every single week of the year."
        if app_id == "email-subject-line":
            return re.sub(r"(\*\*Subject:\*\* )(.*)", lambda m: m.group(1) + m.group(2) + " —" + extra, text, count=1)
        return text.replace(" Reply STOP", extra + extra + " Reply STOP") if app_id == "sms-message" else text
    return text


def generate_text(app_id: str, data: dict, persona: dict | None, seed: int) -> str:
    """Copy derived from the current copy sent (its words, tags and links kept), the product and offer, within
    the channel's limits (subject ≤ 60 characters, SMS ≤ 160 GSM-7 characters with opt-out language), unless
    this request slips (:func:`slip`)."""
    kind = slip(seed, app_id, data)
    if kind == "same_variant":
        return _clean_text(app_id, {**data, "variant": 1}, persona, seed)
    return _slipped(app_id, _clean_text(app_id, data, persona, seed), data, kind) if kind else \
        _clean_text(app_id, data, persona, seed)
