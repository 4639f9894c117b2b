"""helpers.report.history: what moved since the last run, by name, from the earlier run's metrics and artifacts."""

from __future__ import annotations

import pandas as pd

from helpers.report import history
from helpers.report.currency import Currency
from helpers.report.earlier_runs import Previous

USD = Currency("USD", "assumed")


def previous(metrics, **frames):
    return Previous("2026-07-14", metrics, None, {f"{k}.csv": v for k, v in frames.items()})


# ---------------------------------------------------------------------------------------------- 01


def test_tier_sizes_and_clv_at_risk_then_and_now():
    before = previous({"tier_counts": {"Occasional": 2712, "Regular": 1356, "VIP": 452},
                       "clv_at_risk_by_tier": {"Occasional": 11054.0, "Regular": 46958.0, "VIP": 36235.0}})
    lines = history.tiers(before, {"Occasional": 2700, "Regular": 1356, "VIP": 470},
                          {"Occasional": 11000.0, "Regular": 46958.0, "VIP": 40235.0}, USD)
    assert lines == [
        "Tier sizes: Occasional 2,712 → 2,700 (-12); VIP 452 → 470 (+18).",
        "CLV at risk: $94,247 → $98,193 (+4%); the biggest move is VIP, $36,235 → $40,235.",
    ]


def test_clv_at_risk_of_an_older_run_comes_from_its_tier_table_and_nothing_moved_is_empty():
    tiers_csv = pd.DataFrame({"tier": ["VIP"], "size": [452], "clv_at_risk": [36235.0]})
    before = previous({"tier_counts": {"VIP": 452}}, tiers=tiers_csv)
    assert history.tiers(before, {"VIP": 452}, {"VIP": 36235.0}, USD) == []
    moved = history.tiers(before, {"VIP": 452}, {"VIP": 30000.0}, USD)
    assert moved == ["Tier sizes unchanged: VIP 452.", "CLV at risk: $36,235 → $30,000 (-17%); the biggest move is VIP, "
                     "$36,235 → $30,000."]


def test_renamed_tiers_are_said_not_compared():
    lines = history.tiers(previous({"tier_counts": {"Low": 10, "High": 2}}), {"Bronze": 10, "Gold": 2}, {}, USD)
    assert lines == ["The tiers are not the same as on 2026-07-14 (then: Low, High; now: Bronze, Gold), so sizes are "
                     "compared only for tiers in both."]


# ---------------------------------------------------------------------------------------------- 02


def test_messages_newly_flagged_cleared_and_on_watch_by_name():
    messages_csv = pd.DataFrame({"message_id": ["m1", "m2", "m9"], "message_name": ["Welcome #1", "Winback #2", "Gone"]})
    before = previous({"underperforming_message_ids": ["m2", "m9"], "watch_message_ids": []}, messages=messages_csv)
    lines = history.messages(before, ["m1", "m2"], ["m3"], {"m1": "Welcome #1", "m2": "Winback #2", "m3": "Birthday"})
    assert lines == ["Newly flagged for a rewrite: 'Welcome #1'.", "No longer flagged: 'Gone'.",
                     "Still flagged: 'Winback #2'.", "Newly on watch: 'Birthday'."]
    assert history.messages(before, ["m2", "m9"], [], {}) == []


def test_long_name_lists_are_cut():
    before = previous({"underperforming_message_ids": []})
    (line,) = history.messages(before, [f"m{i}" for i in range(6)], [], {})
    assert line == "Newly flagged for a rewrite: 'm0', 'm1', 'm2', 'm3' and 2 more."


# ---------------------------------------------------------------------------------------------- 03


def plan(*rows):
    return pd.DataFrame(rows, columns=["action", "segment_id", "name", "into", "into_name"])


def test_segment_plan_changes_and_flagged_counts():
    before = previous({"redundant_pairs": [["a", "b"]], "nested_pairs": [], "tiny_segments": ["t"]},
                      plan=plan(("merge", "a", "Legacy", "b", "Engaged"), ("retire", "t", "Beta", None, None)))
    now = plan(("merge", "a", "Legacy", "b", "Engaged"), ("fold", "t", "Beta", "b", "Engaged"),
               ("retire", "x", "Iceland pilot", None, None))
    lines = history.segment_plan(before, now, {"b": "Engaged"},
                                 counts={"redundant_pairs": 1, "nested_pairs": 1, "tiny_segments": 1})
    assert lines == ["Newly in the plan: retire 'Iceland pilot'.",
                     "'Beta': was retire, now fold into 'Engaged'.",
                     "Flagged nested pairs 0 → 1."]
    assert history.segment_plan(before, before.csv("plan.csv"), {}) == []


# ---------------------------------------------------------------------------------------------- 04


def test_top_pairs_gained_lost_and_the_new_strongest():
    pairs_csv = pd.DataFrame({"product_a": ["A"], "product_b": ["Z"], "title_a": ["Tote"], "title_b": ["Old lamp"]})
    before = previous({"top_pairs": [["A", "Z", 9.0], ["B", "C", 5.0]]}, pairs=pairs_csv)
    lines = history.pairs(before, [["C", "B", 6.0], ["A", "D", 4.2]], {"A": "Tote", "B": "Mask", "C": "Kettle", "D": "Sneaker"})
    assert lines == ["New among the top pairs: Tote + Sneaker (lift 4.2).",
                     "Dropped out of the top pairs: Tote + Old lamp.",
                     "The strongest pair is now Mask + Kettle (it was Tote + Old lamp)."]
    assert history.pairs(before, [["Z", "A", 9.5], ["B", "C", 5.0]], {}) == []


# ---------------------------------------------------------------------------------------------- 05


def test_channel_winners_and_significance_that_changed():
    before = previous({"winner_by_metric": {"click_rate": "sms", "conversion_rate": "sms", "revenue_per_recipient": "email"},
                       "significant": {"click_rate": True, "conversion_rate": False, "revenue_per_recipient": True}})
    lines = history.channels(before, {"click_rate": "email", "conversion_rate": "sms", "revenue_per_recipient": "email"},
                             {"click_rate": False, "conversion_rate": True, "revenue_per_recipient": True})
    assert lines == ["Click rate: email now wins (SMS did on 2026-07-14), not significantly.",
                     "Conversion rate: SMS still wins, and the difference is now significant."]
    assert history.channels(before, before.metrics["winner_by_metric"], before.metrics["significant"]) == []


def test_a_rebuilt_store_with_new_ids_for_the_same_names_compares_by_name():
    before = previous({"underperforming_message_ids": ["old1"]},
                      plan=plan(("merge", "a1", "Legacy", "b1", "Engaged"), ("retire", "t1", "Beta", None, None)),
                      messages=pd.DataFrame({"message_id": ["old1"], "message_name": ["Winback #2"]}))
    now = plan(("merge", "a2", "Legacy", "b2", "Engaged"), ("retire", "t2", "Beta", None, None))
    assert history.segment_plan(before, now, {}) == []
    assert history.messages(before, ["new1"], [], {"new1": "Winback #2"}) == []
    assert history.messages(before, ["new2"], [], {"new2": "Welcome #1"}) == [
        "Newly flagged for a rewrite: 'Welcome #1'.", "No longer flagged: 'Winback #2'."]
