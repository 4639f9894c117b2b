"""Segment overlap on hand-built memberships with known intersections, plus a brute-force cross-check."""

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.segments import (
    classify_pairs,
    cluster_order,
    coverage,
    jaccard_matrix,
    mave_brief,
    membership,
    overlap_pairs,
    segment_table,
    suggest_simplification,
    summary_lines,
    tiny_segments,
)


def _ids(*ranges):
    return [f"p{i:05d}" for r in ranges for i in r]


# A = 0..99; B = 0..98 + 1000 (Jaccard 99/101 with A); C = 0..49 (inside A and B); D = 5 profiles (tiny);
# E = 90..289 (10 shared with A, 9 with B).
MEMBERS = {
    "A": _ids(range(100)),
    "B": _ids(range(99), [1000]),
    "C": _ids(range(50)),
    "D": _ids(range(500, 505)),
    "E": _ids(range(90, 290)),
}
TOTAL = 1000


@pytest.fixture
def m():
    return membership(MEMBERS)


def test_membership_matrix_and_duplicates():
    mm = membership({"X": ["a", "b", "a"], "Y": ["b", "c"], "Z": []})
    assert mm.matrix.shape == (3, 3)
    assert mm.sizes.tolist() == [2, 2, 0]
    assert mm.intersections()[0, 1] == 1


def test_overlap_pairs_numbers(m):
    pairs = overlap_pairs(m).set_index(["a", "b"])
    assert len(pairs) == 10  # 5 choose 2, each once with a < b
    ab = pairs.loc[("A", "B")]
    assert (ab["intersection"], ab["union"]) == (99, 101)
    assert ab["jaccard"] == pytest.approx(99 / 101)
    ac = pairs.loc[("A", "C")]
    assert ac["contain_a_in_b"] == pytest.approx(0.5) and ac["contain_b_in_a"] == pytest.approx(1.0)
    assert pairs.loc[("A", "E"), "intersection"] == 10
    assert pairs.loc[("B", "E"), "intersection"] == 9


def test_classify_pairs(m):
    redundant, nested = classify_pairs(overlap_pairs(m))
    assert redundant == [["A", "B"]]
    assert nested == [["C", "A"], ["C", "B"]]  # A-in-B (0.99) is already redundant, so not nested
    redundant, nested = classify_pairs(overlap_pairs(m), jaccard_min=0.999, containment_min=0.95)
    assert redundant == [] and nested == [["A", "B"], ["B", "A"], ["C", "A"], ["C", "B"]]


def test_tiny_segments(m):
    sizes = dict(zip(m.segment_ids, m.sizes, strict=True))
    assert tiny_segments(sizes, TOTAL) == ["D"]  # 5 < 1 % of 1000; the others are >= 50
    assert tiny_segments(sizes, TOTAL, tiny_share=0.06) == ["C", "D"]
    with pytest.raises(ValueError, match="profiles_total"):
        tiny_segments(sizes, 0)


def test_coverage_and_unique_share(m):
    cov = coverage(m, TOTAL, many_min=3)
    # union = 0..289 (290) + 1000 + 500..504 = 296 profiles
    assert cov["in_no_segment"] == TOTAL - 296
    assert cov["in_many_segments"] == 50 + 9  # 0..49 are in A, B, C; 90..98 are in A, B, E
    assert sum(cov["histogram"].values()) == TOTAL
    table = segment_table(m, names={"A": "Buyers"}, profiles_total=TOTAL).set_index("segment_id")
    assert table.at["A", "name"] == "Buyers" and table.at["B", "name"] == "B"
    assert table.at["A", "unique"] == 0 and table.at["B", "unique"] == 1  # only p01000
    assert table.at["E", "unique"] == 190 and table.at["E", "unique_share"] == pytest.approx(0.95)
    assert table.at["D", "share_of_profiles"] == pytest.approx(0.005)


def test_cluster_order_puts_overlapping_segments_together(m):
    order = cluster_order(m)
    assert sorted(order) == sorted(MEMBERS)
    assert abs(order.index("A") - order.index("B")) == 1


def test_suggest_simplification_is_deterministic(m):
    table = segment_table(m, profiles_total=TOTAL)
    redundant, nested = classify_pairs(overlap_pairs(m))
    plan = suggest_simplification(table, redundant, nested, ["D"])
    got = list(plan[["action", "segment_id", "into"]].fillna("-").itertuples(index=False, name=None))
    # A and B both have 100 members: keep the smaller id
    assert got == [("merge", "B", "A"), ("retire", "D", "-"), ("fold", "C", "A")]
    assert plan["into_name"].tolist() == ["A", "", "A"]  # shown blank for a retirement, never NaN


