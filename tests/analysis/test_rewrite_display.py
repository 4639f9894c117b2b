"""Rewrites formatted as the channel shows them: full text, real line breaks, SMS length and opt-out."""

from __future__ import annotations

import pandas as pd
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from helpers.analysis.rewrite_display import rewrite_cards, rewrite_markdown, sms_preview

LONG_BODY = "Hi {{ first_name }},\\n\\nYour basket misses you. " + "Here is why you will love it. " * 40 + "\\nShop now"


def test_sms_is_counted_as_sent_with_the_opt_out_line():
    info = sms_preview("Flash sale!\\nUse code SAVE10")
    assert info["text"] == "Flash sale!\nUse code SAVE10 Reply STOP to opt out."
    assert info["characters"] == len(info["text"]) == 50 and info["segments"] == 1 and info["opt_out_added"]
    assert info["summary"] == "50 characters · GSM-7 · 1 segment · opt-out line added"
    present = sms_preview("Sale today. Text STOP to quit")
    assert not present["opt_out_added"] and present["summary"].endswith("opt-out line present")
    euro = sms_preview("Save 5€ now")  # € is a GSM-7 extension character: two units
    assert euro["summary"].startswith(f"{euro['characters']} characters ({euro['characters'] + 1} GSM-7 units)")
    emoji = sms_preview("🎉 " + "x" * 70)
    assert emoji["encoding"] == "UCS-2" and emoji["segments"] == 2 and "2 segments" in emoji["summary"]


def test_markdown_renders_every_line_in_full():
    md = rewrite_markdown("email", "Save $5 *today*", "On $20+ orders", LONG_BODY)
    html = markdown2html_mistune(md)
    assert html.startswith("<p><strong>Subject:</strong> Save $5 *today*<br />\n<strong>Preview:</strong> On $20+ orders</p>")
    assert "<p>Hi {{ first_name }},</p>" in html and html.count("Here is why") == 40
    assert "<br />\nShop now</p>" in html and "\\n" not in html
    sms = markdown2html_mistune(rewrite_markdown("sms", body="Line one\\nLine two"))
    assert sms == ("<p>Line one<br />\nLine two Reply STOP to opt out.</p>\n"
                   "<p><em>40 characters · GSM-7 · 1 segment · opt-out line added</em></p>\n")
    assert rewrite_markdown("sms", body=None) == "*(empty SMS)*"
    assert rewrite_markdown("email") == "*(empty rewrite)*"
    assert rewrite_markdown("email", subject=float("nan"), preview_text=None, body=None) == "*(empty rewrite)*"
    assert rewrite_markdown("email", subject="New in:\\nlinen") == "**Subject:** New in: linen"  # inbox lines are one line
    assert rewrite_markdown("email", body="Body only") == "Body only"
    assert rewrite_markdown("sms", body="  ") == "*(empty SMS)*"


def test_cards_name_each_rewrite_and_its_check():
    rewrites = pd.DataFrame([
        {"flow_name": "Welcome", "message_name": "Email 1", "channel": "email", "part": "subject_preview", "variant": 1,
         "subject": "Welcome in", "preview_text": "10% off inside", "body": None, "checks": "ok"},
        {"flow_name": "Winback", "message_name": "SMS 2", "channel": "sms", "part": "sms", "variant": 2,
         "subject": None, "preview_text": None, "body": "We miss you\\nCome back", "checks": "SMS with opt-out is 170 units"},
    ])
    cards = rewrite_cards(rewrites)
    first, second = cards.split("\n\n---\n\n")
    assert first.startswith("#### Welcome · Email 1 — variant 1 (subject preview)\n\n**Subject:** Welcome in")
    assert first.endswith("*ready to paste*")
    assert second.startswith("#### Winback · SMS 2 — variant 2 (sms)\n\nWe miss you\\\nCome back Reply STOP to opt out.")
    assert second.endswith("*needs editing: SMS with opt-out is 170 units*")
    unchecked = rewrite_cards(rewrites.drop(columns="checks"))
    assert "ready to paste" not in unchecked and "check:" not in unchecked
    assert rewrite_cards(rewrites.iloc[0:0]) == "No rewrites were made in this run."
