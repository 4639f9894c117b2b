"""Market-basket maths on hand-built baskets whose support, confidence and lift are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.affinity import (
    baskets_from_orders,
    bundle_offers,
    bundle_verdicts,
    category_affinity,
    category_pairs,
    count_orders,
    describe_pairs,
    item_categories,
    pair_affinity,
    summary_lines,
    top_pairs,
)
from helpers.report.currency import Currency


def _baskets(orders: dict[str, list[str]]) -> pd.DataFrame:
    rows = [(order, product) for order, products in orders.items() for product in products]
    return pd.DataFrame(rows, columns=["order_id", "product_id"])


# 10 orders. A,B together in 4; A alone-ish in 1 more; B in 1 more; C,D together in 2; E in 2 singles.
TEN = _baskets(
    {
        "o1": ["A", "B"],
        "o2": ["A", "B"],
        "o3": ["A", "B", "C"],
        "o4": ["B", "A"],
        "o5": ["A"],
        "o6": ["B"],
        "o7": ["C", "D"],
        "o8": ["D", "C"],
        "o9": ["E"],
        "o10": ["E"],
    }
)


def test_support_confidence_and_lift_match_hand_computation():
    pairs = pair_affinity(TEN, min_support=0.0, min_co_orders=1).set_index(["product_a", "product_b"])
    ab = pairs.loc[("A", "B")]
    # A in 5 orders, B in 5, together in 4, N = 10.
    assert ab["co_orders"] == 4 and ab["orders_a"] == 5 and ab["orders_b"] == 5
    assert ab["support"] == pytest.approx(0.4)
    assert ab["confidence_a_to_b"] == pytest.approx(0.8)
    assert ab["confidence_b_to_a"] == pytest.approx(0.8)
    assert ab["lift"] == pytest.approx(0.4 / (0.5 * 0.5))
    cd = pairs.loc[("C", "D")]
    # C in 3 orders, D in 2, together in 2: lift = 0.2 / (0.3 * 0.2).
    assert cd["confidence_a_to_b"] == pytest.approx(2 / 3)
    assert cd["confidence_b_to_a"] == pytest.approx(1.0)
    assert cd["lift"] == pytest.approx(0.2 / (0.3 * 0.2))
    assert set(pairs.index) == {("A", "B"), ("A", "C"), ("B", "C"), ("C", "D")}
    assert count_orders(TEN) == 10


def test_pairs_are_ordered_a_before_b_and_sorted_by_lift():
    pairs = pair_affinity(TEN, min_support=0.0, min_co_orders=1)
    assert (pairs["product_a"] < pairs["product_b"]).all()
    assert list(pairs["lift"]) == sorted(pairs["lift"], reverse=True)
    assert tuple(pairs.iloc[0][["product_a", "product_b"]]) == ("C", "D")


def test_minimum_co_orders_keeps_rare_pairs_off_the_top():
    pairs = pair_affinity(TEN, min_support=0.0, min_co_orders=3)
    assert [tuple(p) for p in pairs[["product_a", "product_b"]].to_numpy()] == [("A", "B")]


def test_minimum_support_filters_on_share_of_orders():
    pairs = pair_affinity(TEN, min_support=0.25, min_co_orders=1)
    assert list(pairs["product_a"] + pairs["product_b"]) == ["AB"]
    # Exactly at the threshold is kept.
    assert len(pair_affinity(TEN, min_support=0.2, min_co_orders=1)) == 2


def test_duplicate_lines_in_one_order_count_once():
    doubled = pd.concat([TEN, TEN.iloc[:3]], ignore_index=True)
    pd.testing.assert_frame_equal(
        pair_affinity(doubled, min_support=0.0, min_co_orders=1),
        pair_affinity(TEN, min_support=0.0, min_co_orders=1),
    )


def test_top_pairs_shape():
    pairs = pair_affinity(TEN, min_support=0.0, min_co_orders=1)
    top = top_pairs(pairs, n=2)
    assert top == [["C", "D", round(0.2 / 0.06, 4)], ["A", "B", 1.6]]


def test_bad_thresholds_and_empty_input():
    with pytest.raises(ValueError, match="min_co_orders"):
        pair_affinity(TEN, min_co_orders=0)
    empty = pair_affinity(TEN.iloc[0:0])
    assert empty.empty and "lift" in empty.columns


def test_baskets_from_placed_order_events():
    events = pd.DataFrame(
        {
            "event_id": ["e1", "e2", "e3", "e4"],
            "properties": [
                {"OrderId": "1001", "Items": [{"ProductID": "P1"}, {"ProductID": "P2"}, {"ProductID": "P1"}]},
                {"OrderId": "1002", "Items": [{"ProductId": 7}, {"SKU": "no-product-id"}]},
                {"Items": [{"product_id": "P3"}]},
                {"OrderId": "1001", "Items": [{"ProductID": "P2"}]},  # the same order sent twice
            ],
        }
    )
    baskets = baskets_from_orders(events)
    assert sorted(map(tuple, baskets.to_numpy())) == [
        ("1001", "P1"),
        ("1001", "P2"),
        ("1002", "7"),
        ("e3", "P3"),
    ]
    assert baskets_from_orders(events.iloc[0:0]).empty


def test_category_affinity_lift_matrix():
    products = pd.DataFrame(
        {"product_id": ["A", "B", "C", "D", "E"], "category": ["Shoes", "Socks", "Hats", "Hats", "Socks"]}
    )
    matrix = category_affinity(TEN, products)
    # Shoes in 5 orders (A), Socks in 7 (B or E), together in 4; N = 10.
    assert matrix.loc["Shoes", "Socks"] == pytest.approx(4 * 10 / (5 * 7))
    assert matrix.loc["Socks", "Shoes"] == matrix.loc["Shoes", "Socks"]
    assert math.isnan(matrix.loc["Hats", "Hats"])
    assert list(matrix.index) == ["Hats", "Shoes", "Socks"]
    assert math.isnan(category_affinity(TEN, products, min_co_orders=2).loc["Hats", "Shoes"])


def test_item_categories_and_describe_pairs():
    items = pd.DataFrame(
        {
            "external_id": ["A", "B", 3],
            "title": ["Alpha", "Beta", "Gamma"],
            "price": [10.0, 20.0, 5.0],
            "category_ids": [["c1"], ["c1", "c2"], None],
        }
    )
    cats = pd.DataFrame({"category_id": ["c1", "c2"], "name": ["Tops", "Sale"]})
    assert sorted(map(tuple, item_categories(items, cats).to_numpy())) == [
        ("A", "Tops"),
        ("B", "Sale"),
        ("B", "Tops"),
    ]
    pairs = pd.DataFrame({"product_a": ["A"], "product_b": ["B"], "lift": [2.0]})
    described = describe_pairs(pairs, items)
    assert described.loc[0, "title_b"] == "Beta" and described.loc[0, "price_a"] == 10.0
    assert "description_a" not in described  # the catalog frame had none


def test_year_of_orders_is_vectorised():
    # 100k orders × ~3 lines: the sparse product handles it; the test checks the result, not the clock.
    rng = np.random.default_rng(0)
    n_orders, n_products = 100_000, 800
    lines = rng.integers(0, n_products, size=(n_orders, 3))
    lines[: n_orders // 10, :2] = [1, 2]  # plant one strong pair in 10 % of orders
    baskets = pd.DataFrame(
        {"order_id": np.repeat(np.arange(n_orders), 3).astype(str), "product_id": (lines.ravel()).astype(str)}
    )
    pairs = pair_affinity(baskets, min_support=0.001, min_co_orders=20)
    assert tuple(pairs.iloc[0][["product_a", "product_b"]]) == ("1", "2")


def test_category_pairs_lists_each_pair_once_strongest_first():
    names = ["Bath", "Garden", "Kitchen"]
    lift = pd.DataFrame(
        [[np.nan, 3.0, 0.5], [3.0, np.nan, np.nan], [0.5, np.nan, np.nan]], index=names, columns=names
    ).rename_axis(index="category", columns="category")
    pairs = category_pairs(lift)
    assert list(pairs.columns) == ["category_a", "category_b", "lift"]
    assert list(zip(pairs["category_a"], pairs["category_b"], strict=True)) == [
        ("Bath", "Garden"),
        ("Bath", "Kitchen"),
        ("Garden", "Kitchen"),
    ]
    assert pairs["lift"].iloc[0] == 3.0 and math.isnan(pairs["lift"].iloc[2])
    assert category_pairs(pd.DataFrame(dtype=float)).empty


TESTED = pd.DataFrame(
    {
        "product_a": ["A", "C"],
        "product_b": ["B", "D"],
        "co_orders": [40, 25],
        "support": [0.04, 0.025],
        "confidence_a_to_b": [0.8, 0.5],
        "lift": [6.0, 1.5],
        "title_a": ["Apron", "Cup"],
        "title_b": ["Bowl", "Dish"],
        "price_a": [20.0, 5.0],
        "price_b": [30.0, 1000.0],
        "description_a": ["Linen.", None],
        "description_b": ["Clay.", float("nan")],
    }
)


def test_bundle_offers_price_each_bundle_and_describe_both_products():
    subjects, context = bundle_offers(TESTED, 0.10, Currency("USD", "test"))
    assert subjects == {
        "A + B": {"label": "Bundle 1 (Apron + Bowl)", "price": "$45.00"},
        "C + D": {"label": "Bundle 2 (Cup + Dish)", "price": "$904.50"},
    }
    assert context.splitlines() == [
        "Our shop is considering these product bundles:",
        "- Bundle 1 (Apron + Bowl) for $45.00 instead of $50.00. Apron ($20.00): Linen. Bowl ($30.00): Clay.",
        # Missing descriptions are left out, never shown as "None" or "nan".
        "- Bundle 2 (Cup + Dish) for $904.50 instead of $1,005.00. Cup ($5.00):  Dish ($1,000.00):",
    ]


def test_bundle_verdicts_join_lift_and_persona_scores():
    subjects, _ = bundle_offers(TESTED, 0.10, Currency("USD", "test"))
    scores = pd.DataFrame(
        {
            "persona_id": ["p1", "p2", "p1", "p2"],
            "subject": ["A + B", "A + B", "C + D", "C + D"],
            "intent": [4.5, 4.0, 4.0, 4.5],
            "nps": [50.0, 10.0, 20.0, 0.0],
            "n": [5, 5, 5, 5],
        }
    )
    verdicts = bundle_verdicts(TESTED, scores, subjects, min_lift=2.0).set_index("subject")
    assert list(verdicts.columns[:2]) == ["bundle", "lift"]
    assert (
        verdicts.loc["A + B", "bundle"] == "Bundle 1 (Apron + Bowl)" and verdicts.loc["A + B", "lift"] == 6.0
    )
    assert verdicts.loc["A + B", "verdict"] == "both support"
    assert verdicts.loc["C + D", "verdict"] == "personas only"  # lift 1.5 < 2: the data does not back it
    # With 3 answers each the personas are too few to back anything (min_n = 5 by default).
    thin = bundle_verdicts(TESTED, scores.assign(n=3), subjects, min_lift=2.0).set_index("subject")
    assert thin.loc["A + B", "verdict"] == "data only" and thin.loc["C + D", "verdict"] == "neither"


def test_summary_lines_name_the_strongest_pair_and_category_pairing():
    cats = pd.DataFrame({"category_a": ["Bath"], "category_b": ["Garden"], "lift": [3.0]})
    lines = summary_lines(1234, 365, 17, TESTED, cats)
    assert lines == [
        "- 1,234 orders over the last 365 days; 17 product pairs pass the thresholds.",
        "- The strongest pair is **Apron + Bowl**: bought together in 40 orders (4.00%), 6.0× more often than "
        "chance; 80% of Apron orders also hold Bowl.",
        "- Strongest category pairing: Bath + Garden (lift 3.00).",
    ]
    assert summary_lines(5, 30, 0, TESTED.iloc[:0], cats.iloc[:0]) == [
        "- 5 orders over the last 30 days; 0 product pairs pass the thresholds."
    ]
    tested_line = "No category pairing is bought together significantly more often than chance."
    assert summary_lines(1234, 365, 17, TESTED, cats, category_line=tested_line)[-1] == f"- {tested_line}"


def test_category_pair_needs_two_distinct_products():
    # K is in Kitchen and Sale. Single-item orders of K cannot show cross-buying, so they must not count
    # for Kitchen + Sale; only o5 (K with the Sale-only product S) and o6 (the Kitchen-only J with S) do.
    products = pd.DataFrame(
        {"product_id": ["K", "K", "S", "J", "T"], "category": ["Kitchen", "Sale", "Sale", "Kitchen", "Toys"]}
    )
    baskets = _baskets(
        {"o1": ["K"], "o2": ["K"], "o3": ["K"], "o4": ["K", "T"], "o5": ["K", "S"], "o6": ["J", "S"], "o7": ["T"]}
    )
    matrix = category_affinity(baskets, products)
    # Kitchen in o1-o6 (6), Sale in o1-o6 (6), cross-bought in o5 and o6 only; N = 7.
    assert matrix.loc["Kitchen", "Sale"] == pytest.approx(2 * 7 / (6 * 6))
    # o4: K supplies Kitchen and Sale, T supplies Toys, so both pairs with Toys are cross-bought once.
    assert matrix.loc["Kitchen", "Toys"] == pytest.approx(1 * 7 / (6 * 2))
    assert matrix.loc["Sale", "Toys"] == pytest.approx(1 * 7 / (6 * 2))
    # Single-item orders alone never make a category pair.
    singles = category_affinity(_baskets({"o1": ["K"], "o2": ["K"], "o3": ["T"]}), products)
    assert math.isnan(singles.loc["Kitchen", "Sale"])


def test_bundle_offers_write_money_in_the_reports_currency():
    from helpers.report.currency import Currency

    subjects, context = bundle_offers(TESTED, 0.10, Currency("EUR", "test"))
    assert all(s["price"].startswith("€") for s in subjects.values())
    assert "$" not in context and "€" in context


def test_findings_use_the_headers_period_wording():
    from helpers.report.periods import period

    span = period(365, as_of=pd.Timestamp("2026-07-15").date())
    lines = summary_lines(1234, 365, 17, TESTED, TESTED.iloc[:0], period=span.text)
    assert lines[0] == f"- 1,234 orders over {span.text}; 17 product pairs pass the thresholds."
    assert "(366 days)" in lines[0]  # the header's count: both end days are included

