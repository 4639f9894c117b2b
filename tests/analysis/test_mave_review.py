"""Mave's free-text (or structured) segmentation advice compared with the deterministic plan."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.analysis.mave_review import disagreement_lines, mave_actions, mave_disagreements
from helpers.analysis.segment_usage import protect_in_use, segment_uses
from helpers.analysis.segments import suggest_simplification

NAMES = {"S_all": "All customers", "S_twin": "All customers copy", "S_vip": "VIP", "S_vipl": "VIP lapsed",
         "S_beta": "Beta testers", "S_ice": "Iceland pilot", "S_tiny": "Tiny list", "S_loyal": "Loyal",
         "S_recent": "Recent buyers"}
SIZES = {"S_all": 1000, "S_twin": 990, "S_vip": 50, "S_vipl": 40, "S_beta": 5, "S_ice": 7, "S_tiny": 3,
         "S_loyal": 300, "S_recent": 400}
FLOWS = [{"flow_id": "f1", "name": "Beta welcome", "status": "live",
          "definition": {"triggers": [{"type": "segment", "id": "S_beta"}]}},
         {"flow_id": "f2", "name": "Nordics", "status": "live", "trigger_segment_ids": ["S_ice"]}]


def _plan(protect=True):
    table = pd.DataFrame({"segment_id": list(NAMES), "name": list(NAMES.values()), "size": list(SIZES.values())})
    plan = suggest_simplification(table, redundant=[["S_all", "S_twin"]],
                                  nested=[["S_vip", "S_all"], ["S_vip", "S_loyal"], ["S_vip", "S_recent"]],
                                  tiny=["S_beta", "S_ice", "S_tiny"])
    return protect_in_use(plan, segment_uses([], FLOWS))[0] if protect else plan


# The sandbox's answer format: bold actions, quoted names, one recommendation per numbered line.
SANDBOX_STYLE = """## Simplified segmentation plan

**What you sent**

- All customers: 1,000, 1% unique
- VIP lapsed: 40, 20% unique; last order more than 180 days ago

**Recommendations**

