"""Per-persona channel advice checked against each persona's own answers (hand-built recommendation rows)."""

from __future__ import annotations

import pandas as pd

from helpers.analysis.channel_personas import persona_channel_advice, share_explanation


def _recs(rows):
    columns = ["persona_id", "n", "prefers", "email_share", "sms_share", "act_nps_email", "act_nps_sms",
               "recommendation", "basis"]
    return pd.DataFrame(rows, columns=columns)


def test_share_explanation_names_the_remainder():
    assert share_explanation({"Email": 0.4, "SMS": 0.4, "Either is fine": 0.2}) == (
        "email 40%, SMS 40%, no preference 20% (“Either is fine”)")
    assert share_explanation(pd.Series({"Email": 0.5, "Text message": 0.3})) == "email 50%, SMS 30%, no answer 20%"
    assert share_explanation({"Email": 0.6, "Neither": 0.2, "Push": 0.2}) == "email 60%, neither 20% (“Neither”), “Push” 20%"
    assert share_explanation({}) == "no channel answers"
    assert share_explanation({"Email": 0.0, "SMS": float("nan")}) == "no channel answers"


def test_a_rejected_channel_is_not_recommended():
    recs = _recs([
        # The pooled data favours SMS, but this persona's act-NPS for SMS is −80.
        ("p1", 5, None, 0.4, 0.4, 20.0, -80.0, "sms", "pooled data only (the persona shows no preference)"),
    ])
    shares = pd.DataFrame({"Email": [0.4], "SMS": [0.4], "Either is fine": [0.2]}, index=pd.Index(["p1"]))
    out = persona_channel_advice(recs, shares).iloc[0]
    assert out["recommendation"] == "sms"  # the existing column is kept as it was
    assert out["advice"] == "email"
    assert out["advice_reason"].startswith("Not SMS: this persona's likelihood to act on it is NPS -80 (at or below -50) "
                                           "against +20 for email")
    assert not out["contradicts_answers"]
    assert out["shares_note"] == "email 40%, SMS 40%, no preference 20% (“Either is fine”)"


def test_both_channels_rejected_keeps_the_recommendation_and_says_despite():
    recs = _recs([("p1", 5, "sms", 0.2, 0.6, -60.0, -80.0, "sms", "pooled data and persona agree")])
    out = persona_channel_advice(recs).iloc[0]
    assert out["advice"] == "sms" and out["contradicts_answers"]
    assert out["advice_reason"] == ("Pooled data and persona agree; recommended despite an act-NPS of -80 for SMS; "
                                    "email is no better at -60.")


def test_advice_against_the_persona_pick_says_despite():
    # Data favours email; the persona picks SMS more often but on too few answers to count.
    recs = _recs([("p1", 3, "sms", 0.2, 0.8, 10.0, 30.0, "email", "pooled data only (few answers)")])
    out = persona_channel_advice(recs).iloc[0]
    assert out["advice"] == "email" and out["contradicts_answers"]
    assert "recommended despite the persona picking SMS more often (80% vs 20%)" in out["advice_reason"]


def test_test_both_and_either_with_one_rejected_channel():
    recs = _recs([
        ("p1", 5, "sms", 0.3, 0.7, -70.0, 40.0, "test both", "pooled data favours email, the persona prefers SMS"),
        ("p2", 5, None, 0.5, 0.5, 0.0, -90.0, "either (no clear signal)", "no significant winner"),
        ("p3", 5, None, 0.5, 0.5, -90.0, -90.0, "test both", "disagree"),
        ("p4", 5, "email", 0.7, 0.3, 40.0, 10.0, "email", "pooled data and persona agree"),
    ])
    out = persona_channel_advice(recs).set_index("persona_id")
    assert out.loc["p1", "advice"] == "sms" and not out.loc["p1", "contradicts_answers"]
    assert out.loc["p1", "advice_reason"].startswith("SMS rather than \"test both\": this persona's likelihood to act on "
                                                     "email is NPS -70")
    assert out.loc["p2", "advice"] == "email"
    assert out.loc["p3", "advice"] == "test both" and out.loc["p3", "contradicts_answers"]
    assert "despite an act-NPS of -90 for email and an act-NPS of -90 for SMS" in out.loc["p3", "advice_reason"]
    # Consistent answers: the recommendation stands and nothing is flagged.
    assert out.loc["p4", "advice"] == "email" and not out.loc["p4", "contradicts_answers"]
    assert out.loc["p4", "advice_reason"] == "Pooled data and persona agree."


def test_missing_scores_never_count_as_a_rejection_and_empty_frames_pass_through():
    recs = _recs([("p1", 0, None, 0.0, 0.0, float("nan"), float("nan"), "sms", "pooled data only")])
    out = persona_channel_advice(recs).iloc[0]
    assert out["advice"] == "sms" and not out["contradicts_answers"]
    assert out["shares_note"] == "no channel answers"
    empty = persona_channel_advice(_recs([]))
    assert empty.empty and {"advice", "advice_reason", "contradicts_answers", "shares_note"} <= set(empty.columns)


def test_threshold_is_a_parameter():
    recs = _recs([("p1", 5, None, 0.5, 0.5, 20.0, -40.0, "sms", "pooled data only")])
    assert persona_channel_advice(recs).iloc[0]["advice"] == "sms"
    assert persona_channel_advice(recs, reject_nps=-30).iloc[0]["advice"] == "email"
