"""Is a product (or category) pair bought together more often than chance? (notebook 04)

Lift alone ranks pairs but cannot say whether 1.2× is affinity or noise: over a few hundred orders a
lift of 1.2 happens by chance all the time. Each pair's 2×2 table of orders (holds A or not × holds B or
not) gets an exact one-sided test: under independence the number of orders holding both is
hypergeometric, so P(co-orders ≥ observed) is Fisher's exact test on that table, computed for every pair
at once with `scipy.stats.hypergeom`.

**Correction: Benjamini–Hochberg.** Top pairs are a screen of many candidates (every pair of products
in the catalog, thousands of tests) for a short list a merchandiser will act on; the error that matters
is the share of false leads on that list (false discovery rate), not the chance of a single one anywhere
(Holm's family-wise rate, which with thousands of tests would drop real but modest affinities). Tests of
pairs that share a product are positively dependent, under which BH still controls the FDR
(Benjamini & Yekutieli 2001). The family is every pair that *could* have been bought together, not only
the pairs that passed the co-order threshold: picking the pairs to test by their counts and then
correcting only over those would understate how many were looked at.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from helpers.analysis.affinity import category_counts, count_orders
from helpers.analysis.wording import p_text

__all__ = [
    "CORRECTION",
    "category_headline",
    "category_significance",
    "pair_significance",
    "significant_top_pairs",
]

CORRECTION = "Benjamini–Hochberg"


def _cooccurrence_p(co, orders_a, orders_b, n_orders) -> np.ndarray:
    """One-sided Fisher exact p = P(X ≥ co), X ~ Hypergeom(N orders, orders_a marked, orders_b drawn)."""
    co, orders_a, orders_b = (np.asarray(v, dtype=np.int64) for v in (co, orders_a, orders_b))
    if co.size == 0:
        return np.zeros(0)
    return np.clip(sps.hypergeom.sf(co - 1, n_orders, orders_a, orders_b), 0.0, 1.0)


def _bh(p_values: np.ndarray, family_size: int) -> np.ndarray:
    """BH-adjusted p over a family of `family_size` tests of which `p_values` are the ones computed.

    The family counts every pair that could have been tested, but only the pairs that passed the support
    floors (`min_co_orders`, `min_support`) get a p-value. The others are treated as if they had p = 1: they
    sit at the bottom of the ranking and only raise the multiplier, so this is BH over the computed ones × m /
    n, capped at 1. That is exact for pairs never bought together (p = 1 indeed), but a pair dropped by a
    floor can be strongly significant (a rare pair always bought together): treating it as p = 1 makes every
    adjusted p here at least as large as full BH would, so the result is conservative — the false-discovery
    rate stays at or below alpha, at the cost of some real but rare pairs never being listed.
    """
    n = p_values.size
    if n == 0:
        return np.zeros(0)
    m = max(int(family_size), n)
    return np.minimum(sps.false_discovery_control(p_values, method="bh") * m / n, 1.0)


def pair_significance(
    pairs: pd.DataFrame, baskets: pd.DataFrame, alpha: float = 0.05, family: str = "all"
) -> pd.DataFrame:
    """`pairs` (`affinity.pair_affinity`) plus `p_value`, `p_adjusted` (BH) and `significant`.

    Why: a "top 10" must hold only pairs whose co-occurrence is unlikely under independence; six pairs with
    lift 1.10–1.26 are no affinity at all. `p_value` is the one-sided Fisher exact test on the pair's 2×2
    table over the orders in `baskets`; `family="all"` corrects over every product pair of the basket
    products (P·(P−1)/2, the honest family, see the module note), `"tested"` over the rows of `pairs`
    only. `significant` = p_adjusted < alpha. Order and other columns of `pairs` are unchanged.
    """
    if family not in ("all", "tested"):
        raise ValueError(f"family must be 'all' or 'tested', got {family!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}.")
    out = pairs.copy()
    n_orders = count_orders(baskets) if len(baskets) else 0
    p = _cooccurrence_p(out["co_orders"], out["orders_a"], out["orders_b"], n_orders)
    products = baskets["product_id"].nunique() if len(baskets) else 0
    size = products * (products - 1) // 2 if family == "all" else len(out)
    out["p_value"] = p
    out["p_adjusted"] = _bh(p, size)
    out["significant"] = out["p_adjusted"] < alpha
    return out


def significant_top_pairs(
    tested: pd.DataFrame, top_n: int = 10, min_lift: float = 2.0, alpha: float = 0.05
) -> tuple[pd.DataFrame, str]:
    """`(pairs, message)`: up to `top_n` pairs with lift ≥ `min_lift` AND significant co-occurrence.

    Why: padding a "top 10" with whatever comes next puts weak pairs beside real ones; when fewer qualify
    the list is shorter and the message says so. `tested` is `pair_significance(...)`; rows keep its
    columns, strongest lift first (ties: more co-orders). `affinity.top_pairs(pairs, top_n)` turns them
    into the recorded `top_pairs`. The message (one sentence) counts what qualified and, when some pairs
    reach the lift but not significance, how many.
    """
    if top_n < 1:
        raise ValueError(f"top_n must be ≥ 1, got {top_n}.")
    lifted = tested[tested["lift"] >= min_lift]
    good = lifted[lifted["p_adjusted"] < alpha]
    good = good.sort_values(["lift", "co_orders"], ascending=[False, False], kind="stable")
    rule = f"lift ≥ {min_lift:g} and significant co-occurrence ({CORRECTION}-adjusted p < {alpha:g})"
    noisy = len(lifted) - len(good)
    reach = "reaches" if noisy == 1 else "reach"
    aside = f"; {noisy} more {reach} that lift on too few orders to rule out chance" if noisy else ""
    if good.empty:
        message = f"No product pair has {rule}{aside}: the data backs no bundle yet."
    elif len(good) < top_n:
        count = f"{len(good)} pairs have" if len(good) > 1 else "1 pair has"
        message = f"Only {count} {rule}, fewer than the {top_n} asked for{aside}."
    else:
        message = f"The top {top_n} of {len(good)} pairs with {rule}{aside}."
    return good.head(top_n).reset_index(drop=True), message


def category_significance(
    baskets: pd.DataFrame, product_categories: pd.DataFrame, alpha: float = 0.05
) -> pd.DataFrame:
    """Every category pair once (`category_a < category_b`) with its cross-buying lift and exact test.

    Why: a category lift of 1.06 over thousands of orders may be real but is no headline, and over a few
    hundred it is noise; the headline needs the test. Counts are `affinity.category_counts` (cross-buying
    only, as `category_affinity`); p is the one-sided Fisher exact test of each pair's 2×2 table, BH-adjusted
    over all category pairs. Columns `category_a, category_b, co_orders, orders_a, orders_b, lift, p_value,
    p_adjusted, significant`, strongest lift first.
    """
    columns = ["category_a", "category_b", "co_orders", "orders_a", "orders_b", "lift", "p_value", "p_adjusted",
               "significant"]
    co, per_category, labels, n_orders = category_counts(baskets, product_categories)
    if len(labels) < 2:
        return pd.DataFrame(columns=columns)
    i, j = np.triu_indices(len(labels), k=1)
    counts = co[i, j].astype(np.int64)
    orders_a, orders_b = per_category[i].astype(np.int64), per_category[j].astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(orders_a * orders_b > 0, counts * n_orders / (orders_a * orders_b.astype(float)), np.nan)
    p = _cooccurrence_p(counts, orders_a, orders_b, n_orders)
    frame = pd.DataFrame({
        "category_a": labels[i], "category_b": labels[j], "co_orders": counts, "orders_a": orders_a,
        "orders_b": orders_b, "lift": lift, "p_value": p, "p_adjusted": _bh(p, len(p)),
    })
    frame["significant"] = frame["p_adjusted"] < alpha
    return frame.sort_values(["lift", "co_orders"], ascending=[False, False], ignore_index=True)[columns]


def category_headline(tested: pd.DataFrame, alpha: float = 0.05, min_lift: float = 1.0) -> str:
    """One sentence on category pairings: the strongest *significant* one, or that none is.

    Why: the summary used to headline the strongest lift whatever its evidence. `tested` is
    `category_significance(...)`; a pairing is headlined only when p_adjusted < alpha and lift > `min_lift`
    (bought together more than chance); otherwise the sentence says none is and names the strongest lift as
    within noise.
    """
    if tested.empty:
        return "No category pairing to test (no ordered product has a category)."
    good = tested[(tested["p_adjusted"] < alpha) & (tested["lift"] > min_lift)]
    if len(good):
        top = good.iloc[0]
        return (f"Strongest significant category pairing: {top['category_a']} + {top['category_b']} (lift "
                f"{top['lift']:.2f} over {int(top['co_orders']):,} orders, {CORRECTION}-adjusted "
                f"{p_text(top['p_adjusted'])}).")
    top = tested.dropna(subset=["lift"]).head(1)
    if top.empty:
        return "No category pairing is bought together more often than chance."
    row = top.iloc[0]
    return (f"No category pairing is bought together significantly more often than chance ({CORRECTION}-adjusted "
            f"p < {alpha:g}); the strongest, {row['category_a']} + {row['category_b']} (lift {row['lift']:.2f}), "
            "is within noise.")
