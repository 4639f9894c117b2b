"""Channel limits a rewrite must fit (notebook 02): an email's subject and preview lengths, an SMS's billed
segments with its opt-out language."""

from __future__ import annotations

__all__ = ["check_rewrite", "sms_length"]

# GSM 03.38 basic set (1 unit each) and extension table (2 units each); anything else forces UCS-2.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_length(body: str, opt_out: str = "Reply STOP to opt out.") -> dict:
    """Length of an SMS as sent: the body plus opt-out language unless it already says STOP.

    Returns `{"text", "encoding": "GSM-7"|"UCS-2", "units", "segments", "has_opt_out"}`; one segment holds
    160 GSM-7 units (153 when concatenated) or 70 UCS-2 characters (67 when concatenated).
    """
    has_opt_out = "stop" in body.lower()
    text = body if has_opt_out else f"{body.rstrip()} {opt_out}".strip()
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        encoding, units = "GSM-7", sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
    else:
        encoding, units = "UCS-2", sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi = 70, 67
    segments = 1 if units <= single else -(-units // multi)
    return {"text": text, "encoding": encoding, "units": units, "segments": segments, "has_opt_out": has_opt_out}


def check_rewrite(
    channel: str,
    subject: str | None = None,
    preview_text: str | None = None,
    body: str | None = None,
    subject_max: int = 60,
    preview_max: int = 100,
    sms_max_segments: int = 1,
    opt_out: str = "Reply STOP to opt out.",
) -> list[str]:
    """Channel-limit problems of one rewrite, as short sentences (empty list = ready to paste).

    Email: subject <= `subject_max` characters (inbox clients cut longer ones), preview text <= `preview_max`.
    SMS: the body *with* opt-out language must fit in `sms_max_segments` segments (each extra segment is
    billed).
    """
    problems = []
    if channel == "email":
        if subject is not None and len(subject) > subject_max:
            problems.append(f"subject is {len(subject)} characters (limit {subject_max})")
        if subject is not None and not subject.strip():
            problems.append("subject is empty")
        if preview_text is not None and len(preview_text) > preview_max:
            problems.append(f"preview text is {len(preview_text)} characters (limit {preview_max})")
    elif channel == "sms":
        if body is None or not body.strip():
            problems.append("SMS body is empty")
        else:
            info = sms_length(body, opt_out)
            if info["segments"] > sms_max_segments:
                limit = 160 if info["encoding"] == "GSM-7" else 70
                problems.append(
                    f"SMS with opt-out is {info['units']} {info['encoding']} units = {info['segments']} segments "
                    f"(limit {sms_max_segments} x {limit})"
                )
    return problems