def test_mave_brief_is_numbers_first_and_has_no_profile_ids(m):
    table = segment_table(m, names={s: f"Seg {s}" for s in MEMBERS}, profiles_total=TOTAL)
    pairs = overlap_pairs(m)
    redundant, nested = classify_pairs(pairs)
    text = mave_brief(table, pairs, redundant, nested, ["D"], coverage(m, TOTAL), definitions={"A": "placed an order"})
    assert "5 Klaviyo segments over 1,000 profiles (704 in no segment" in text
    assert "- Seg A ~ Seg B: 0.98" in text
    assert "- Seg C inside Seg A: 100%" in text
    assert "Seg D (5)" in text and "placed an order" in text
    assert "p000" not in text
    assert "Used by live" not in text
    used = mave_brief(table, pairs, redundant, nested, ["D"], coverage(m, TOTAL), in_use={"D": "flow “Beta” (trigger)"})
    assert "Used by live campaigns or flows (changing them changes whom those reach): Seg D: flow “Beta” (trigger)." in used


def test_sparse_products_match_brute_force_sets():
    rng = np.random.default_rng(3)
    members = {f"S{k:02d}": rng.choice(2000, size=rng.integers(0, 400), replace=False) for k in range(12)}
    pairs = overlap_pairs(membership(members))
    for row in pairs.itertuples():
        a, b = set(members[row.a]), set(members[row.b])
        assert row.intersection == len(a & b)
        if a | b:
            assert row.jaccard == pytest.approx(len(a & b) / len(a | b))
        else:
            assert pd.isna(row.jaccard)


def test_describe_definition_reads_klaviyo_conditions():
    from helpers.analysis.segments import describe_definition

    definition = {"condition_groups": [
        {"conditions": [{"type": "profile-property", "property": "properties['engagement_score']",
                         "filter": {"type": "numeric", "operator": "greater-than-or-equal", "value": 0.6}}]},
        {"conditions": [{"type": "profile-property", "property": "location['country']",
                         "filter": {"type": "string", "operator": "in", "value": ["United States", "Canada"]}},
                        {"type": "profile-marketing-consent", "consent": {"channel": "sms"}}]},
    ]}
    assert describe_definition(definition) == (
        "engagement_score greater than or equal 0.6 and (country in United States, Canada or subscribed to sms marketing)"
    )
    assert describe_definition(None) == ""
    assert describe_definition(definition, max_chars=20).endswith("…")


def test_jaccard_matrix_in_the_given_order(m):
    jac = jaccard_matrix(m, ["E", "A", "B", "C", "D"])
    assert list(jac.index) == list(jac.columns) == ["E", "A", "B", "C", "D"]
    assert jac.at["A", "B"] == pytest.approx(99 / 101) and jac.at["B", "A"] == jac.at["A", "B"]
    assert jac.at["A", "E"] == pytest.approx(10 / 290) and jac.at["C", "D"] == 0
    assert np.diag(jac).tolist() == [1.0] * 5
    assert list(jaccard_matrix(m).index) == list(MEMBERS)


def test_jaccard_matrix_of_an_empty_segment_is_zero():
    jac = jaccard_matrix(membership({"A": ["p1"], "Z": []}))
    assert jac.at["Z", "Z"] == 0 and jac.at["A", "Z"] == 0 and jac.at["A", "A"] == 1


def test_summary_lines_count_the_plan_and_name_the_most_similar_pair(m):
    table = segment_table(m, names={s: f"Seg {s}" for s in MEMBERS}, profiles_total=TOTAL)
    pairs = overlap_pairs(m)
    redundant, nested = classify_pairs(pairs)
    plan = suggest_simplification(table, redundant, nested, ["D"])
    lines = summary_lines(table, pairs, plan, redundant, nested, ["D"], coverage(m, TOTAL), TOTAL)
    assert lines == [
        "- 5 segments over 1,000 profiles: redundant pairs 1, nested pairs 2, tiny segments 1.",
        "- The plan merges 1, retires 1 and folds 1 segments, leaving 2 of 5.",
        # members of any segment: 0..289, 500..504 and 1000 -> 296; in 3+: 0..49 (A, B, C) and 90..98 (A, B, E)
        "- 704 profiles are in no analysed segment and 59 in 3+.",
        "- Most similar pair: Seg A and Seg B (Jaccard 0.98).",
    ]
