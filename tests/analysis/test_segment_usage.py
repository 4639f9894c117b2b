"""Segment use by campaigns and flows, and the plan guard that keeps used segments, on hand-built objects."""

from __future__ import annotations

import pandas as pd

from helpers.analysis.segment_usage import in_use_text, protect_in_use, segment_usage, segment_uses
from helpers.analysis.segments import suggest_simplification

CAMPAIGNS = [
    # JSON:API objects as GET /api/campaigns returns them (revision 2026-07-15).
    {"type": "campaign", "id": "c1", "attributes": {"name": "Spring launch", "status": "Scheduled",
                                                    "audiences": {"included": ["S_all"], "excluded": ["S_beta"]}}},
    {"type": "campaign", "id": "c2", "attributes": {"name": "Old promo", "status": "Sent",
                                                    "audiences": {"included": ["S_ice"], "excluded": []}}},
    {"type": "campaign", "id": "c3", "attributes": {"name": "Draft idea", "status": "Draft",
                                                    "audiences": {"included": ["S_all"], "excluded": None}}},
    {"type": "campaign", "id": "c4", "attributes": {"name": "Stopped", "status": "Cancelled: No Recipients",
                                                    "audiences": {"included": ["S_ice"]}}},
]
FLOWS = pd.DataFrame([
    {"flow_id": "f1", "name": "Beta welcome", "status": "live", "archived": False,
     "definition": {"triggers": [{"type": "segment", "id": "S_beta"}], "profile_filter": None}},
    {"flow_id": "f2", "name": "Winback", "status": "live", "archived": False,
     "definition": {"triggers": [{"type": "metric", "id": "M1"}],
                    "profile_filter": {"condition_groups": [{"conditions": [
                        {"type": "profile-group-membership", "is_member": False, "group_ids": ["S_ice"]}]}]}}},
    {"flow_id": "f3", "name": "Draft flow", "status": "draft", "archived": False,
     "definition": {"triggers": [{"type": "segment", "id": "S_tiny"}]}},
    {"flow_id": "f4", "name": "Archived", "status": "live", "archived": True, "trigger_segment_ids": ["S_tiny"]},
    {"flow_id": "f5", "name": "Manual VIP", "status": "manual", "archived": False, "trigger_type": "Added to Segment",
     "trigger_id": "S_vip"},
])


def test_uses_read_included_and_excluded_audiences_triggers_and_filters():
    uses = segment_uses(CAMPAIGNS, FLOWS)
    got = {(r.segment_id, r.id, r.how) for r in uses.itertuples()}
    assert got == {
        ("S_all", "c1", "included audience"), ("S_all", "c3", "included audience"),
        ("S_beta", "c1", "excluded audience"), ("S_beta", "f1", "trigger"),
        ("S_ice", "f2", "profile filter (not member)"), ("S_vip", "f5", "trigger"),
    }
    assert segment_usage(CAMPAIGNS, FLOWS) == {
        "S_all": ["c1", "c3"], "S_beta": ["c1", "f1"], "S_ice": ["f2"], "S_vip": ["f5"]}


def test_live_only_can_be_switched_off_and_frames_work_too():
    everything = segment_usage(CAMPAIGNS, FLOWS, live_only=False)
    assert everything["S_ice"] == ["c2", "c4", "f2"] and everything["S_tiny"] == ["f3", "f4"]
    frame = pd.DataFrame([{"campaign_id": "c9", "name": "X", "status": "Sending", "included": ["S_a"],
                           "excluded": ["S_b"]}] * 2)  # one row per campaign message: counted once
    assert segment_usage(frame, None) == {"S_a": ["c9"], "S_b": ["c9"]}
    assert len(segment_uses(frame, None)) == 2
    assert segment_usage(None, None) == {} and segment_uses([], []).empty


def _plan():
    table = pd.DataFrame({"segment_id": ["S_all", "S_beta", "S_ice", "S_tiny", "S_twin", "S_vip"],
                          "name": ["All", "Beta testers", "Iceland pilot", "Tiny", "All copy", "VIP"],
                          "size": [1000, 5, 7, 3, 990, 50]})
    return suggest_simplification(table, redundant=[["S_all", "S_twin"]], nested=[["S_vip", "S_all"]],
                                  tiny=["S_beta", "S_ice", "S_tiny"])


def test_segments_in_use_are_kept_and_say_by_what():
    plan, kept = protect_in_use(_plan(), segment_uses(CAMPAIGNS, FLOWS))
    by = plan.set_index("segment_id")
    assert by.loc["S_beta", "action"] == "keep"
    assert by.loc["S_beta", "reason"] == ("in use by campaign “Spring launch” (excluded audience); flow “Beta welcome” "
                                          "(trigger); flagged because 5 members, too few to target on its own")
    assert by.loc["S_ice", "action"] == "keep" and by.loc["S_ice", "reason"].startswith("in use by flow “Winback”")
    assert by.loc["S_tiny", "action"] == "retire" and by.loc["S_tiny", "in_use_by"] == []
    # A fold of a used segment stays, with a warning to re-point its users.
    assert by.loc["S_vip", "action"] == "fold"
    assert by.loc["S_vip", "reason"].endswith("in use by flow “Manual VIP” (trigger) — point those at All first")
    assert kept == {"S_beta": ["c1", "f1"], "S_ice": ["f2"]}
    assert sorted(plan.loc[plan["action"] == "retire", "segment_id"]) == ["S_tiny"]


def test_nothing_in_use_leaves_the_plan_as_it_was():
    original = _plan()
    plan, kept = protect_in_use(original, segment_uses([], []))
    assert kept == {} and list(plan["action"]) == list(original["action"])
    assert list(plan["reason"]) == list(original["reason"])


def test_the_client_campaign_frame_audience_columns_count():
    frame = pd.DataFrame([
        {"campaign_id": "p1", "name": "Nordic preview", "status": "Scheduled", "audiences_included": ["S_all"],
         "audiences_excluded": ["S_ice"]},
        {"campaign_id": "p2", "name": "Wholesale", "status": "Cancelled", "audiences_included": ["S_whole"],
         "audiences_excluded": []},
    ])
    assert segment_usage(frame, None) == {"S_all": ["p1"], "S_ice": ["p1"]}
    uses = segment_uses(frame, None)
    assert set(uses["how"]) == {"included audience", "excluded audience"}


def test_in_use_text_names_each_user_and_how():
    text = in_use_text(segment_uses(CAMPAIGNS, FLOWS))
    assert text["S_beta"] == "campaign “Spring launch” (excluded audience); flow “Beta welcome” (trigger)"
    assert text["S_ice"] == "flow “Winback” (profile filter (not member))"
    assert in_use_text(segment_uses([], None)) == {}
