"""Planted ground truth, recomputed from the generated data with the definitions in docs/internals.md.

Where a fact is planted (segment design, weak flow messages, product pairs, channel winners) the value
here is still measured on the data the sandbox serves, so the truth and the API can never disagree.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from .store import Store
from .store_messaging import DAYS, S

REDUNDANT_JACCARD = 0.9
NESTED_CONTAINMENT = 0.95
TINY_SHARE = 0.01
UNDER_RATIO = 0.75
MIN_RECIPIENTS = 500
MIN_CO_ORDERS = 20
FLOW_METRICS = {"open_rate": ("opens_unique",), "click_rate": ("clicks_unique",),
                "conversion_rate": ("conversion_uniques",), "revenue_per_recipient": ("conversion_value",)}


def segment_overlaps(store: Store) -> list[dict]:
    """Every segment pair with intersection, Jaccard and both containments."""
    n = store.profiles.n
    masks = {}
    for s in store.segments:
        m = np.zeros(n, dtype=bool)
        m[s.members] = True
        masks[s.id] = m
    out = []
    for a, b in combinations(sorted(masks), 2):
        inter = int(np.count_nonzero(masks[a] & masks[b]))
        na, nb = int(masks[a].sum()), int(masks[b].sum())
        union = na + nb - inter
        out.append({"a": a, "b": b, "intersection": inter, "jaccard": inter / union if union else 0.0,
                    "a_in_b": inter / na if na else 0.0, "b_in_a": inter / nb if nb else 0.0})
    return out


def flow_message_rates(store: Store, days: int = 90) -> dict[str, dict]:
    """Recipients and rates per flow message over the last ``days`` days, and its channel peers' pooled rates."""
    m = store.messaging
    window = m.flow_daily[:, :days, :].sum(axis=1)
    out = {}
    for msg in m.flow_messages:
        peers = [p.row for p in m.flow_messages if p.channel == msg.channel and p.id != msg.id]
        pooled = window[peers].sum(axis=0)
        own = window[msg.row]
        rates, peer_rates = {}, {}
        for metric, (num,) in FLOW_METRICS.items():
            rates[metric] = own[S[num]] / own[S["delivered"]] if own[S["delivered"]] else 0.0
            peer_rates[metric] = pooled[S[num]] / pooled[S["delivered"]] if pooled[S["delivered"]] else 0.0
        out[msg.id] = {"channel": msg.channel, "recipients": int(own[S["recipients"]]), "rates": rates,
                       "peer_rates": peer_rates}
    return out


def _looks_bad(row: dict) -> list[str]:
    return [k for k, v in row["rates"].items() if row["peer_rates"][k] > 0 and v <= UNDER_RATIO * row["peer_rates"][k]]


def pair_lifts(store: Store, min_co_orders: int = MIN_CO_ORDERS) -> list[tuple[int, int, int, float]]:
    """(product a, product b, co-orders, lift) for every pair with enough co-orders, by lift descending."""
    o = store.orders
    n_orders = o.n
    if n_orders == 0:
        return []
    k = store.catalog.n
    basket = np.zeros((n_orders, k), dtype=np.float32)
    basket[o.line_order, o.line_product] = 1.0
    co = basket.T @ basket
    support = np.diag(co).copy()
    out = []
    ia, ib = np.triu_indices(k, 1)
    sel = co[ia, ib] >= min_co_orders
    for a, b in zip(ia[sel], ib[sel], strict=True):
        lift = co[a, b] * n_orders / (support[a] * support[b])
        out.append((int(a), int(b), int(co[a, b]), float(lift)))
    out.sort(key=lambda t: -t[3])
    return out


def _channel_totals(store: Store, days: int = 365) -> dict[str, np.ndarray]:
    m = store.messaging
    window = m.campaign_daily[:, :days, :].sum(axis=1)
    return {ch: window[[c.row for c in m.campaigns if c.channel == ch]].sum(axis=0) for ch in ("email", "sms")}


def compute_truth(store: Store) -> dict:
    p = store.profiles
    n = p.n
    overlaps = segment_overlaps(store)
    redundant = sorted([o["a"], o["b"]] for o in overlaps if o["jaccard"] >= REDUNDANT_JACCARD)
    redundant_set = {tuple(x) for x in redundant}
    nested = []
    for o in overlaps:
        if (o["a"], o["b"]) in redundant_set:
            continue
        if o["a_in_b"] >= NESTED_CONTAINMENT:
            nested.append([o["a"], o["b"]])
        if o["b_in_a"] >= NESTED_CONTAINMENT:
            nested.append([o["b"], o["a"]])
    nested.sort()
    tiny = sorted(s.id for s in store.segments if len(s.members) < TINY_SHARE * n)

    rates = flow_message_rates(store, 90)
    year = flow_message_rates(store, DAYS)
    under = sorted(mid for mid, row in rates.items() if row["recipients"] >= MIN_RECIPIENTS and _looks_bad(row))
    decoys = sorted(mid for mid, row in year.items() if row["recipients"] < MIN_RECIPIENTS and _looks_bad(rates[mid]))

    lifts = pair_lifts(store)
    ext = store.catalog.external_ids
    planted = {tuple(sorted((ext[a], ext[b]))) for a, b in store.orders.planted}
    planted_rows = [r for r in lifts if tuple(sorted((ext[r[0]], ext[r[1]]))) in planted]
    top_pairs = [sorted([ext[a], ext[b]]) for a, b, _, _ in planted_rows]

    totals = _channel_totals(store)
    pooled = {}
    for ch, t in totals.items():
        d = t[S["delivered"]]
        pooled[ch] = {"recipients": int(t[S["recipients"]]), "delivered": int(d),
                      "click_rate": t[S["clicks_unique"]] / d, "conversion_rate": t[S["conversion_uniques"]] / d,
                      "revenue_per_recipient": t[S["conversion_value"]] / d}
    winner = {k: ("email" if pooled["email"][k] > pooled["sms"][k] else "sms")
              for k in ("click_rate", "conversion_rate", "revenue_per_recipient")}

    m = store.messaging
    return {
        "seed": store.seed,
        "profiles_total": int(n),
        "profiles_without_predictions": int(np.count_nonzero(~p.has_pred)),
        "segments_total": len(store.segments),
        "redundant_pairs": redundant,
        "nested_pairs": nested,
        "tiny_segments": tiny,
        "flow_messages_total": len(m.flow_messages),
        "underperforming_message_ids": under,
        "underperforming_metric": {k: v for k, v in sorted(m.planted_under.items())},
        "decoy_message_ids": decoys,
        "orders_total": int(store.orders.n),
        "top_pairs": top_pairs,
        "top_pair_stats": [{"pair": sorted([ext[a], ext[b]]), "co_orders": c, "lift": round(lift, 4)}
                           for a, b, c, lift in planted_rows],
        "best_unplanted_lift": next((round(r[3], 4) for r in lifts if r not in planted_rows), None),
        "email_campaigns": sum(c.channel == "email" for c in m.campaigns),
        "sms_campaigns": sum(c.channel == "sms" for c in m.campaigns),
        "winner_by_metric": winner,
        "significant": {k: True for k in winner},
        "channel_pooled_rates": pooled,
        "placed_order_metric_id": store.placed_order.id,
        "ordered_product_metric_id": store.ordered_product.id,
    }
