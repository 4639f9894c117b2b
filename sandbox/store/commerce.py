"""Catalog and orders: ~150 products in categories, orders with line items and planted co-purchase pairs.

Orders are columns (profile, time, line offsets) and lines are columns (order, product, quantity), sorted
by time so datetime filters are binary searches. Planted pairs are added to a fixed share of orders; the
two products of a pair are otherwise rare, which is what gives them a high, well-separated lift.
"""

from __future__ import annotations

import numpy as np

from . import btyd

DAY = 86400
MAX_ORDERS = 300_000
HISTORY_DAYS = 364  # the order history served: Placed Order events of the last 364 days

CATEGORIES = ["Apparel", "Footwear", "Outdoor", "Home", "Kitchen", "Beauty", "Fitness", "Accessories", "Kids", "Pets"]
EXTRA_CATEGORIES = ["Bestsellers", "Sale"]
_NOUNS = {
    "Apparel": ["Tee", "Hoodie", "Flannel Shirt", "Chinos", "Rain Jacket"],
    "Footwear": ["Trail Runner", "Canvas Sneaker", "Wool Slipper", "Chelsea Boot"],
    "Outdoor": ["Camp Chair", "Headlamp", "Daypack", "Insulated Bottle", "Hammock"],
    "Home": ["Throw Blanket", "Linen Pillow", "Soy Candle", "Ceramic Vase"],
    "Kitchen": ["Pour-Over Kettle", "Chef Knife", "Cast Iron Pan", "Coffee Grinder", "Cutting Board"],
    "Beauty": ["Face Serum", "Lip Balm", "Clay Mask", "Body Oil"],
    "Fitness": ["Yoga Mat", "Resistance Band", "Foam Roller", "Jump Rope"],
    "Accessories": ["Beanie", "Leather Wallet", "Sunglasses", "Tote Bag"],
    "Kids": ["Puzzle Set", "Plush Fox", "Crayon Kit"],
    "Pets": ["Dog Leash", "Cat Tree", "Chew Toy", "Pet Bed"],
}
_ADJECTIVES = ["Classic", "Everyday", "Alpine", "Coastal", "Heritage", "Urban", "Organic", "Featherweight"]
# Target lifts of the planted pairs, strongest first; a seed uses the first 4 or 5.
PLANTED_LIFTS = [30.0, 18.0, 11.0, 7.0, 4.5]
PLANTED_SHARE = 0.008  # share of all orders that get a planted pair added


class Catalog:
    def __init__(self, seed: int, t_end: int, n_items: int = 150):
        rng = np.random.default_rng([seed, 2])
        self.categories = CATEGORIES + EXTRA_CATEGORIES
        self.n = n_items
        self.external_ids = [f"SKU-{k + 1:04d}" for k in range(n_items)]
        self.primary = rng.integers(0, len(CATEGORIES), n_items)
        self.titles = []
        for k in range(n_items):
            cat = CATEGORIES[self.primary[k]]
            noun = _NOUNS[cat][k % len(_NOUNS[cat])]
            self.titles.append(f"{_ADJECTIVES[(k * 7 + seed) % len(_ADJECTIVES)]} {noun} {k + 1:03d}")
        self.price = np.round(rng.lognormal(np.log(38), 0.6, n_items), 0) - 0.01
        self.price = np.clip(self.price, 4.99, 399.99)
        self.created = (t_end - rng.integers(400, 1100, n_items) * DAY).astype(np.int64)
        self.updated = (t_end - rng.integers(2, 300, n_items) * DAY).astype(np.int64)
        self.published = rng.random(n_items) > 0.04
        extra = rng.random(n_items)
        self.item_categories: list[list[int]] = []
        for k in range(n_items):
            cats = [int(self.primary[k])]
            if extra[k] < 0.15:
                cats.append(len(CATEGORIES))
            elif extra[k] > 0.88:
                cats.append(len(CATEGORIES) + 1)
            self.item_categories.append(cats)
        self.category_created = t_end - 1100 * DAY
        self.category_updated = [(t_end - (30 + 11 * c) * DAY) for c in range(len(self.categories))]

    def item_id(self, k: int) -> str:
        return f"$custom:::$default:::{self.external_ids[k]}"

    def category_id(self, c: int) -> str:
        return f"$custom:::$default:::CAT-{self.categories[c].upper()}"

    def category_names(self, k: int) -> list[str]:
        return [self.categories[c] for c in self.item_categories[k]]


# The decoy pair: two ordinary products bought together in exactly this many orders, at a lift between these
# bounds. That clears notebook 04's thresholds (≥ 20 co-orders, lift ≥ 2) yet is what chance gives among the
# ~11,000 product pairs of the catalog: its exact test does not survive the multiple-testing correction.
DECOY_CO_ORDERS = 21
DECOY_LIFT = (2.1, 2.6)


