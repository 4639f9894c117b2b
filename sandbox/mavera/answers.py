"""Focus-group answers: each persona answers from the words and numbers it was created with (churn, CLV,
channel), the stimulus and the question, so results differ sensibly between personas."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from .seeded import rng as seeded_rng

_POSITIVE = ("vip", "loyal", "champion", "high-value", "high value", "repeat", "advocate", "frequent")
_NEGATIVE = ("at risk", "at-risk", "lapsed", "dormant", "occasional", "one-time", "bargain", "price-sensitive")
_REVERSED = ("intrusive", "annoying", "spam", "too many", "too often", "irritat", "overwhelm")
_PRICE = ("price", "fair", "worth", "value for money", "expensive", "cost")
# A persona that says it ignores a channel rejects it: its likelihood to act on that channel collapses (NPS
# near −100) and it seldom picks it, whatever its other traits. Notebook 05 must not advise that channel
# silently. Matched on the persona's own words, e.g. "ignores brand emails", "never reads text messages".
_REJECTS = re.compile(
    r"\b(?:ignores?|never (?:opens?|reads?|acts? on)|deletes?|unsubscribed from|opted out of|dislikes?|hates?)"
    r"\s+(?:(?:brand|marketing|our|all|most|every)\s+)?(e-?mails?|sms|texts?|text messages?)\b")


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {_flatten(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return " ".join(_flatten(v) for v in value)
    return str(value)


def _number(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text)
    if not match:
        return None
    value = float(match.group(1).replace(",", ""))
    return value


def persona_traits(persona: dict) -> dict:
    """Answer tendencies read from a persona's words and numbers (churn probability, CLV, channel).

    ``affinity`` in [-1, 1]: loyal, high-CLV, low-churn personas answer warmer than high-churn,
    low-value ones. ``price_sensitive`` and ``channel`` steer price and channel questions.
    """
    text = " ".join([persona.get("name", ""), persona.get("description", ""), _flatten(persona.get("details", {}))])
    low = text.lower()
    band = re.search(r"churn[^.;\n]{0,25}?\b(low|medium|high)\b", low)
    churn = _number(r"churn[a-z _-]*?[^0-9\n;]{0,25}?(\d+(?:\.\d+)?)\s*%", low)
    if band:
        churn = {"low": 0.15, "medium": 0.45, "high": 0.75}[band.group(1)]
    elif churn is not None:
        churn /= 100
    else:
        churn = _number(r"churn[a-z _-]*?[^0-9\n;]{0,25}?(0?\.\d+|1\.0+|[01])\b", low)
    clv = _number(r"clv[^0-9\n]{0,40}?\$?\s*(\d[\d,]*(?:\.\d+)?)", low)
    affinity = 0.0
    if churn is not None:
        affinity += (0.35 - min(max(churn, 0.0), 1.0)) * 1.6
    if clv is not None and clv > 0:
        affinity += max(-0.4, min(0.4, (math.log10(clv) - 2.3) * 0.35))
    pos = sum(low.count(w) for w in _POSITIVE)
    neg = sum(low.count(w) for w in _NEGATIVE)
    affinity += max(-0.3, min(0.3, 0.15 * (pos - neg)))
    sms = low.count("sms") + low.count("text message")
    email = low.count("email")
    rejects = {"email" if "mail" in m.group(1) else "sms" for m in _REJECTS.finditer(low)}
    return {
        "rejects": rejects,
        "affinity": max(-1.0, min(1.0, affinity)),
        "churn": churn,
        "clv": clv,
        "price_sensitive": (churn is not None and churn >= 0.5) or neg > pos,
        "channel": "sms" if sms > email else ("email" if email > sms else None),
    }


def _stimulus_pull(context: str) -> float:
    low = context.lower()
    pull = 0.0
    if re.search(r"\d+\s*%\s*off|discount|free shipping|save\b|bundle", low):
        pull += 0.1
    prices = [float(p.replace(",", "")) for p in re.findall(r"\$\s*(\d[\d,]*(?:\.\d+)?)", context)]
    if prices and sum(prices) / len(prices) > 150:
        pull -= 0.15
    return pull


def _question_lean(traits: dict, q: dict, context: str) -> float:
    """How favourably this persona leans on this question, in [-1, 1]."""
    text = q["text"].lower()
    lean = traits["affinity"] + _stimulus_pull(context)
    if any(w in text for w in _PRICE) and traits["price_sensitive"]:
        lean -= 0.25 if "discount" not in context.lower() and "% off" not in context.lower() else -0.15
    channel = traits["channel"]
    mentions_sms, mentions_email = "sms" in text or "text message" in text, "email" in text
    if channel and mentions_sms != mentions_email:
        lean += 0.3 if (channel == "sms") == mentions_sms else -0.3
    if mentions_sms != mentions_email and ("sms" if mentions_sms else "email") in traits.get("rejects", ()):
        lean = min(lean, -0.9)  # below the stimulus and every other trait: this persona does not act there
    if any(w in text for w in _REVERSED):
        lean = -lean  # an agreeable persona disagrees that the message is intrusive
    return max(-1.0, min(1.0, lean))


def _subject_of(context: str) -> str:
    first = next((line.strip(" -*#:\t") for line in context.splitlines() if line.strip(" -*#:\t")), "this offer")
    return first if len(first) <= 80 else first[:77].rstrip() + "..."


def _open_answer(persona: dict, traits: dict, lean: float, context: str, rng: np.random.Generator) -> str:
    subject = _subject_of(context)
    who = persona["name"]
    if lean > 0.25:
        opener = ["I'd go for it", "This fits how I already shop", "Honestly, this is appealing"]
        reason = "I already trust the brand and the combination makes sense for me"
    elif lean < -0.25:
        opener = ["I'd probably skip this", "Not convinced", "This doesn't grab me"]
        reason = "I only buy when there's a clear reason or a real deal"
    else:
        opener = ["Maybe", "It depends on timing", "I could see myself trying it"]
        reason = "it's interesting, but I'd compare it with other options first"
    parts = [f"{opener[int(rng.integers(len(opener)))]}: {subject}.", f"As a {who} shopper, {reason}."]
    if traits["churn"] is not None and traits["churn"] >= 0.5:
        parts.append("A time-limited discount or free shipping would change my mind.")
    elif traits["clv"] is not None and traits["clv"] >= 500:
        parts.append("Early access or a loyalty perk would matter more to me than a discount.")
    if traits["channel"]:
        parts.append(f"Reach me by {'SMS' if traits['channel'] == 'sms' else 'email'}.")
    return " ".join(parts)


def _answer(q: dict, persona: dict, traits: dict, context: str, rng: np.random.Generator) -> tuple[Any, str]:
    lean = _question_lean(traits, q, context)
    if q["type"] == "likert":
        scale = q["scale"]
        mid = (scale + 1) / 2
        value = int(np.clip(round(mid + lean * (scale - 1) / 2 * 0.85 + rng.normal(0, 0.6)), 1, scale))
        return value, f"Leaning {'positive' if lean > 0.1 else 'negative' if lean < -0.1 else 'neutral'} on this."
    if q["type"] == "nps":
        value = int(np.clip(round(6.5 + lean * 3.8 + rng.normal(0, 1.2)), 0, 10))
        band = "promoter" if value >= 9 else "passive" if value >= 7 else "detractor"
        return value, f"Score {value} ({band})."
    if q["type"] == "multiple_choice":
        weights = [_option_weight(option.lower(), traits, lean) for option in q["options"]]
        p = np.asarray(weights) / sum(weights)
        choice = q["options"][int(rng.choice(len(p), p=p))]
        return choice, f"{choice} suits me best."
    text = _open_answer(persona, traits, lean, context, rng)
    return text, text


def _option_weight(low: str, traits: dict, lean: float) -> float:
    """How likely this persona picks the (lower-cased) option: its own channel up, a channel it rejects
    down, "neither" when it leans negative and "both"/"all" when it leans positive."""
    w = 1.0
    if traits["channel"] == "sms" and ("sms" in low or "text" in low):
        w += 2.5
    if traits["channel"] == "email" and "email" in low:
        w += 2.5
    if ("email" in low) != ("sms" in low or "text" in low):
        if ("email" if "email" in low else "sms") in traits.get("rejects", ()):
            w *= 0.15
    if any(x in low for x in ("neither", "none", "not interested")):
        w *= 0.3 + max(0.0, -lean) * 3
    if "both" in low or "all" in low.split():
        w *= 0.6 + max(0.0, lean) * 2
    return w


def answer_group(seed: int, body: dict, personas: list[dict], questions: list[dict], sample: int, context: str) -> dict:
    responses = []
    traits = {p["id"]: persona_traits(p) for p in personas}
    for r in range(sample):
        persona = personas[r % len(personas)]  # respondents spread evenly over the personas
        answers = []
        for q in questions:
            rng = seeded_rng(seed, body, persona["id"], r, q["id"])
            value, reasoning = _answer(q, persona, traits[persona["id"]], context, rng)
            answers.append({"question_id": q["id"], "type": q["type"], "value": value, "reasoning": reasoning})
        responses.append({"respondent_id": f"r{r + 1}", "persona": {"id": persona["id"], "name": persona["name"]},
                          "answers": answers})
    return {"summary": _summarise(questions, responses), "responses": responses}


def _summarise(questions: list[dict], responses: list[dict]) -> list[dict]:
    out = []
    for q in questions:
        values = [a["value"] for r in responses for a in r["answers"] if a["question_id"] == q["id"]]
        stat: dict[str, Any] = {"question_id": q["id"], "type": q["type"], "text": q["text"], "n": len(values)}
        if q["type"] in {"likert", "nps"}:
            arr = np.asarray(values, dtype=float)
            stat.update(mean=round(float(arr.mean()), 3), median=float(np.median(arr)), std_dev=round(float(arr.std()), 3))
            if q["type"] == "nps":
                stat["nps"] = round(100 * (float((arr >= 9).mean()) - float((arr <= 6).mean())), 1)
        elif q["type"] == "multiple_choice":
            stat["distribution"] = {o: values.count(o) for o in q["options"]}
        out.append(stat)
    return out

