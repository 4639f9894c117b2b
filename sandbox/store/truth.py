"""Planted ground truth, recomputed from the generated data with the definitions in docs/internals.md.

Where a fact is planted (segment design, weak flow messages, product pairs, channel winners) the value
here is still measured on the data the sandbox serves, so the truth and the API can never disagree.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.stats import hypergeom, ttest_ind

from ..mavera.mave import planted_retirement
from .btyd import PROCESS
from .commerce import HISTORY_DAYS
from .messaging import DAY, DAYS, S
from .shop import Store

REDUNDANT_JACCARD = 0.9
NESTED_CONTAINMENT = 0.95
TINY_SHARE = 0.01
UNDER_RATIO = 0.75
MIN_RECIPIENTS = 500
MIN_CO_ORDERS = 20
SIGNIFICANCE_ALPHA = 0.05
# Order-value spread assumed by the revenue-per-recipient test: reports give totals, not order values.
ORDER_VALUE_CV = 1.0
PAIR_WINDOW_DAYS = 7
# Campaign statuses that still read their audience when they send (a sent or cancelled one never will).
LIVE_CAMPAIGN_STATUSES = {"Draft", "Scheduled", "Preparing to schedule", "Preparing to send", "Adding Recipients",
                          "Sending", "Sending Segments", "Queued without Recipients"}
LIVE_FLOW_STATUSES = {"live", "manual"}
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
    """Recipients and rates per flow message over the last ``days`` days, and its peers' rates: the median of
    the other messages of its channel in its own flow that reach ``MIN_RECIPIENTS`` (flows differ by nature,
    so a message is weak only against its own flow)."""
    m = store.messaging
    window = m.flow_daily[:, :days, :].sum(axis=1)

    def rates_of(row: np.ndarray) -> dict[str, float]:
        d = row[S["delivered"]]
        return {metric: row[S[num]] / d if d else 0.0 for metric, (num,) in FLOW_METRICS.items()}

    out = {}
    for msg in m.flow_messages:
        peers = [p.row for p in m.flow_messages if p.channel == msg.channel and p.id != msg.id
                 and p.flow_index == msg.flow_index and window[p.row][S["recipients"]] >= MIN_RECIPIENTS]
        own = window[msg.row]
        peer_rates = {metric: float(np.median([rates_of(window[r])[metric] for r in peers])) if peers else 0.0
                      for metric in FLOW_METRICS}
        out[msg.id] = {"channel": msg.channel, "recipients": int(own[S["recipients"]]), "rates": rates_of(own),
                       "peer_rates": peer_rates}
    return out


def declined_messages(store: Store, recent_days: int = 90) -> list[str]:
    """Messages whose rate over the last ``recent_days`` days is at most ``UNDER_RATIO`` of their own rate over
    the rest of the year, on some metric, with ``MIN_RECIPIENTS`` in both periods: weaker than their own past,
    whatever their flow-mates do (flow-series reports show it; a flow-values report of the period does not)."""
    m = store.messaging
    recent = m.flow_daily[:, :recent_days, :].sum(axis=1)
    earlier = m.flow_daily[:, recent_days:, :].sum(axis=1)
    out = []
    for msg in m.flow_messages:
        now, before = recent[msg.row], earlier[msg.row]
        if min(now[S["recipients"]], before[S["recipients"]]) < MIN_RECIPIENTS:
            continue
        for (num,) in FLOW_METRICS.values():
            old = before[S[num]] / before[S["delivered"]]
            if old > 0 and now[S[num]] / now[S["delivered"]] <= UNDER_RATIO * old:
                out.append(msg.id)
                break
    return sorted(out)


def _looks_bad(row: dict) -> list[str]:
    if row["recipients"] <= 0:  # a message that sent nothing has no rate to look bad on
        return []
    return [k for k, v in row["rates"].items() if row["peer_rates"][k] > 0 and v <= UNDER_RATIO * row["peer_rates"][k]]


def _customers(store: Store) -> dict:
    p, ordered = store.profiles, store.orders.per_profile > 0
    scored_buyers = p.has_pred & (p.hist_orders > 0)
    modelled = ~p.has_pred & ordered
    return {"customers_with_orders": int((scored_buyers | modelled).sum()), "profiles_modelled": int(modelled.sum()),
            "prospects": int(((p.has_pred & (p.hist_orders == 0)) | (~p.has_pred & ~ordered)).sum())}


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


def pair_significance(store: Store) -> dict[tuple[int, int], tuple[float, float]]:
    """(one-sided Fisher exact p, Benjamini–Hochberg p) of every product pair bought together at least once.

    P(co-orders ≥ observed) under independence is hypergeometric; the family is every pair of the products
    that appear in any order (pairs never bought together have p = 1 and only raise the multiplier).
    """
    o = store.orders
    k, n = store.catalog.n, o.n
    basket = np.zeros((n, k), dtype=np.float32)
    basket[o.line_order, o.line_product] = 1.0
    co = (basket.T @ basket).astype(np.int64)
    support = np.diag(co).copy()
    ia, ib = np.triu_indices(k, 1)
    seen = co[ia, ib] > 0
    ia, ib = ia[seen], ib[seen]
    p = np.clip(hypergeom.sf(co[ia, ib] - 1, n, support[ia], support[ib]), 0.0, 1.0)
    products = int((support > 0).sum())
    m = max(products * (products - 1) // 2, len(p))
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, len(p) + 1)
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return {(int(a), int(b)): (float(pv), float(q)) for a, b, pv, q in zip(ia, ib, p, adjusted, strict=True)}


def campaign_pairs(store: Store, window_days: float = PAIR_WINDOW_DAYS) -> tuple[list, list]:
    """(paired, apart): same-offer email and SMS campaigns sent within ``window_days`` of each other, as
    [email id, sms id] by email send time, and the same-offer ones sent further apart, with their gap."""
    m = store.messaging
    email = {c.offer: c for c in m.campaigns if c.channel == "email"}
    paired, apart = [], []
    for c in m.campaigns:
        e = email.get(c.offer) if c.channel == "sms" else None
        if e is None:
            continue
        gap = abs(c.send_time - e.send_time) / DAY
        if gap <= window_days:
            paired.append((e.send_time, [e.id, c.id]))
        else:
            apart.append({"pair": [e.id, c.id], "offer": c.offer, "days_apart": round(gap, 2)})
    return [p for _, p in sorted(paired)], sorted(apart, key=lambda a: a["pair"])


def segment_uses(store: Store) -> dict[str, list[str]]:
    """{segment id: [ids of the live campaigns and flows that use it]}: audiences included and excluded,
    flow triggers and flow profile filters (membership)."""
    m = store.messaging
    uses: dict[str, set[str]] = {}
    for c in m.all_campaigns:
        if c.status in LIVE_CAMPAIGN_STATUSES:
            for seg in (c.audience, *c.excluded):
                uses.setdefault(seg, set()).add(c.id)
    for f in m.flows:
        if f.status in LIVE_FLOW_STATUSES:
            for seg in _flow_segments(f):
                uses.setdefault(seg, set()).add(f.id)
    return {seg: sorted(ids) for seg, ids in sorted(uses.items())}


def _flow_segments(flow) -> list[str]:
    """The segments a flow uses: its trigger if a segment, and those its profile filter requires membership of."""
    segments = [flow.trigger["id"]] if flow.trigger and flow.trigger.get("type") == "segment" else []
    for group in (flow.profile_filter or {}).get("condition_groups", []):
        for cond in group["conditions"]:
            if cond.get("type") == "profile-group-membership":
                segments.extend(cond["group_ids"])
    return segments


def channel_factors(totals: dict[str, np.ndarray]) -> dict:
    """Revenue per recipient = conversion rate × average order value per channel, and which factor drives
    the gap: each factor's share of log(RPR_sms / RPR_email), the larger share being the driver."""
    rate = {ch: t[S["conversion_uniques"]] / t[S["delivered"]] for ch, t in totals.items()}
    aov = {ch: t[S["conversion_value"]] / t[S["conversion_uniques"]] for ch, t in totals.items()}
    rpr = {ch: t[S["conversion_value"]] / t[S["delivered"]] for ch, t in totals.items()}
    total = np.log(rpr["sms"] / rpr["email"])
    shares = {"conversion_rate": float(np.log(rate["sms"] / rate["email"]) / total),
              "average_order_value": float(np.log(aov["sms"] / aov["email"]) / total)}
    return {"aov_by_channel": {ch: float(v) for ch, v in aov.items()},
            "revenue_leader": "sms" if total > 0 else "email",
            "revenue_driver": max(shares, key=shares.get), "revenue_driver_shares": shares}