def _with_decoy_pair(seed: int, key: np.ndarray, n_orders: int, n_products: int,
                     planted: set[int]) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Order lines (``order * 1024 + product``, unique) with the decoy pair added, and the pair (None when
    the store is too small to hold one).

    Picks two unplanted products of similar popularity whose order counts put DECOY_CO_ORDERS co-orders at a
    lift inside DECOY_LIFT, then adds both to just enough orders holding neither. A generator of its own, so
    the draws that follow (quantities, prices) are those of the seed without a decoy.
    """
    rng = np.random.default_rng([seed, 13])
    order_of, product_of = key // 1024, key % 1024
    counts = np.bincount(product_of, minlength=n_products)
    target = np.sqrt(DECOY_CO_ORDERS * n_orders / np.mean(DECOY_LIFT))
    candidates = sorted((p for p in range(n_products) if p not in planted and counts[p] > 0),
                        key=lambda p: (abs(counts[p] - target), p))[:12]
    for i, a in enumerate(candidates):
        for b in candidates[i + 1:]:
            with_a, with_b = order_of[product_of == a], order_of[product_of == b]
            natural = np.intersect1d(with_a, with_b).size
            add = DECOY_CO_ORDERS - natural
            lift = DECOY_CO_ORDERS * n_orders / ((counts[a] + add) * (counts[b] + add)) if add >= 0 else 0.0
            if add < 0 or not DECOY_LIFT[0] <= lift <= DECOY_LIFT[1]:
                continue
            neither = np.setdiff1d(np.arange(n_orders), np.union1d(with_a, with_b))
            chosen = rng.choice(neither, add, replace=False).astype(np.int64)
            extra = np.concatenate([chosen * 1024 + a, chosen * 1024 + b])
            return np.unique(np.concatenate([key, extra])), (int(min(a, b)), int(max(a, b)))
    return key, None


class Orders:
    """Placed orders over the last 364 days (``HISTORY_DAYS``), sorted by time, and their line items."""

    def __init__(self, seed: int, catalog: Catalog, created: np.ndarray, t_end: int):
        rng = np.random.default_rng([seed, 3])
        n_profiles = len(created)
        # Who orders when: a buy-till-you-die process with known parameters (btyd.py, the planted truth).
        profile, times, self.buyer = btyd.simulate(seed, created, t_end - HISTORY_DAYS * DAY, t_end)
        self.exact = len(profile) <= MAX_ORDERS
        if not self.exact:
            # Thin uniformly so a million-profile store stays small (the process's parameters then no longer hold).
            keep = rng.random(len(profile)) < MAX_ORDERS / len(profile)
            profile, times = profile[keep], times[keep]
        n = len(profile)
        order = np.argsort(times, kind="stable")
        self.profile = profile[order]
        self.time = times[order]
        self.n = n

        n_pairs = 4 + int(rng.integers(0, 2))
        items = np.arange(catalog.n)
        rng.shuffle(items)
        self.planted = [(int(items[2 * k]), int(items[2 * k + 1])) for k in range(n_pairs)]
        planted_products = {p for pair in self.planted for p in pair}
        mean_lines = 2.0
        weights = np.zeros(catalog.n)
        for k, (a, b) in enumerate(self.planted):
            # Solve lift ~= f / ((q + f)^2) for the natural per-order inclusion q of each product.
            q = max(np.sqrt(PLANTED_SHARE / PLANTED_LIFTS[k]) - PLANTED_SHARE, 0.002)
            weights[a] = weights[b] = q / mean_lines
        others = [p for p in range(catalog.n) if p not in planted_products]
        zipf = 1.0 / np.arange(1, len(others) + 1) ** 0.9
        weights[others] = zipf / zipf.sum() * (1 - weights.sum())

        lines_per_order = np.minimum(1 + rng.poisson(1.0, n), 6)
        line_order = np.repeat(np.arange(n, dtype=np.int32), lines_per_order)
        line_product = rng.choice(catalog.n, len(line_order), p=weights).astype(np.int16)
        extra_orders, extra_products = [line_order], [line_product]
        for a, b in self.planted:
            chosen = np.flatnonzero(rng.random(n) < PLANTED_SHARE).astype(np.int32)
            extra_orders += [chosen, chosen]
            extra_products += [np.full(len(chosen), a, np.int16), np.full(len(chosen), b, np.int16)]
        line_order = np.concatenate(extra_orders)
        line_product = np.concatenate(extra_products)
        # One line per (order, product): sort and drop repeats.
        key = line_order.astype(np.int64) * 1024 + line_product
        key = np.unique(key)
        key, self.decoy = _with_decoy_pair(seed, key, n, catalog.n, planted_products)
        self.line_order = (key // 1024).astype(np.int32)
        self.line_product = (key % 1024).astype(np.int16)
        self.line_qty = (1 + (rng.random(len(key)) < 0.18) + (rng.random(len(key)) < 0.04)).astype(np.int8)
        self.line_price = catalog.price[self.line_product]
        self.line_start = np.searchsorted(self.line_order, np.arange(n + 1)).astype(np.int64)
        row_total = self.line_price * self.line_qty
        self.value = np.round(np.add.reduceat(row_total, self.line_start[:-1]) if n else np.zeros(0), 2)
        self.line_time = self.time[self.line_order]

        self.per_profile = np.bincount(self.profile, minlength=n_profiles).astype(np.int32)
        self.last_order = np.zeros(n_profiles, dtype=np.int64)
        np.maximum.at(self.last_order, self.profile, self.time)

    def order_number(self, k: int) -> str:
        return f"#{100000 + k}"
