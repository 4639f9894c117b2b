"""Market-basket analysis for notebook 04: baskets, pair support/confidence/lift, category affinity.

Baskets are built once as a sparse order × product matrix X (one row per order, 1 where the order holds
the product); co-occurrence counts are then X.T @ X, so a year of a mid-size shop (hundreds of thousands
of line items) is a single sparse product instead of a Python loop over pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from helpers.analysis.focus_groups import MIN_ANSWERS, verdict_table
from helpers.analysis.money import NO_SYMBOL
from helpers.analysis.money import Money as Currency

# Integrations spell the line-item product key differently (Klaviyo custom feeds use ProductID).
_PRODUCT_KEYS = ("ProductID", "ProductId", "product_id", "productId", "Product ID")
_ORDER_KEYS = ("OrderId", "OrderID", "order_id", "orderId", "$event_id")
_ITEM_KEYS = ("Items", "items", "line_items")

PAIR_COLUMNS = [
    "product_a",
    "product_b",
    "co_orders",
    "orders_a",
    "orders_b",
    "support",
    "confidence_a_to_b",
    "confidence_b_to_a",
    "lift",
]


def _first(mapping: Mapping, keys: Iterable[str]):
    for key in keys:
        value = mapping.get(key)
        if value is not None and value != "":
            return value
    return None


def baskets_from_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Placed Order events → one row per (order_id, product_id), each product once per order.

    `orders` is the Klaviyo client's events frame (`event_id`, `properties` dict, ...). The order id is
    the event's `OrderId` property when present (so an order sent twice counts once), else the event id.
    Line items without a product id are skipped. Product ids are returned as strings.
    """
    order_ids: list[str] = []
    product_ids: list[str] = []
    if len(orders):
        for event_id, props in zip(orders["event_id"], orders["properties"], strict=True):
            props = props if isinstance(props, Mapping) else {}
            items = _first(props, _ITEM_KEYS) or []
            order_id = str(_first(props, _ORDER_KEYS) or event_id)
            for item in items:
                if isinstance(item, Mapping):
                    product = _first(item, _PRODUCT_KEYS)
                    if product is not None:
                        order_ids.append(order_id)
                        product_ids.append(str(product))
    baskets = pd.DataFrame({"order_id": order_ids, "product_id": product_ids}, dtype=object)
    return baskets.drop_duplicates(ignore_index=True)


def _basket_matrix(baskets: pd.DataFrame, column: str) -> tuple[sparse.csr_matrix, np.ndarray, int]:
    """Binary order × <column> matrix, the sorted labels of its columns, and the number of orders."""
    pairs = baskets[["order_id", column]].dropna().drop_duplicates()
    order_codes, order_labels = pd.factorize(pairs["order_id"])
    # sort=True: column index order = label order, so the upper triangle gives a < b.
    col_codes, col_labels = pd.factorize(pairs[column], sort=True)
    matrix = sparse.csr_matrix(
        (np.ones(len(pairs), dtype=np.int64), (order_codes, col_codes)),
        shape=(len(order_labels), len(col_labels)),
    )
    return matrix, np.asarray(col_labels, dtype=object), len(order_labels)


def count_orders(baskets: pd.DataFrame) -> int:
    """Orders with at least one product: the denominator of every support value."""
    return int(baskets["order_id"].nunique())


def pair_affinity(baskets: pd.DataFrame, min_support: float = 0.001, min_co_orders: int = 20) -> pd.DataFrame:
    """Every product pair bought together, with support, confidence both ways and lift.

    For products a < b over N orders: support = co_orders / N; confidence_a_to_b = co_orders / orders_a
    (the share of a's orders that also hold b); lift = support / (P(a) · P(b)). Pairs under
    `min_co_orders` or `min_support` are dropped so rare pairs cannot top the list on a lucky lift.
    Sorted by lift, then co_orders, descending.
    """
    if min_support < 0 or min_co_orders < 1:
        raise ValueError("min_support must be ≥ 0 and min_co_orders ≥ 1.")
    if baskets.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    x, labels, n_orders = _basket_matrix(baskets, "product_id")
    orders_per_product = np.asarray(x.sum(axis=0)).ravel()
    co = sparse.triu(x.T @ x, k=1).tocoo()
    keep = co.data >= min_co_orders
    rows, cols, counts = co.row[keep], co.col[keep], co.data[keep].astype(np.int64)
    orders_a, orders_b = orders_per_product[rows], orders_per_product[cols]
    pairs = pd.DataFrame(
        {
            "product_a": labels[rows],
            "product_b": labels[cols],
            "co_orders": counts,
            "orders_a": orders_a,
            "orders_b": orders_b,
            "support": counts / n_orders,
            "confidence_a_to_b": counts / orders_a,
            "confidence_b_to_a": counts / orders_b,
            "lift": counts * n_orders / (orders_a.astype(float) * orders_b),
        },
        columns=PAIR_COLUMNS,
    )
    pairs = pairs[pairs["support"] >= min_support]
    return pairs.sort_values(
        ["lift", "co_orders", "product_a", "product_b"],
        ascending=[False, False, True, True],
        ignore_index=True,
    )


