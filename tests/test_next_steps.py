"""helpers.report.next_steps: the one recommended action each report's findings end with, naming what to act on."""

from __future__ import annotations

import pandas as pd

from helpers.report import next_steps


def test_tiers_highest_first():
    actions = pd.DataFrame({"action": ["nurture", "grow basket", "reward loyalty"]},
                           index=pd.Index(["Occasional", "Regular", "VIP"], name="tier"))
    assert next_steps.tiers(actions) == ("**Next step:** VIP: reward loyalty; Regular: grow basket; Occasional: nurture "
                                         "(why: the tier section).")


def test_rewrites_paste_rerun_or_nothing():
    flagged = pd.DataFrame({"message_name": ["Winback #2"]})
    rewrites = pd.DataFrame({"message_name": ["Winback #2", "Winback #2"]})
    empty = pd.DataFrame({"message_name": []})
    assert next_steps.rewrites(rewrites, flagged, empty).startswith(
        "**Next step:** paste the 2 ready rewrites of 'Winback #2' into those flow messages in Klaviyo")
    checked = rewrites.assign(checks=["ok", "it repeats the brief (“our aim with this email”)"])
    assert "paste the 1 ready rewrites" in next_steps.rewrites(checked, flagged, empty)
    assert "edit the 1 marked “needs editing” first" in next_steps.rewrites(checked, flagged, empty)
    assert next_steps.rewrites(checked.assign(checks="it drops “{{ first_name }}”"), flagged, empty).startswith(
        "**Next step:** edit the 2 rewrites of 'Winback #2' marked “needs editing”")
    assert "rerun the rewrite step for 'Winback #2'" in next_steps.rewrites(empty, flagged, empty)
    assert "look again over a longer timeframe at 'Winback #2'" in next_steps.rewrites(empty, empty, flagged)
    assert next_steps.rewrites(empty, empty, empty).endswith("no live flow message lags its peers enough to rewrite.")


def test_segment_plan_names_each_change():
    plan = pd.DataFrame({"action": ["merge", "retire", "retire", "fold"], "name": ["Legacy", "Beta", "Pilot", "Fans"],
                         "into_name": ["Engaged", None, None, "US shoppers"]})
    assert next_steps.segment_plan(plan) == ("**Next step:** merge 'Legacy' into 'Engaged'; fold 'Fans' into "
                                             "'US shoppers'; retire 'Beta', 'Pilot' (the plan in section 4).")
    assert "none" in next_steps.segment_plan(plan.iloc[0:0])


def test_bundles_offer_the_backed_and_test_the_disputed():
    verdicts = pd.DataFrame({"bundle": ["Bundle 1 (A + B)", "Bundle 2 (C + D)"],
                             "verdict": ["both support", "data only"], "agree": [True, False]})
    assert next_steps.bundles(verdicts) == ("**Next step:** offer Bundle 1 (A + B) as bundles; test Bundle 2 (C + D) "
                                            "with a small audience first (data and personas disagree). Persona answers are "
                                            "directional: synthetic respondents.")
    assert next_steps.bundles(pd.DataFrame()).startswith("**Next step:** run the focus group again")


def test_channels_per_persona_or_the_pooled_winner():
    recs = pd.DataFrame({"persona": ["CLV tier: Regular", "CLV tier: VIP", "CLV tier: Occasional"],
                         "recommendation": ["email", "test both", "email"]})
    assert next_steps.channels(recs, {}, {}) == ("**Next step:** reach CLV tier: Regular, CLV tier: Occasional on email; "
                                                 "A/B test email against SMS for CLV tier: VIP. Persona "
                                                 "answers are directional: synthetic respondents.")
    won = {"click_rate": "sms", "revenue_per_recipient": "email"}
    assert "lead with email" in next_steps.channels(pd.DataFrame(), won, {"click_rate": True, "revenue_per_recipient": True})
    assert "favour SMS for click rate" in next_steps.channels(None, won, {"click_rate": True, "revenue_per_recipient": False})
    assert "either channel" in next_steps.channels(None, won, {})


def test_persona_based_next_steps_carry_n_per_persona_and_the_directional_caveat():
    """They reach index.html as headlines: the caveat travels with them (issue #21)."""
    verdicts = pd.DataFrame({"bundle": ["Bundle 1 (A + B)"], "verdict": ["both support"], "agree": [True],
                             "min_answers": [5]})
    assert next_steps.bundles(verdicts).endswith("Persona answers are directional: synthetic respondents, n = 5 per "
                                                 "persona.")
    recs = pd.DataFrame({"persona": ["CLV tier: VIP"], "recommendation": ["email"], "n": [5]})
    assert next_steps.channels(recs, {}, {}).endswith("n = 5 per persona.")
