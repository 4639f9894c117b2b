"""The emulated Generate writes copy from the original it is given, and slips now and then, seeded, so the
checks notebook 02 runs before "ready to paste" are exercised (issue #21)."""

from __future__ import annotations

from helpers.analysis import flows, rewrite_checks
from sandbox.mavera.generations import generate_text

SMS = "Sandbox Goods: You left something behind. Tap to shop: https://sbx.example/s/ab12c Reply STOP to opt out."
EMAIL = "Subject: {{ first_name|default:'Hi' }}, you left something behind | Preview: Your cart is waiting"
CONTEXT = ("Flow 'Abandoned Cart' (purpose: abandoned cart; trigger: Metric), message 'Abandoned Cart #1'. "
           "Failing stage: clicks — rewrite the body and its call to action. Write only the new copy.")


def _requests(app_id: str, original: str, n: int = 40) -> list[dict]:
    return [{"product": f"Abandoned Cart: message {k}", "original": original, "context": CONTEXT, "variant": v}
            for k in range(n) for v in (1, 2)]


def _checked(app_id: str, channel: str, part: str, original: str) -> list[list[str]]:
    """The problems rewrite_checks finds in every answer, variant 2 checked against variant 1."""
    found = []
    for first, second in zip(*[iter(_requests(app_id, original))] * 2, strict=True):
        copies = {}
        for data in (first, second):
            fields = flows.parse_rewrite(channel, part, generate_text(app_id, data, None, seed=7))
            found.append(rewrite_checks.problems(channel, part, fields, original, [CONTEXT], copies))
            copies[data["variant"]] = rewrite_checks.copy_of(fields, part)
    return found


def test_sms_copy_keeps_the_original_link_and_opt_out_unless_it_slips():
    outputs = [generate_text("sms-message", data, None, seed=7) for data in _requests("sms-message", SMS)]
    kept = [o for o in outputs if "https://sbx.example/s/ab12c" in o]
    assert len(kept) >= len(outputs) // 2  # derived from the original: its tracked link stays ...
    assert len(kept) < len(outputs)  # ... except when a draft drops it, which the checks must catch
    assert all("Sandbox Goods" in o and "STOP" in o for o in outputs)
    assert outputs == [generate_text("sms-message", data, None, seed=7) for data in _requests("sms-message", SMS)]


def test_subject_lines_keep_the_original_tag_and_words_unless_they_slip():
    outputs = [generate_text("email-subject-line", d, None, seed=7) for d in _requests("email-subject-line", EMAIL)]
    assert sum("{{ first_name|default:'Hi' }}" in o for o in outputs) >= len(outputs) // 2
    assert sum("you left something behind" in o for o in outputs) >= len(outputs) // 2


def test_some_answers_pass_every_check_and_some_fail_each_kind_of_check():
    """Seeded slips: the checks find an echoed brief, a dropped tag or link, a repeated variant and an SMS past
    its segment, and most answers pass all of them."""
    sms = _checked("sms-message", "sms", "sms", SMS)
    subjects = _checked("email-subject-line", "email", "subject_preview", EMAIL)
    everything = sms + subjects
    clean = [p for p in everything if not p]
    assert len(clean) >= len(everything) // 2
    said = " ".join("; ".join(p) for p in everything)
    for reason in ("repeats the brief", "drops “https://sbx.example/s/ab12c”", "drops “{{ first_name|default:'Hi' }}”",
                   "the same as variant 1", "segments"):
        assert reason in said, reason
