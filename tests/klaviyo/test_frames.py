"""The column-spec frame builder on hand-built JSON:API records: paths, relationships, nulls, dtypes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.klaviyo import frames
from helpers.klaviyo.frames import Column, build_frame, rel

SPEC = (
    Column("event_id", "id"),
    Column("profile_id", rel("profile")),
    Column("when", "attributes.datetime", "datetime"),
    Column("city", "attributes.location.city", "str"),
    Column("value", "attributes.props.$value", "float"),
    Column("vip", "attributes.flags.vip", "bool"),
    Column("tags", "attributes.tags", convert=lambda t: sorted(t or [])),
)


def test_values_come_from_their_paths_and_missing_levels_are_missing():
    records = [
        {"type": "event", "id": "e1",
         "attributes": {"datetime": "2026-03-01T10:00:00+00:00", "location": {"city": "Leeds"},
                        "props": {"$value": 12.5}, "flags": {"vip": True}, "tags": ["b", "a"]},
         "relationships": {"profile": {"data": {"type": "profile", "id": "p1"}}}},
        # relationship present with null data, attributes all null
        {"type": "event", "id": "e2",
         "attributes": {"datetime": None, "location": None, "props": None, "flags": None, "tags": None},
         "relationships": {"profile": {"data": None}}},
        # no relationships member at all, attributes null
        {"type": "event", "id": "e3", "attributes": None},
        # a level that is not an object (a string where an object is expected) reads as missing
        {"type": "event", "id": "e4", "attributes": {"location": "Paris", "props": {"$value": "7"}},
         "relationships": {"profile": "p9"}},
    ]
    df = build_frame(SPEC, records)
    assert list(df.columns) == [c.name for c in SPEC]
    assert df["event_id"].tolist() == ["e1", "e2", "e3", "e4"]
    assert df.loc[0, "profile_id"] == "p1" and df["profile_id"].iloc[1:].isna().all()
    assert df.loc[0, "when"] == pd.Timestamp("2026-03-01T10:00:00", tz="UTC") and df["when"].iloc[1:].isna().all()
    assert df.loc[0, "city"] == "Leeds" and df["city"].iloc[1:].isna().all()
    assert df["value"].iloc[0] == 12.5 and df["value"].iloc[3] == 7.0  # numeric text is a number
    assert df["value"].iloc[1:3].isna().all()
    assert df["vip"].tolist() == [True, False, False, False]
    assert df["tags"].tolist() == [["a", "b"], [], [], []]
    assert df["vip"].dtype == bool and df["value"].dtype == float and "UTC" in str(df["when"].dtype)
    assert str(df["city"].dtype) == "str"


def test_no_records_still_gives_every_column_with_its_dtype():
    df = build_frame(SPEC, [])
    assert list(df.columns) == [c.name for c in SPEC] and len(df) == 0
    assert df["event_id"].dtype == object and df["value"].dtype == float and df["vip"].dtype == bool
    assert "UTC" in str(df["when"].dtype)


def test_float_columns_turn_anything_but_numbers_into_nan():
    spec = (Column("x", "attributes.x", "float"),)
    records = [{"attributes": {"x": v}} for v in (3, "2.5", "n/a", {"amount": 1}, None, [1])]
    got = build_frame(spec, records)["x"].tolist()
    assert got[:2] == [3.0, 2.5] and all(math.isnan(v) for v in got[2:])
    lists = build_frame(spec, [{"attributes": {"x": [1]}}, {"attributes": {"x": [2]}}])["x"]  # not a 2-D array
    assert lists.isna().all() and len(lists) == 2


def test_a_spec_is_checked_when_declared_and_when_built():
    with pytest.raises(ValueError, match="dtype 'int'"):
        Column("n", "attributes.n", "int")
    with pytest.raises(ValueError, match="duplicate column names"):
        build_frame((Column("a", "id"), Column("a", "attributes.a")), [])


def test_profiles_frame_reads_nested_predictions_consent_and_location():
    records = [
        {"type": "profile", "id": "p1", "attributes": {
            "created": "2024-05-01T00:00:00+00:00", "updated": "2024-06-01T00:00:00+00:00",
            "location": {"country": "Germany", "region": None, "city": "Berlin"},
            "predictive_analytics": {"historic_clv": 120, "churn_probability": 0.25, "average_days_between_orders": None,
                                     "ranked_channel_affinity": [], "expected_date_of_next_order": None},
            "subscriptions": {"email": {"marketing": {"can_receive_email_marketing": True}},
                              "sms": {"marketing": None}}}},
        {"type": "profile", "id": "p2", "attributes": {"created": None, "predictive_analytics": {},
                                                       "subscriptions": None, "location": None}},
    ]
    df = frames.profiles_frame(records, phone=True)
    assert list(df.columns) == [*frames.PROFILE_COLUMNS, "phone_number"]
    assert df["has_predictions"].tolist() == [True, False]  # an empty object holds no predictions
    assert df.loc[0, "historic_clv"] == 120.0 and df.loc[0, "churn_probability"] == 0.25
    assert np.isnan(df.loc[0, "average_days_between_orders"]) and np.isnan(df.loc[1, "historic_clv"])
    assert df["preferred_channel"].isna().all()  # empty ranking, no ranking
    assert df["email_consent"].tolist() == [True, False] and df["sms_consent"].tolist() == [False, False]
    assert df.loc[0, "country"] == "Germany" and pd.isna(df.loc[0, "region"]) and pd.isna(df.loc[1, "city"])
    assert pd.isna(df.loc[1, "created"]) and df["phone_number"].isna().all()


@pytest.mark.parametrize("unscored", [None, {}, dict.fromkeys(frames.SCORED_BY),
                                      {**dict.fromkeys(frames.SCORED_BY), "historic_number_of_orders": 3,
                                       "ranked_channel_affinity": ["email"]}],
                         ids=["null", "empty", "all-null", "only-non-predictive-fields"])
def test_both_shapes_of_no_predictions_read_alike(unscored):
    """Klaviyo may send null or an object whose CLV and churn fields are all null for an unscored profile."""
    scored = {"historic_clv": 0.0, "predicted_clv": None, "total_clv": None, "churn_probability": None}
    records = [{"type": "profile", "id": "a", "attributes": {"predictive_analytics": unscored}},
               {"type": "profile", "id": "b", "attributes": {"predictive_analytics": scored}}]
    df = frames.profiles_frame(records)
    assert df["has_predictions"].tolist() == [False, True]  # a CLV of 0 is a prediction, null is not
    assert int((~df["has_predictions"]).sum()) == 1


def test_joined_records_flow_messages_and_campaigns():
    flow = {"type": "flow", "id": "F1", "attributes": {"name": "Welcome", "status": "live", "trigger_type": "Metric"}}
    email = {"type": "flow-message", "id": "M1", "attributes": {
        "channel": "email", "definition": {"name": "Day 1", "subject_line": "Hi", "preview_text": "Welcome"}}}
    blank = {"type": "flow-message", "id": "M2", "attributes": {"channel": "sms", "definition": None}}
    fm = build_frame(frames.FLOW_MESSAGE, [{"flow": flow, "action": {"id": "A1"}, "message": email},
                                           {"flow": flow, "action": {"id": "A2"}, "message": blank}])
    assert fm.loc[0, ["flow_name", "action_id", "message_name", "subject", "preview_text"]].tolist() == [
        "Welcome", "A1", "Day 1", "Hi", "Welcome"]
    assert fm.loc[1, "channel"] == "sms" and fm.loc[1, ["message_name", "subject", "body"]].isna().all()

    camp = {"type": "campaign", "id": "C1", "attributes": {"name": "Spring", "status": "Sent",
                                                           "send_time": "2026-04-01T09:00:00+00:00"}}
    msg = {"type": "campaign-message", "id": "CM1", "attributes": {"definition": {
        "channel": "sms", "label": "Spring SMS", "content": {"body": "20% off"}}}}
    cf = build_frame(frames.CAMPAIGN, [{"campaign": camp, "message": msg}, {"campaign": camp, "message": None}])
    assert cf.loc[0, ["campaign_id", "message_id", "channel", "label", "body"]].tolist() == [
        "C1", "CM1", "sms", "Spring SMS", "20% off"]
    assert cf.loc[1, ["message_id", "channel", "subject"]].isna().all()  # a campaign whose message was not included
    assert (cf["send_time"] == pd.Timestamp("2026-04-01T09:00:00", tz="UTC")).all()


def test_metric_category_object_is_flattened_and_event_properties_default_to_empty():
    metrics = build_frame(frames.METRIC, [
        {"id": "m1", "attributes": {"name": "Placed Order", "integration": {"name": "Shopify", "category": "eCommerce"}}},
        {"id": "m2", "attributes": {"name": "Placed Order", "integration": {"name": "API",
                                                                            "category": {"name": "Custom"}}}},
        {"id": "m3", "attributes": {"name": "Opened Email", "integration": None}},
    ])
    assert metrics["integration_category"].tolist()[:2] == ["eCommerce", "Custom"]
    assert pd.isna(metrics.loc[2, "integration_name"]) and pd.isna(metrics.loc[2, "integration_category"])
    events = build_frame(frames.EVENT, [
        {"type": "event", "id": "e1", "attributes": {"datetime": "2026-01-01T00:00:00+00:00",
                                                     "event_properties": None}},
    ])
    assert events.loc[0, "properties"] == {} and np.isnan(events.loc[0, "value"])
    assert pd.isna(events.loc[0, "profile_id"])  # no relationships member


def test_report_columns_are_groupings_then_float_statistics():
    spec = frames.report_columns(("flow_id", "send_channel"), ("recipients", "open_rate"))
    df = build_frame(spec, [{"groupings": {"flow_id": "F1", "send_channel": "email", "extra": "x"},
                             "statistics": {"recipients": 100, "open_rate": "0.4"}},
                            {"groupings": {"flow_id": "F2"}, "statistics": None}])
    assert list(df.columns) == ["flow_id", "send_channel", "recipients", "open_rate"]
    assert df.loc[0, "recipients"] == 100.0 and df.loc[0, "open_rate"] == 0.4
    assert pd.isna(df.loc[1, "send_channel"]) and df.loc[1, ["recipients", "open_rate"]].isna().all()


def test_specs_hold_the_contract_columns_of_docs_internals():
    expected = {
        "SEGMENT": "segment_id, name, created, updated, is_active, definition",
        "FLOW_MESSAGE": "flow_id, flow_name, flow_status, trigger_type, action_id, message_id, message_name, channel, "
                        "subject, preview_text, body",
        "CAMPAIGN": "campaign_id, name, channel, status, send_time, message_id, label, subject, preview_text, body, "
                    "audiences_included, audiences_excluded",
        "FLOW_DEFINITION": "flow_id, name, status, archived, trigger_type, definition",
        "EVENT": "event_id, datetime, profile_id, value, properties",
        "CATALOG_ITEM": "item_id, external_id, title, description, price, category_ids",
        "PROFILE": "profile_id, created, updated, has_predictions, historic_clv, predicted_clv, total_clv, "
                   "historic_number_of_orders, predicted_number_of_orders, average_days_between_orders, "
                   "average_order_value, churn_probability, expected_date_of_next_order, preferred_channel, "
                   "email_consent, sms_consent, country, region, city",
    }
    for name, columns in expected.items():
        assert [c.name for c in getattr(frames, name)] == columns.split(", "), name
    assert [c.name for c in frames.CATALOG_CATEGORY][:2] == ["category_id", "name"]
