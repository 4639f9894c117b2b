"""Generation apps and the copy the emulator writes for them: built from the brief sent (product, offer,
audience, tone, the current copy), within each channel's limits."""

from __future__ import annotations

import re

from .seeded import pick


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


def generate_text(app_id: str, data: dict, persona: dict | None, seed: int) -> str:
    """Copy built from the input: it names the product and offer sent and keeps channel limits
    (subject ≤ 60 characters, SMS ≤ 160 GSM-7 characters with opt-out language)."""
    product = str(data.get("product")).strip()
    # Notebook inputs name "Flow: Message"; the copy talks about the topic, not the message label.
    topic = product.split(":", 1)[0].strip() if ":" in product else product
    offer = str(data.get("offer") or "").strip()
    audience = str(data.get("audience") or (persona or {}).get("name") or "").strip()
    tone = str(data.get("tone") or "warm").strip().lower()
    original = str(data.get("original") or "")
    old_subject = re.search(r"subject:\s*(.*?)\s*(?:\||$)", original, re.IGNORECASE | re.MULTILINE)
    key = (seed, app_id, data, (persona or {}).get("id"))
    if app_id == "email-subject-line":
        short = _fit(topic, 34)
        if offer:
            options = [f"{short}: {offer}", f"{offer} on {short}, today only", f"Still thinking about {short}? {offer}",
                       f"Your {short} pick + {offer}"]
        else:
            options = [f"Your {short} picks are waiting", f"Back in focus: {short}", f"{short}, picked for you",
                       f"A quick look at {short}"]
        if old_subject and old_subject.group(1):
            options.append(f"Re-think: {_fit(old_subject.group(1).strip(), 40)} (new picks inside)")
        subject = _fit(pick(options, *key), 60)
        preview = pick([f"{audience or 'Our regulars'} love it; see why.", "One tap to pick up where you left off.",
                         "Made for how you actually shop."], *key, "preview")
        return f"**Subject:** {subject}\n\n**Preview text:** {_fit(preview, 100)}"
    if app_id == "sms-message":
        opener = "Hey!" if tone in {"playful", "casual", "fun"} else "Hi,"
        close = pick([" Shop now.", " Tap to see it.", " Grab yours today."], *key) + " Reply STOP to opt out."
        middle = f": {offer}." if offer else " is back for you."
        room = 160 - len(opener) - 1 - len(middle) - len(close)
        return f"{opener} {_fit(topic, max(10, room)).rstrip('…')}{middle}{close}"[:160]  # GSM-7 only
    goal = str(data.get("goal") or "come back and complete your order").strip().rstrip(".")
    greeting = "Hi there," if tone != "formal" else "Hello,"
    lines = [
        greeting,
        "",
        f"We picked out **{topic}** for {audience or 'you'}" + (f" — and for a short time, {offer}." if offer else "."),
        pick(["Customers who bought once keep coming back for it.",
               "It pairs well with what you already have.",
               "It's one of this season's most reordered picks."], *key),
        "",
        f"Our aim with this email: {goal}.",
        "",
        f"**[Shop {topic} now]**",
    ]
    return "\n".join(lines)