1. **Merge** “All customers” and “All customers copy” (overlap 0.99): they reach essentially the same people; keep one definition.
2. **Fold** “VIP” into “All customers” (overlap 100%): it sits inside the larger segment; use a filter on the larger one instead.
3. **Fold** “VIP” into “Loyal” (overlap 97%): it sits inside the larger segment; use a filter on the larger one instead.
4. **Fold** “VIP” into “Recent buyers” (overlap 96%): it sits inside the larger segment; use a filter on the larger one instead.
5. **Retire or fold** “Beta testers” and “Tiny list”: too small to move revenue on its own.
6. Keep every other segment as it is; recheck overlaps after the next list clean-up.
"""


def test_sandbox_style_answer_one_segment_into_three_and_a_used_one_retired():
    found = mave_disagreements(_plan(), SANDBOX_STYLE, NAMES)
    assert list(found["kind"]) == ["several targets", "retires a segment in use"]
    vip, beta = found.iloc[0], found.iloc[1]
    assert vip["segment_id"] == "S_vip"
    assert vip["detail"] == ("Mave sends “VIP” into 3 different segments (“All customers”, “Loyal”, “Recent buyers”); "
                             "the plan would fold it into “All customers”.")
    assert beta["segment_id"] == "S_beta"
    assert beta["detail"] == "Mave would retire “Beta testers”, which is in use by f1; the plan keeps it."
    # "VIP lapsed" is echoed but never acted on, and "VIP" never matches inside it.
    actions = mave_actions(SANDBOX_STYLE, NAMES)
    assert "S_vipl" not in set(actions["segment_id"])
    assert set(actions.loc[actions["segment_id"] == "S_tiny", "actions"].iloc[0]) == {"retire", "fold"}


def test_free_text_with_synonyms_passive_voice_and_ids():
    text = ("I'd consolidate All Customers Copy into all customers. Beta testers should be retired. "
            "Delete S_ice and 'Tiny list'; keep VIP as is.")
    found = mave_disagreements(_plan(), text, NAMES).set_index("segment_id")
    assert sorted(found.index) == ["S_beta", "S_ice", "S_vip"]
    assert found.loc["S_ice", "kind"] == "retires a segment in use"
    assert found.loc["S_vip", "kind"] == "keeps a segment the plan changes"
    assert found.loc["S_vip", "detail"] == "Mave keeps “VIP”; the plan would fold it into “All customers”."


def test_different_action_different_target_and_changes_to_kept_segments():
    text = "Fold VIP into Iceland pilot. Merge Tiny list with Loyal. Fold All customers into VIP. Retire Recent buyers."
    found = mave_disagreements(_plan(protect=False), text, NAMES).set_index("segment_id")
    assert found.loc["S_vip", "kind"] == "different target"
    assert found.loc["S_vip", "detail"] == ("Mave sends “VIP” into “Iceland pilot”; the plan would fold it into "
                                            "“All customers”.")
    assert found.loc["S_tiny", "kind"] == "different action"
    assert found.loc["S_tiny", "detail"] == "Mave would merge “Tiny list” with “Loyal”; the plan would retire it."
    # The plan folds VIP into All customers; Mave's reverse direction changes a segment the plan keeps.
    assert found.loc["S_all", "kind"] == "changes a kept segment"
    assert found.loc["S_recent", "kind"] == "retires a kept segment"
    # Loyal, Tiny list's merge partner, is not counted again: the disagreement is on Tiny list.
    assert len(found) == 4
    both_kept = mave_disagreements(_plan(protect=False), "Merge Loyal and Recent buyers.", NAMES)
    assert list(both_kept["segment_id"]) == ["S_loyal"] and both_kept.iloc[0]["kind"] == "changes a kept segment"


def test_structured_advice_and_omissions():
    advice = [{"action": "retire", "segment": "Beta testers"}, {"action": "fold", "segment_id": "S_vip", "into": "S_all"},
              {"action": "delete", "segment": "Tiny list"}, {"action": "rename", "segment": "Loyal"}]
    found = mave_disagreements(_plan(), advice, NAMES)
    assert list(found["kind"]) == ["retires a segment in use"]
    frame = mave_disagreements(_plan(), pd.DataFrame(advice), NAMES)
    assert list(frame["segment_id"]) == ["S_beta"]
    omitted = mave_disagreements(_plan(), "Retire Tiny list.", NAMES, include_omitted=True)
    assert sorted(omitted["segment_id"]) == ["S_twin", "S_vip"] and set(omitted["kind"]) == {"omitted"}


def test_agreement_empty_answers_and_lines():
    agree = ("Merge All customers copy into All customers; fold VIP into All customers; retire Tiny list. "
             "Keep Beta testers and Iceland pilot.")
    assert mave_disagreements(_plan(), agree, NAMES).empty
    assert mave_disagreements(_plan(), "", NAMES).empty
    assert mave_disagreements(_plan(), "Thanks for the numbers!", NAMES).empty
    assert disagreement_lines(mave_disagreements(_plan(), agree, NAMES)) == [
        "- Mave's answer agrees with the deterministic plan on every segment it names."]
    lines = disagreement_lines(mave_disagreements(_plan(), SANDBOX_STYLE, NAMES))
    assert lines[0] == "- Mave's answer disagrees with the deterministic plan in 2 places:"
    assert lines[2] == "  - Mave would retire “Beta testers”, which is in use by f1; the plan keeps it."


def test_usage_without_a_protected_plan_and_default_names():
    found = mave_disagreements(_plan(protect=False), "Retire Iceland pilot and VIP.", usage={"S_ice": ["f2"]})
    # Names default to the plan's own; the plan retires Iceland pilot, so that one agrees.
    assert list(found["segment_id"]) == ["S_vip"] and found.iloc[0]["kind"] == "different action"


@pytest.mark.parametrize("text", ["Merge “All customers” and “All customers copy”.",
                                  "Combine All customers with All customers copy."])
def test_either_direction_of_a_merge_pair_agrees_with_the_plan(text):
    assert mave_disagreements(_plan(), text, NAMES).empty


def test_action_words_inside_segment_names_are_names_not_instructions():
    names = {"S_drop": "Drop-off browsers", "S_keep": "Keep in touch", "S_x": "Newsletter"}
    plan = suggest_simplification(pd.DataFrame({"segment_id": list(names), "name": list(names.values()),
                                                "size": [500, 400, 300]}), [], [], [])
    assert mave_disagreements(plan, "- Drop-off browsers: 500 members\n- Keep in touch: 400 members", names).empty
    found = mave_disagreements(plan, "Retire “Keep in touch”.", names)
    assert list(found["segment_id"]) == ["S_keep"] and found.iloc[0]["kind"] == "retires a kept segment"
