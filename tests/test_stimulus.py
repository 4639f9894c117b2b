"""Focus-group stimuli shown as the channel shows them (helpers/report/stimulus.py): escaped, wrapped, whole."""

from __future__ import annotations

import pandas as pd
from bs4 import BeautifulSoup

from helpers.report import stimulus


def test_campaigns_show_an_inbox_line_and_a_message_bubble():
    email = pd.Series({"name": "Flash <b>", "subject": "Save 10% & more", "preview_text": float("nan")})
    sms = pd.Series({"name": "VIP", "body": "Hi!\nTap https://x.example/" + "a" * 200 + " Reply STOP"})
    page = BeautifulSoup(stimulus.stimulus_html(stimulus.campaigns_html(email, sms)), "html.parser")
    box = page.select_one(f"div.{stimulus.STIMULUS_CLASS}")
    assert "overflow-wrap:anywhere" in box["style"] and "max-width:100%" in box["style"]
    card = page.select_one(".workbooks-email")
    assert card.get_text("|", strip=True) == "Save 10% & more"  # no "nan" preview, the subject escaped
    assert "Flash <b>" in page.get_text() and not page.select("b")
    bubble = page.select_one(".workbooks-sms")
    assert bubble.get_text() == sms["body"] and "pre-wrap" in bubble["style"] and "anywhere" in bubble["style"]


def test_other_stimuli_keep_their_paragraphs_and_lists():
    text = "Our shop is considering:\n- Bundle 1 <A + B> for $9\n- Bundle 2\n\nThanks."
    page = BeautifulSoup(stimulus.text_html(text), "html.parser")
    assert [p.get_text() for p in page.select("p")] == ["Our shop is considering:", "Thanks."]
    assert [li.get_text() for li in page.select("li")] == ["Bundle 1 <A + B> for $9", "Bundle 2"]
    assert stimulus.email_html("", body="Line 1\nLine 2").count("(no subject line)") == 1
