"""Customer-weighted persona support and representative quotes, on hand-built focus-group answers."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.analysis.bundle_support import persona_customer_shares, verdicts_by_customers, weighted_support
from helpers.analysis.focus_groups import quote_lines, representative_quotes, verdict_table

PERSONAS = {"Occasional": "p_occ", "Regular": "p_reg", "VIP": "p_vip"}
TIERS = {"Occasional": 600, "Regular": 300, "VIP": 100}


def _scores(rows):
    return pd.DataFrame(rows, columns=["persona_id", "subject", "intent", "nps", "n"])


# Two of three personas back bundle X, but the one that does not is 60 % of customers.
SCORES = _scores([
    ("p_occ", "X", 2.4, -70.0, 5), ("p_reg", "X", 4.0, 20.0, 5), ("p_vip", "X", 4.4, 60.0, 5),
    ("p_occ", "Y", 3.8, 10.0, 5), ("p_reg", "Y", 3.0, -20.0, 5), ("p_vip", "Y", 3.9, 0.0, 5),
    ("p_occ", "Z", 4.5, 50.0, 3), ("p_reg", "Z", 4.5, 50.0, 5), ("p_new", "Z", 4.5, 50.0, 5),
])


def test_persona_shares_come_from_tier_sizes():
    shares = persona_customer_shares(PERSONAS, TIERS)
    assert shares == {"p_occ": pytest.approx(0.6), "p_reg": pytest.approx(0.3), "p_vip": pytest.approx(0.1)}
    # A tier without a persona stays in the denominator; a persona without a tier size is left out.
    assert persona_customer_shares({"VIP": "p_vip", "Ghost": "p_g"}, TIERS) == {"p_vip": pytest.approx(0.1)}
    with pytest.raises(ValueError, match="run job 01 first"):
        persona_customer_shares(PERSONAS, {"VIP": 0})


def test_weighted_support_beside_the_unweighted_count():
    weighted = weighted_support(SCORES, persona_customer_shares(PERSONAS, TIERS)).set_index("subject")
    x = weighted.loc["X"]
    assert x["personas_supporting"] == 2 and x["personas"] == 3
    assert x["weighted_support"] == pytest.approx(0.4) and not x["customer_support"]
    y = weighted.loc["Y"]
    # Occasional (60 %) and VIP (10 %, NPS exactly 0 counts) back Y: a customer majority with one persona short.
    assert y["personas_supporting"] == 2 and y["weighted_support"] == pytest.approx(0.7) and y["customer_support"]
    z = weighted.loc["Z"]
    # Occasional answered only 3 times (< min_n): it does not back Z; p_new has no share: unweighted only.
    assert z["personas_supporting"] == 2 and z["weighted_support"] == pytest.approx(0.3)
    assert z["customers_asked"] == pytest.approx(0.9) and not z["customer_support"]
    assert list(weighted.index) == ["X", "Y", "Z"]


def test_customer_verdict_beside_the_persona_verdict():
    data = pd.Series({"X": True, "Y": False, "Z": True})
    verdicts = verdict_table(data, SCORES)
    out = verdicts_by_customers(verdicts, weighted_support(SCORES, persona_customer_shares(PERSONAS, TIERS)))
    row = out.set_index("subject")
    assert row.loc["X", "verdict"] == "both support" and row.loc["X", "customer_verdict"] == "data only"
    assert row.loc["Y", "verdict"] == "personas only" and row.loc["Y", "customer_verdict"] == "personas only"
    assert row.loc["Z", "customer_verdict"] == "data only"


def test_empty_scores():
    empty = weighted_support(_scores([]), {"p": 1.0})
    assert empty.empty and "weighted_support" in empty.columns
    verdicts = verdict_table(pd.Series({"X": True}), SCORES[SCORES["subject"] == "X"])
    out = verdicts_by_customers(verdicts, empty)
    assert out.loc[0, "weighted_support"] == 0.0 and out.loc[0, "customer_verdict"] == "data only"


def _answers(rows):
    frame = pd.DataFrame(rows, columns=["persona_id", "subject", "respondent", "measure", "type", "answer"])
    return frame.assign(question_id="q", question="?", persona_name=frame["persona_id"])


ANSWERS = _answers([
    # p1 on X: intents 1, 3, 4, 5 → median 3.5; r2 (3) and r3 (4) are 0.5 away, r2 first by id.
    ("p1", "X", "r1", "intent", "likert", 1), ("p1", "X", "r1", "why", "open_ended", "Too pricey for me."),
    ("p1", "X", "r2", "intent", "likert", 3), ("p1", "X", "r2", "why", "open_ended", "Nice, but I have one."),
    ("p1", "X", "r3", "intent", "likert", 4), ("p1", "X", "r3", "why", "open_ended", "  nice,  BUT i have one. "),
    ("p1", "X", "r4", "intent", "likert", 5), ("p1", "X", "r4", "why", "open_ended", "Love the $20 saving *a lot*"),
    ("p1", "X", "r5", "why", "open_ended", ""),
    # p2 on X: no scores at all → by respondent.
    ("p2", "X", "r9", "why", "open_ended", "Later."), ("p2", "X", "r8", "why", "open_ended", "Sure."),
])


def test_quotes_are_closest_to_the_group_median_and_distinct():
    quotes = representative_quotes(ANSWERS, per_group=2)
    p1 = quotes[quotes["persona_id"] == "p1"]
    # r3's answer repeats r2's (case and spacing aside); the next closest is r4 (1.5 from the median; r1 is 2.5).
    assert list(p1["respondent"]) == ["r2", "r4"]
    assert list(p1["group_median"]) == [3.5, 3.5] and list(p1["score"]) == [3, 5]
    p2 = quotes[quotes["persona_id"] == "p2"]
    assert list(p2["respondent"]) == ["r8", "r9"] and p2["score"].isna().all()
    assert list(representative_quotes(ANSWERS, per_group=1)["respondent"]) == ["r2", "r8"]
    # Deterministic whatever the row order.
    shuffled = representative_quotes(ANSWERS.iloc[::-1], per_group=2)
    assert sorted(map(tuple, shuffled[["persona_id", "respondent"]].to_numpy())) == sorted(
        map(tuple, quotes[["persona_id", "respondent"]].to_numpy()))


def test_quotes_without_open_answers_or_score_and_bad_input():
    assert representative_quotes(ANSWERS[ANSWERS["type"] != "open_ended"]).empty
    assert representative_quotes(ANSWERS.iloc[0:0]).empty
    no_score = representative_quotes(ANSWERS, per_group=5, score=None)
    assert list(no_score[no_score["persona_id"] == "p1"]["respondent"]) == ["r1", "r2", "r4"]
    with pytest.raises(ValueError, match="per_group"):
        representative_quotes(ANSWERS, per_group=0)


def test_quote_lines_name_persona_and_subject_and_escape_the_text():
    quotes = representative_quotes(ANSWERS, per_group=2)
    lines = quote_lines(quotes, names={"p1": "CLV tier: VIP"}, labels={"X": "Bundle 1 (A + B)"})
    assert lines[0] == "- **CLV tier: VIP on Bundle 1 (A + B)** (intent 3; group median 3.5): “Nice, but I have one.”"
    assert lines[1].endswith("“Love the \\$20 saving \\*a lot\\*”")
    assert lines[2] == "- **p2 on Bundle 1 (A + B)**: “Sure.”"


def test_weighted_lines_show_the_count_beside_the_customer_share():
    from helpers.analysis.bundle_support import weighted_lines

    verdicts = pd.DataFrame([
        {"subject": "A + B", "bundle": "Bundle 1 (Tee + Cap)", "personas_supporting": 2, "personas": 3,
         "verdict": "both support", "weighted_support": 0.4, "customers_asked": 1.0, "customer_verdict": "data only"},
        {"subject": "C + D", "bundle": "Bundle 2 (Mug + Pot)", "personas_supporting": 0, "personas": 3,
         "verdict": "data only", "weighted_support": 0.0, "customers_asked": 1.0, "customer_verdict": "data only"},
    ])
    lines = weighted_lines(verdicts)
    assert lines[1] == ("  - Bundle 1: 2 of 3 personas back it, standing for 40% of customers (100% asked) → "
                        "**data only**; by persona count it would read “both support”.")
    assert lines[2].endswith("→ **data only**.")
    assert weighted_lines(verdicts.drop(columns="customer_verdict")) == []


def test_one_verdict_per_bundle_combines_data_and_customers_in_one_sentence():
    """04 showed a persona-count verdict beside a customer-weighted one ("both support" vs "data only"): one
    verdict now, explained in one sentence with its n per persona."""
    from helpers.analysis.bundle_support import one_verdict, weighted_lines

    verdicts = pd.DataFrame([
        {"subject": "A + B", "bundle": "Bundle 1 (Tee + Cap)", "lift": 3.2, "data_support": True,
         "personas_supporting": 2, "personas": 3, "persona_support": True, "min_answers": 5, "verdict": "both support",
         "weighted_support": 0.3, "customers_asked": 1.0, "customer_support": False, "customer_verdict": "data only"},
    ])
    one = one_verdict(verdicts, min_lift=2.0)
    assert list(one["verdict"]) == ["data only"] and list(one["persona_verdict"]) == ["both support"]
    assert "customer_verdict" not in one and list(one["agree"]) == [False]
    assert one["why"][0] == ("Bought together 3.2× as often as chance (at least 2×, so the data backs it) and personas "
                             "standing for 30% of the 100% of customers asked do not back it (directional: synthetic "
                             "respondents, n = 5 per persona): data only.")
    assert weighted_lines(one)[1].endswith("→ **data only**; by persona count it would read “both support”.")
    unweighted = one_verdict(verdicts.drop(columns=["weighted_support", "customers_asked", "customer_support",
                                                    "customer_verdict"]), min_lift=2.0)
    assert list(unweighted["verdict"]) == ["both support"] and "persona_verdict" not in unweighted
    assert "2 of 3 personas back it" in unweighted["why"][0]