def _channel_totals(store: Store, days: int = 365) -> dict[str, np.ndarray]:
    m = store.messaging
    window = m.campaign_daily[:, :days, :].sum(axis=1)
    return {ch: window[[c.row for c in m.campaigns if c.channel == ch]].sum(axis=0) for ch in ("email", "sms")}


def _holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm step-down adjusted p-values (monotone, capped at 1)."""
    order = sorted(p_values, key=p_values.get)
    m, running, out = len(order), 0.0, {}
    for i, key in enumerate(order):
        running = max(running, min(1.0, p_values[key] * (m - i)))
        out[key] = running
    return out


def channel_tests(store: Store) -> dict[str, dict[str, float]]:
    """SMS vs email p-values per metric at the campaign level, raw and Holm-adjusted.

    The family is the four channel questions notebook 05 asks at once (click, conversion, unsubscribe
    rate, revenue per recipient), every rate per delivered message. Each campaign is one observation
    (campaigns differ from each other: CAMPAIGN_SPREAD), and SMS − email is Welch's t on the campaigns'
    rates. Written here with scipy alone so the truth never depends on the analysis code it grades.
    """
    m = store.messaging
    year = m.campaign_daily.sum(axis=1)
    raw = {}
    for metric, num in (("click_rate", "clicks_unique"), ("conversion_rate", "conversion_uniques"),
                        ("unsubscribe_rate", "unsubscribes"), ("revenue_per_recipient", "conversion_value")):
        per = {ch: [year[c.row][S[num]] / year[c.row][S["delivered"]] for c in m.campaigns
                    if c.channel == ch and year[c.row][S["delivered"]] > 0] for ch in ("email", "sms")}
        raw[metric] = float(ttest_ind(per["sms"], per["email"], equal_var=False).pvalue)
    return {"p_value": raw, "p_adjusted": _holm(raw)}


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
    declined = declined_messages(store)
    decoys = sorted(mid for mid, row in year.items() if row["recipients"] < MIN_RECIPIENTS and _looks_bad(rates[mid]))

    lifts = pair_lifts(store)
    ext = store.catalog.external_ids
    planted = {tuple(sorted((ext[a], ext[b]))) for a, b in store.orders.planted}
    planted_rows = [r for r in lifts if tuple(sorted((ext[r[0]], ext[r[1]]))) in planted]
    top_pairs = [sorted([ext[a], ext[b]]) for a, b, _, _ in planted_rows]

    significance = pair_significance(store)
    decoy = store.orders.decoy
    decoy_rows = [r for r in lifts if decoy and (r[0], r[1]) == decoy]
    paired, apart = campaign_pairs(store)

    name_of = {seg.id: seg.name for seg in store.segments}
    uses = segment_uses(store)
    dropped = set()
    size = {seg.id: len(seg.members) for seg in store.segments}
    for a, b in redundant:  # the plan merges the smaller of a redundant pair (ties: the larger id goes)
        dropped.add(sorted((a, b), key=lambda x: (-size[x], x))[1])
    would_retire = [t for t in tiny if t not in dropped]
    kept_in_use = {t: uses[t] for t in would_retire if t in uses}
    outers: dict[str, set[str]] = {}
    for inner, outer in nested:
        outers.setdefault(inner, set()).add(outer)
    flagged = set(tiny) | {x for pair in redundant + nested for x in pair}
    wrong = planted_retirement(store.seed, [name_of[sid] for sid in name_of if sid not in flagged])
    planted_mave = next((sid for sid, nm in name_of.items() if nm == wrong), None)

    totals = _channel_totals(store)
    pooled = {}
    for ch, t in totals.items():
        d = t[S["delivered"]]
        pooled[ch] = {"recipients": int(t[S["recipients"]]), "delivered": int(d),
                      "click_rate": t[S["clicks_unique"]] / d, "conversion_rate": t[S["conversion_uniques"]] / d,
                      "revenue_per_recipient": t[S["conversion_value"]] / d}
    winner = {k: ("email" if pooled["email"][k] > pooled["sms"][k] else "sms")
              for k in ("click_rate", "conversion_rate", "revenue_per_recipient")}
    tests = channel_tests(store)

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
        # What notebook 02 must flag over its default 90 days: messages lagging their own flow, and the one
        # that declined against its own earlier period (in its flow's limits, found from the flow series).
        "underperforming_message_ids": sorted(set(under) | set(declined)),
        "underperforming_metric": dict(sorted({**m.planted_under, **m.planted_declined}.items())),
        "lagging_message_ids": under,
        "declined_message_ids": declined,
        "declined_metric": dict(sorted(m.planted_declined.items())),
        "decoy_message_ids": decoys,
        "orders_total": int(store.orders.n),
        # Who orders when (store/btyd.py): the parameters a fitted buy-till-you-die model must find again;
        # "exact" is false when a very large store thinned its orders (the parameters then no longer hold).
        "btyd": {**PROCESS.truth(), "history_days": HISTORY_DAYS, "buyers": int((store.orders.per_profile > 0).sum()),
                 "exact": bool(store.orders.exact)},
        "predictions": bool(store.predictions),
        # Job 01 with predictions="auto": Klaviyo's customers are the scored profiles with an order; the profiles
        # without predictions who ordered within the history are modelled; the rest never ordered (prospects).
        **_customers(store),
        "top_pairs": top_pairs,
        "top_pair_stats": [{"pair": sorted([ext[a], ext[b]]), "co_orders": c, "lift": round(lift, 4)}
                           for a, b, c, lift in planted_rows],
        "best_unplanted_lift": next((round(r[3], 4) for r in lifts if r not in planted_rows), None),
        "best_natural_lift": next((round(r[3], 4) for r in lifts if r not in planted_rows and r not in decoy_rows),
                                  None),
        "email_campaigns": sum(c.channel == "email" for c in m.campaigns),
        "sms_campaigns": sum(c.channel == "sms" for c in m.campaigns),
        "winner_by_metric": winner,
        "significant": {k: bool(tests["p_adjusted"][k] < SIGNIFICANCE_ALPHA) for k in winner},
        "significance_p_values": {k: float(tests["p_value"][k]) for k in winner},
        "significance_p_adjusted": {k: float(tests["p_adjusted"][k]) for k in winner},
        "channel_pooled_rates": pooled,
        **channel_factors(totals),
        "unsubscribe_rate_by_channel": {ch: float(t[S["unsubscribes"]] / t[S["delivered"]]) for ch, t in totals.items()},
        "unsubscribe_significant": bool(tests["p_adjusted"]["unsubscribe_rate"] < SIGNIFICANCE_ALPHA),
        "pair_window_days": PAIR_WINDOW_DAYS,
        "paired_campaigns": paired,
        "same_name_apart": apart,
        "top_pair_p_adjusted": [significance[(a, b)][1] for a, b, _, _ in planted_rows],
        "decoy_pairs": [sorted([ext[a], ext[b]]) for a, b, _, _ in decoy_rows],
        "decoy_pair_stats": [{"pair": sorted([ext[a], ext[b]]), "co_orders": c, "lift": round(lift, 4),
                              "p_value": significance[(a, b)][0], "p_adjusted": significance[(a, b)][1]}
                             for a, b, c, lift in decoy_rows],
        "segment_uses": uses,
        "kept_in_use": kept_in_use,
        "retired_segments": sorted(t for t in would_retire if t not in kept_in_use),
        "mave_several_targets": sorted(i for i, o in outers.items() if len(o) >= 2),
        "mave_planted_retirement": planted_mave,
        "mave_disagreements": len([i for i, o in outers.items() if len(o) >= 2]) + len(kept_in_use)
        + (planted_mave is not None),
        "placed_order_metric_id": store.placed_order.id,
        "ordered_product_metric_id": store.ordered_product.id,
    }