def top_pairs(pairs: pd.DataFrame, n: int = 10, digits: int = 4) -> list[list]:
    """The first `n` pairs as `[[product_a, product_b, lift], ...]` (lift rounded), by lift descending."""
    head = pairs.head(n)
    return [
        [a, b, round(float(lift), digits)]
        for a, b, lift in head[["product_a", "product_b", "lift"]].itertuples(index=False)
    ]


def item_categories(items: pd.DataFrame, categories: pd.DataFrame) -> pd.DataFrame:
    """Catalog items × categories → one row per (product_id, category) with the category's name.

    `items` is the client's catalog frame (`external_id`, `category_ids` list); `categories` has
    `category_id, name`. product_id is the item's external_id, the id order events carry.
    """
    names = dict(zip(categories["category_id"], categories["name"], strict=True))
    rows = [
        (str(external_id), names.get(category_id, str(category_id)))
        for external_id, ids in zip(items["external_id"], items["category_ids"], strict=True)
        for category_id in (ids if isinstance(ids, list | tuple | np.ndarray) else [])
    ]
    return pd.DataFrame(rows, columns=["product_id", "category"], dtype=object).drop_duplicates(
        ignore_index=True
    )


def category_counts(
    baskets: pd.DataFrame, product_categories: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Cross-buying counts behind `category_affinity`: `(co, per_category, labels, n_orders)`.

    `co[i, j]` is the number of orders holding categories i and j through two **distinct** products (see
    `category_affinity`), `per_category[i]` the orders holding category i, `labels` the sorted category
    names and `n_orders` the orders in `baskets`. Empty arrays when no basket product has a category.
    Shared with the significance test so both read the very same counts.
    """
    n_orders = count_orders(baskets)
    lines = baskets[["order_id", "product_id"]].dropna().drop_duplicates()
    links = product_categories[["product_id", "category"]].dropna().drop_duplicates()
    links = links[links["product_id"].isin(lines["product_id"])]
    if links.empty:
        return np.zeros((0, 0)), np.zeros(0), np.array([], dtype=object), n_orders
    order_codes, order_labels = pd.factorize(lines["order_id"])
    product_codes, product_labels = pd.factorize(lines["product_id"])
    category_codes, labels = pd.factorize(links["category"], sort=True)
    x = sparse.csr_matrix(
        (np.ones(len(lines), dtype=np.int64), (order_codes, product_codes)),
        shape=(len(order_labels), len(product_labels)),
    )
    c = sparse.csr_matrix(
        (
            np.ones(len(links), dtype=np.int64),
            (pd.Index(product_labels).get_indexer(links["product_id"]), category_codes),
        ),
        shape=(len(product_labels), len(labels)),
    )
    y = (x @ c).tocsr()  # products of each category in each order
    held = (y > 0).astype(np.int64)
    # Orders whose single A product is also their single B product: one line (order, product) per such
    # case, so W.T @ W counts them; they are the only orders where held_A·held_B > 0 without cross-buying.
    single = (y == 1).astype(np.int64)
    w = c[product_codes].multiply(single[order_codes])
    co = (held.T @ held - w.T @ w).toarray().astype(float)
    per_category = np.asarray(held.sum(axis=0)).ravel().astype(float)
    return co, per_category, np.asarray(labels, dtype=object), n_orders


def category_affinity(
    baskets: pd.DataFrame, product_categories: pd.DataFrame, min_co_orders: int = 1
) -> pd.DataFrame:
    """Square category × category lift matrix over orders, counting cross-buying only.

    An order holds category A when any of its products is in A (P(A) = those orders / N, N = orders in
    `baskets`). It holds the *pair* A, B only when two **distinct** products supply it: a product listed in
    both categories ("Kitchen" and "Sale") would otherwise make every order of it count for the pair, a
    lift from catalog tagging rather than from customers buying across categories. With Y = X·C (products
    per category per order), an order counts for A, B when Y_A·Y_B − Σ_p X_p·C_pA·C_pB > 0, i.e. unless
    its only A product and its only B product are the same product.

    lift(A, B) = co_orders(A, B) · N / (orders(A) · orders(B)); the diagonal and cells with fewer than
    `min_co_orders` cross-buying orders are NaN. Index and columns are sorted category names.
    """
    co, per_category, labels, n_orders = category_counts(baskets, product_categories)
    if not len(labels):
        return pd.DataFrame(dtype=float)
    lift = co * n_orders / np.outer(per_category, per_category)
    lift[co < min_co_orders] = np.nan
    np.fill_diagonal(lift, np.nan)
    return pd.DataFrame(
        lift, index=pd.Index(labels, name="category"), columns=pd.Index(labels, name="category")
    )


def describe_pairs(pairs: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Add titles, prices and descriptions (`title_a`, `price_a`, `description_a`, ...) from the catalog."""
    columns = [c for c in ("title", "price", "description") if c in catalog]
    info = catalog[["external_id", *columns]].drop_duplicates("external_id")
    info = info.assign(external_id=info["external_id"].astype(str))
    out = pairs
    for side in ("a", "b"):
        renamed = info.rename(
            columns={"external_id": f"product_{side}", **{c: f"{c}_{side}" for c in columns}}
        )
        out = out.merge(renamed, on=f"product_{side}", how="left")
    return out


def category_pairs(category_lift: pd.DataFrame) -> pd.DataFrame:
    """Each category pair of `category_affinity` once (`category_a < category_b`) with its lift, strongest first.

    Cells without a lift (too few shared orders) stay in, sorted last, so the frame lists every pair.
    """
    if category_lift.empty:
        return pd.DataFrame(columns=["category_a", "category_b", "lift"])
    long = category_lift.stack().rename("lift").rename_axis(["category_a", "category_b"]).reset_index()
    return long[long["category_a"] < long["category_b"]].sort_values("lift", ascending=False)


def _text(value) -> str:
    """A catalog field as text; a missing one (None, NaN or NA after the catalog merge) is empty, never "nan"."""
    return "" if pd.api.types.is_scalar(value) and pd.isna(value) else str(value)


def bundle_offers(
    tested: pd.DataFrame, discount: float, currency: Currency | None = None
) -> tuple[dict[str, dict[str, str]], str]:
    """The focus group's bundles: `({"A + B": {"label", "price"}}, stimulus text)` from described pairs.

    `tested` is the head of `describe_pairs(...)` (titles, prices, descriptions). Bundle k is priced at
    both prices less `discount`; the stimulus lists each bundle with its full price and both descriptions,
    so the personas judge the real products. Prices are written in `currency` (the report's `job.currency`; without
    it bare numbers, `money.NO_SYMBOL`), never a bare "$".
    """
    money = (currency or NO_SYMBOL).format
    subjects: dict[str, dict[str, str]] = {}
    stimulus = ["Our shop is considering these product bundles:"]
    for k, row in tested.reset_index(drop=True).iterrows():
        full = row["price_a"] + row["price_b"]
        price = full * (1 - discount)
        label = f"Bundle {k + 1} ({row['title_a']} + {row['title_b']})"
        subjects[f"{row['product_a']} + {row['product_b']}"] = {"label": label, "price": money(price)}
        stimulus.append(
            f"- {label} for {money(price)} instead of {money(full)}. "
            f"{row['title_a']} ({money(row['price_a'])}): {_text(row.get('description_a'))} "
            f"{row['title_b']} ({money(row['price_b'])}): {_text(row.get('description_b'))}".strip()
        )
    return subjects, "\n".join(stimulus)


def bundle_verdicts(
    tested: pd.DataFrame,
    scores: pd.DataFrame,
    subjects: Mapping[str, Mapping[str, str]],
    min_lift: float,
    min_n: int = MIN_ANSWERS,
) -> pd.DataFrame:
    """`focus_groups.verdict_table` for the tested bundles, with their `bundle` label and `lift`.

    The data backs a bundle when its lift is at least `min_lift`; `scores` is the persona × subject
    score table of the focus group (with `n`) and `subjects` the first value of `bundle_offers`; a persona
    with fewer than `min_n` answers on a bundle does not count as backing it.
    """
    keys = [f"{a} + {b}" for a, b in zip(tested["product_a"], tested["product_b"], strict=True)]
    lifts = dict(zip(keys, tested["lift"], strict=True))
    data_support = pd.Series({key: lift >= min_lift for key, lift in lifts.items()})
    verdicts = verdict_table(data_support, scores, min_n=min_n)
    verdicts.insert(1, "bundle", verdicts["subject"].map(lambda s: subjects[s]["label"]))
    verdicts.insert(2, "lift", verdicts["subject"].map(lifts))
    return verdicts


def summary_lines(
    orders_analyzed: int,
    lookback_days: int,
    pairs_total: int,
    described: pd.DataFrame,
    category_pairs: pd.DataFrame,
    category_line: str | None = None,
    period: str | None = None,
) -> list[str]:
    """Markdown bullets on the basket data: orders, the strongest pair, the strongest category pairing.

    `category_line` (e.g. `affinity_significance.category_headline`) replaces the strongest-lift category
    bullet, which would headline a lift whatever its evidence. `period` is the header's wording of the
    days covered (`helpers.report.periods.Period.text`, e.g. "15 Jul 2025 – 15 Jul 2026 (366 days)"), so header and
    findings say the same; without it, "the last N days".
    """
    span = period or f"the last {lookback_days} days"
    lines = [f"- {orders_analyzed:,} orders over {span}; {pairs_total:,} product pairs pass the thresholds."]
    if len(described):
        best = described.iloc[0]
        lines.append(
            f"- The strongest pair is **{best['title_a']} + {best['title_b']}**: bought together in "
            f"{best['co_orders']} orders ({best['support']:.2%}), {best['lift']:.1f}× more often than chance; "
            f"{best['confidence_a_to_b']:.0%} of {best['title_a']} orders also hold {best['title_b']}."
        )
    if category_line:
        lines.append(f"- {category_line}")
    elif len(category_pairs):
        top = category_pairs.iloc[0]
        lines.append(
            f"- Strongest category pairing: {top['category_a']} + {top['category_b']} (lift {top['lift']:.2f})."
        )
    return lines

