"""Exact co-occurrence tests with a Benjamini–Hochberg correction, on hand-built baskets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from helpers.analysis.affinity import category_affinity, pair_affinity, top_pairs
from helpers.analysis.affinity_significance import (
    category_headline,
    category_significance,
    pair_significance,
    significant_top_pairs,
)


def _baskets(groups: list[tuple[int, list[str]]]) -> pd.DataFrame:
    rows, k = [], 0
    for count, products in groups:
        for _ in range(count):
            k += 1
            rows += [(f"o{k}", p) for p in products]
    return pd.DataFrame(rows, columns=["order_id", "product_id"])


# A+B: strong (lift 4.1, 30 orders). E+F: lift 2.2 on 4 orders (chance). G+H: lift 1.4 but 65 orders (real, weak).
MIXED = _baskets([(30, ["A", "B"]), (10, ["A"]), (10, ["B"]), (4, ["E", "F"]), (16, ["E"]), (16, ["F"]),
                  (65, ["G", "H"]), (35, ["G"]), (35, ["H"])])
N = 221
CATEGORIES = pd.DataFrame({"product_id": list("ABEFGH"), "category": ["Bath", "Kitchen", "Toys", "Books", "Garden", "Tools"]})


def _tested(baskets=MIXED, **kw):
    return pair_significance(pair_affinity(baskets, min_support=0.0, min_co_orders=1), baskets, **kw)


def test_p_value_is_fishers_exact_test_on_the_two_by_two_table():
    tested = _tested().set_index(["product_a", "product_b"])
    for (a, b), co, na, nb in [(("A", "B"), 30, 40, 40), (("E", "F"), 4, 20, 20), (("G", "H"), 65, 100, 100)]:
        table = [[co, na - co], [nb - co, N - na - nb + co]]
        assert tested.loc[(a, b), "p_value"] == pytest.approx(sps.fisher_exact(table, alternative="greater").pvalue)


def test_correction_is_benjamini_hochberg_over_every_possible_pair():
    tested = _tested()
    # 6 products → 15 possible pairs; the 12 never bought together have p = 1.
    padded = np.r_[tested["p_value"].to_numpy(), np.ones(12)]
    assert tested["p_adjusted"].to_numpy() == pytest.approx(sps.false_discovery_control(padded, method="bh")[:3])
    only = _tested(family="tested")
    assert only["p_adjusted"].to_numpy() == pytest.approx(sps.false_discovery_control(only["p_value"].to_numpy()))
    assert (tested["p_adjusted"] >= only["p_adjusted"]).all()
    assert dict(zip(tested["product_a"] + tested["product_b"], tested["significant"], strict=True)) == {
        "AB": True, "EF": False, "GH": True}
    with pytest.raises(ValueError, match="family"):
        _tested(family="some")


def test_top_pairs_need_lift_and_significance_and_are_never_padded():
    pairs, message = significant_top_pairs(_tested(), top_n=10, min_lift=2.0)
    assert top_pairs(pairs, 10) == [["A", "B", round(30 * N / 1600, 4)]]
    assert message == ("Only 1 pair has lift ≥ 2 and significant co-occurrence (Benjamini–Hochberg-adjusted p < 0.05), "
                       "fewer than the 10 asked for; 1 more reaches that lift on too few orders to rule out chance.")
    # With a lower lift bar the weak but real G+H qualifies; E+F (chance) never does.
    pairs, message = significant_top_pairs(_tested(), top_n=2, min_lift=1.2)
    assert list(pairs["product_a"]) == ["A", "G"]
    assert message.startswith("The top 2 of 2 pairs with lift ≥ 1.2")


def test_all_insignificant_and_empty():
    small = _baskets([(4, ["A", "B"]), (1, ["A"]), (1, ["B"]), (2, ["C", "D"]), (2, ["E"])])
    pairs, message = significant_top_pairs(_tested(small), top_n=10, min_lift=2.0)
    assert pairs.empty
    assert message.startswith("No product pair has lift ≥ 2 and significant co-occurrence")
    assert message.endswith("the data backs no bundle yet.") and "1 more reaches that lift" in message
    empty = pd.DataFrame(columns=["order_id", "product_id"])
    tested = pair_significance(pair_affinity(empty), empty)
    assert tested.empty and {"p_value", "p_adjusted", "significant"} <= set(tested.columns)
    assert significant_top_pairs(tested)[1].startswith("No product pair")
    with pytest.raises(ValueError, match="top_n"):
        significant_top_pairs(tested, top_n=0)


def test_ties_in_lift_rank_by_co_orders():
    tested = pd.DataFrame({"product_a": ["X", "Y"], "product_b": ["Z", "Z"], "co_orders": [20, 40], "lift": [3.0, 3.0],
                           "p_adjusted": [0.001, 0.001]})
    pairs, _ = significant_top_pairs(tested, top_n=1, min_lift=2.0)
    assert list(pairs["product_a"]) == ["Y"]


def test_category_pairs_are_tested_on_the_cross_buying_counts():
    tested = category_significance(MIXED, CATEGORIES)
    lift = category_affinity(MIXED, CATEGORIES)
    assert len(tested) == 15 and (tested["category_a"] < tested["category_b"]).all()
    row = tested.set_index(["category_a", "category_b"]).loc[("Bath", "Kitchen")]
    assert row["co_orders"] == 30 and row["lift"] == pytest.approx(lift.loc["Bath", "Kitchen"])
    assert row["p_value"] == pytest.approx(_tested().set_index("product_a").loc["A", "p_value"])
    assert tested.iloc[0][["category_a", "category_b"]].tolist() == ["Bath", "Kitchen"]
    headline = category_headline(tested)
    assert headline.startswith("Strongest significant category pairing: Bath + Kitchen (lift 4.14 over 30 orders")


def test_category_headline_when_nothing_is_significant():
    small = _baskets([(2, ["A", "B"]), (1, ["A"]), (1, ["C"]), (1, ["B", "C"])])
    cats = pd.DataFrame({"product_id": ["A", "B", "C"], "category": ["Bath", "Kitchen", "Toys"]})
    tested = category_significance(small, cats)
    assert not tested["significant"].any()
    assert category_headline(tested).startswith("No category pairing is bought together significantly more often than "
                                                "chance (Benjamini–Hochberg-adjusted p < 0.05); the strongest, ")
    assert category_headline(category_significance(small, cats.iloc[0:0])).startswith("No category pairing to test")
