"""Checks before "ready to paste" (notebook 02, issue #21): variants differ, no brief in the copy, the
original's template tags and links kept, SMS within its segment."""

from __future__ import annotations

from helpers.analysis import rewrite_checks as rc

BRIEF = ("Flow 'Welcome Series' (purpose: welcome series; trigger: Added to List). Failing stage: opens — "
         "rewrite the subject and preview. Limits: subject at most 60 characters, preview text at most 100.")
ORIGINAL = "Subject: Welcome, {{ first_name|default:'friend' }} | Preview: Your first-order perk is inside"


def email(subject, preview="A little something for your first order"):
    return {"subject": subject, "preview_text": preview}


def test_a_good_rewrite_is_ready():
    fields = email("{{ first_name|default:'friend' }}, your perk is here")
    assert rc.problems("email", "subject_preview", fields, ORIGINAL, [BRIEF]) == []


def test_a_dropped_template_tag_is_named():
    found = rc.problems("email", "subject_preview", email("Your perk is here"), ORIGINAL, [BRIEF])
    assert found == ["it drops “{{ first_name|default:'friend' }}” from the original"]
    # Spacing inside the braces does not matter: Klaviyo reads both the same.
    spaced = email("{{first_name|default:'friend'}}, your perk is here")
    assert rc.problems("email", "subject_preview", spaced, ORIGINAL, [BRIEF]) == []


def test_the_unsubscribe_tag_and_links_must_stay_in_a_body():
    original = "Hi {{ first_name }},\nShop now: https://shop.example/x?utm=1.\n{% unsubscribe 'Unsubscribe' %}"
    assert rc.keep_tokens(original) == ["{{ first_name }}", "{% unsubscribe 'Unsubscribe' %}",
                                        "https://shop.example/x?utm=1"]
    body = {"body": "Hi {{ first_name }},\nA better call to action: https://shop.example/x?utm=1"}
    assert rc.problems("email", "body_cta", body, original) == [
        "it drops “{% unsubscribe 'Unsubscribe' %}” from the original"]


def test_brief_text_in_the_copy_is_a_leak_but_the_originals_own_words_are_not():
    leaked = email("{{ first_name|default:'friend' }}, hi", "Failing stage: opens — rewrite the subject and preview")
    [problem] = rc.problems("email", "subject_preview", leaked, ORIGINAL, [BRIEF])
    assert problem.startswith("it repeats the brief (“failing stage opens rewrite the subject")
    body = {"body": "Our aim with this email: get readers who opened to click through. {{ first_name }}"}
    goal = "get readers who opened to click through: a clearer body and one strong call to action"
    assert rc.leaked_brief(body["body"], [goal]) == "get readers who opened to click"
    kept = "Your first-order perk is inside, {{ first_name|default:'friend' }}"
    assert rc.leaked_brief(kept, ["keep this: your first-order perk is inside the box"], ORIGINAL) is None


def test_variants_of_one_message_must_differ_and_change_the_original():
    one = email("{{ first_name|default:'friend' }}, your perk is here")
    copy = rc.copy_of(one, "subject_preview")
    assert rc.problems("email", "subject_preview", one, ORIGINAL, [], {1: copy.upper()}) == [
        "it is the same as variant 1"]
    same = {"subject": "Welcome, {{ first_name|default:'friend' }}", "preview_text": "Your first-order perk is inside"}
    assert "it is the original unchanged" in rc.problems("email", "subject_preview", same, ORIGINAL)


def test_an_sms_past_one_segment_with_its_opt_out_is_not_ready():
    original = "Shop: https://sbx.example/s/1 Reply STOP to opt out."
    long = {"body": "Hi! " + "Big news on your favourite picks. " * 5 + "https://sbx.example/s/1"}
    [problem] = rc.problems("sms", "sms", long, original)
    assert "segments (limit 1 x 160)" in problem
    assert rc.problems("sms", "sms", {"body": "New picks: https://sbx.example/s/1"}, original) == []


def test_the_brief_carries_what_a_copywriter_needs():
    text = rc.brief_context("Abandoned Cart", "Metric", "Abandoned Cart #2 (SMS)", "sms", "clicks",
                            "rewrite the body and its call to action", "click rate 1.0% vs peers 2.0% (50% of peers)",
                            "Goods: back soon https://sbx.example/s/9 Reply STOP to opt out.")
    for needed in ("purpose: abandoned cart", "trigger: Metric", "Failing stage: clicks", "click rate 1.0%",
                   "one SMS segment", "Keep exactly: https://sbx.example/s/9", "nothing of this brief"):
        assert needed in text, needed
