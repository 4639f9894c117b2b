"""The planted truth holds for several seeds, recomputed here from the data the API serves."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import numpy as np
import pytest
import requests
from scipy.stats import ttest_ind

from sandbox import Sandbox
from sandbox.store import Store, compute_truth
from sandbox.store.messaging import S

SEEDS = [11, 23, 42]
RATES = ["open_rate", "click_rate", "conversion_rate", "revenue_per_recipient"]
NUMERATORS = {"open_rate": "opens_unique", "click_rate": "clicks_unique", "conversion_rate": "conversion_uniques",
              "revenue_per_recipient": "conversion_value"}


@pytest.fixture(scope="module", params=SEEDS)
def served(request, klaviyo_caller):
    with Sandbox(seed=request.param, rate_scale=0) as sb:
        kv = klaviyo_caller(sb)
        truth = requests.get(f"{sb.klaviyo_base_url}/sandbox/truth", timeout=10).json()
        assert truth == sb.truth()
        yield kv, truth


def _report(kv, kind: str, timeframe: dict, statistics: list[str]) -> list[dict]:
    body = {"data": {"type": kind, "attributes": {"statistics": statistics, "timeframe": timeframe,
                                                  "conversion_metric_id": kv.sb.store.placed_order.id}}}
    resp = kv.post(f"/api/{kind}s", body)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["attributes"]["results"]


def test_profiles_without_predictions(served):
    kv, truth = served
    profiles = kv.walk("/api/profiles", {"page[size]": "100", "additional-fields[profile]": "predictive_analytics",
                                         "fields[profile]": "predictive_analytics"}, validate_all=False)
    assert len(profiles) == truth["profiles_total"]
    pa = [p["attributes"]["predictive_analytics"] for p in profiles]
    # Unscored profiles come as null or (seed % 3 == 2) as an object of nulls: both mean "no predictions".
    unscored = [a for a in pa if a is None or all(v is None for v in a.values())]
    assert len(unscored) == truth["profiles_without_predictions"]
    assert all((a is not None) == (truth["seed"] % 3 == 2) for a in unscored)


def test_segment_overlaps(served):
    kv, truth = served
    segs = kv.walk("/api/segments")
    members = {s["id"]: {m["id"] for m in kv.walk(f"/api/segments/{s['id']}/relationships/profiles",
                                                  {"page[size]": "100"}, validate_all=False)} for s in segs}
    n = truth["profiles_total"]
    redundant, nested, margins = [], [], []
    for a, b in combinations(sorted(members), 2):
        inter = len(members[a] & members[b])
        jac = inter / len(members[a] | members[b])
        if jac >= 0.9:
            redundant.append([a, b])
            continue
        for inner, outer in ((a, b), (b, a)):
            cont = inter / len(members[inner])
            if cont >= 0.95:
                nested.append([inner, outer])
            else:
                margins.append(cont)
        if not any(p[0] in (a, b) and p[1] in (a, b) for p in nested):
            assert jac < 0.75, f"unplanned pair {a},{b} has Jaccard {jac:.2f}"
    assert sorted(redundant) == truth["redundant_pairs"] and len(redundant) >= 1
    assert sorted(nested) == truth["nested_pairs"] and len(nested) >= 1
    assert max(margins) < 0.85, "an unplanned pair comes too close to nesting"
    tiny = sorted(s for s, m in members.items() if len(m) < 0.01 * n)
    assert tiny == truth["tiny_segments"] and len(tiny) >= 1
    assert all(len(m) >= 0.03 * n for s, m in members.items() if s not in tiny)


def _flagged(rows: list[dict], min_recipients: int) -> tuple[set, set]:
    """Messages at most 0.75 of the median rate of their own flow's other messages of their channel (those
    reaching `min_recipients`): flows differ by nature, so a message is weak only against its own flow."""
    by_flow = defaultdict(list)
    for r in rows:
        by_flow[(r["groupings"]["flow_id"], r["groupings"]["send_channel"])].append(r)
    bad, small_bad = set(), set()
    for flow_rows in by_flow.values():
        for r in flow_rows:
            peers = [p["statistics"] for p in flow_rows if p is not r and p["statistics"]["recipients"] >= min_recipients]
            if not peers:
                continue
            for rate in RATES:
                median = float(np.median([p[rate] for p in peers]))
                if median > 0 and r["statistics"][rate] <= 0.75 * median:
                    (bad if r["statistics"]["recipients"] >= min_recipients else small_bad).add(
                        r["groupings"]["flow_message_id"])
    return bad, small_bad


def test_underperforming_flow_messages_for_any_window(served):
    kv, truth = served
    stats = ["recipients", "delivered"] + RATES + list(NUMERATORS.values())
    for timeframe in ({"key": "last_90_days"}, {"key": "last_30_days"}, {"key": "last_365_days"}):
        rows = _report(kv, "flow-values-report", timeframe, stats)
        bad, small = _flagged(rows, 500)
        assert sorted(bad) == truth["lagging_message_ids"], timeframe
        assert set(truth["decoy_message_ids"]) <= small
        recipients = {r["groupings"]["flow_message_id"]: r["statistics"]["recipients"] for r in rows}
        assert all(recipients[d] < 500 for d in truth["decoy_message_ids"])
    # Flows differ by nature, messages of one flow do not: normal messages sit within +-10 % of their own
    # flow's other normal messages on every rate, while flows' rates differ far more than that.
    rows = _report(kv, "flow-values-report", {"key": "last_90_days"}, stats)
    planted = set(truth["underperforming_message_ids"]) | set(truth["decoy_message_ids"])
    assert set(truth["underperforming_message_ids"]) == set(truth["lagging_message_ids"]) | set(truth["declined_message_ids"])
    flow_rates = defaultdict(list)
    for channel in ("email", "sms"):
        by_flow = defaultdict(list)
        for r in rows:
            if r["groupings"]["send_channel"] == channel and r["groupings"]["flow_message_id"] not in planted:
                by_flow[r["groupings"]["flow_id"]].append(r["statistics"])
        for flow, normal in by_flow.items():
            for rate in RATES:
                pooled = sum(s[NUMERATORS[rate]] for s in normal) / sum(s["delivered"] for s in normal)
                if pooled:
                    assert all(abs(s[rate] / pooled - 1) <= 0.10 for s in normal), (channel, flow, rate)
                    if channel == "email":
                        flow_rates[rate].append(pooled)
    assert max(flow_rates["conversion_rate"]) > 3 * min(flow_rates["conversion_rate"])


def _series(kv, timeframe: dict, statistics: list[str], interval: str = "weekly") -> dict:
    body = {"data": {"type": "flow-series-report", "attributes": {
        "statistics": statistics, "timeframe": timeframe, "interval": interval,
        "conversion_metric_id": kv.sb.store.placed_order.id}}}
    resp = kv.post("/api/flow-series-reports", body)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["attributes"]


def test_declined_message_from_the_flow_series(served):
    """The declined message: over the last 90 days at most 0.75 of its own rate in the year's earlier weeks, on
    its planted metric, yet inside its flow (above 0.75 of its flow-mates' median); no other message moved."""
    kv, truth = served
    stats = ["recipients", "delivered", *NUMERATORS.values()]
    series = _series(kv, {"key": "last_365_days"}, stats)
    split = len(series["date_times"]) - 13  # the last 13 weekly steps: about the last 90 days
    declined = set()
    for r in series["results"]:
        s = {k: np.asarray(v) for k, v in r["statistics"].items()}
        if min(s["recipients"][:split].sum(), s["recipients"][split:].sum()) < 500:
            continue
        for num in NUMERATORS.values():
            before = s[num][:split].sum() / s["delivered"][:split].sum()
            now = s[num][split:].sum() / s["delivered"][split:].sum()
            if before > 0 and now <= 0.75 * before:
                declined.add(r["groupings"]["flow_message_id"])
    assert sorted(declined) == truth["declined_message_ids"] and len(declined) == 1
    rows = _report(kv, "flow-values-report", {"key": "last_90_days"}, ["recipients", "delivered"] + RATES)
    bad, _ = _flagged(rows, 500)
    assert not declined & bad  # its peers alone would not flag it
    assert list(truth["declined_metric"].values())[0] in RATES


def test_top_product_pairs_by_lift(served):
    kv, truth = served
    metric = kv.sb.store.placed_order.id
    events = kv.walk("/api/events", {"filter": f'equals(metric_id,"{metric}")', "page[size]": "1000",
                                     "fields[event]": "event_properties"}, validate_all=False)
    assert len(events) == truth["orders_total"]
    baskets = [sorted({i["ProductID"] for i in e["attributes"]["event_properties"]["Items"]}) for e in events]
    n = len(baskets)
    support, co = defaultdict(int), defaultdict(int)
    for b in baskets:
        for p in b:
            support[p] += 1
        for pair in combinations(b, 2):
            co[pair] += 1
    lifts = sorted(((c * n / (support[a] * support[b]), [a, b]) for (a, b), c in co.items() if c >= 20), reverse=True)
    k = len(truth["top_pairs"])
    assert k >= 4
    assert [pair for _, pair in lifts[:k]] == truth["top_pairs"]
    planted = [lift for lift, _ in lifts[:k]]
    assert all(hi / lo >= 1.2 for hi, lo in zip(planted, planted[1:], strict=False)), planted
    natural = [lift for lift, pair in lifts[k:] if pair not in truth["decoy_pairs"]]
    assert planted[-1] >= 2 * natural[0], "a natural pair comes too close to the weakest planted pair"
    # The decoy: past notebook 04's thresholds (>= 20 co-orders, lift >= 2), yet chance among all pairs.
    (decoy,) = truth["decoy_pairs"]
    stats = next(s for s in truth["decoy_pair_stats"] if s["pair"] == decoy)
    a, b = decoy
    assert co[(a, b)] == stats["co_orders"] >= 20
    assert 2.0 <= co[(a, b)] * n / (support[a] * support[b]) == pytest.approx(stats["lift"], rel=1e-4)
    p = _pair_p_values(co, support, n)
    adjusted = _bh(p, len(support) * (len(support) - 1) // 2)
    assert adjusted[(a, b)] == pytest.approx(stats["p_adjusted"], rel=1e-6) and adjusted[(a, b)] >= 0.2
    assert all(adjusted[tuple(pair)] < 1e-20 for pair in truth["top_pairs"])
    assert truth["top_pair_p_adjusted"] == pytest.approx([adjusted[tuple(p)] for p in truth["top_pairs"]], rel=1e-6)


def _pair_p_values(co: dict, support: dict, n: int) -> dict:
    """One-sided Fisher exact p of every co-bought pair: P(X >= co), X hypergeometric."""
    from scipy.stats import hypergeom

    return {pair: float(hypergeom.sf(c - 1, n, support[pair[0]], support[pair[1]])) for pair, c in co.items()}


def _bh(p: dict, m: int) -> dict:
    """Benjamini-Hochberg over a family of m tests (the pairs never bought together have p = 1)."""
    ranked = sorted(p, key=p.get)
    out, running = {}, 1.0
    for i in range(len(ranked) - 1, -1, -1):
        running = min(running, p[ranked[i]] * m / (i + 1))
        out[ranked[i]] = min(running, 1.0)
    return out


def _campaigns(kv, channel: str) -> list[dict]:
    return kv.walk("/api/campaigns", {"filter": f"equals(messages.channel,'{channel}')"}, validate_all=False)


def test_same_offer_campaigns_pair_only_within_the_window(served):
    kv, truth = served
    from datetime import datetime

    def when(c):
        return datetime.fromisoformat(c["attributes"]["send_time"]).timestamp()

    email = {c["attributes"]["name"]: c for c in _campaigns(kv, "email")}
    pairs, apart = [], []
    for s in _campaigns(kv, "sms"):
        e = email.get(s["attributes"]["name"].removesuffix(" (SMS)"))
        if e:
            days = abs(when(s) - when(e)) / 86400
            (pairs if days <= truth["pair_window_days"] else apart).append((when(e), [e["id"], s["id"]], days))
    assert [p for _, p, _ in sorted(pairs)] == truth["paired_campaigns"]
    assert sorted(p for _, p, _ in apart) == [a["pair"] for a in truth["same_name_apart"]]
    assert len(pairs) >= 6 and any(d > 1 for *_, d in pairs)  # time-matched, not only same-day
    assert any(d > 30 for *_, d in apart) and any(7 < d < 10 for *_, d in apart)  # far, and just outside


def test_channel_factors_from_campaign_report(served):
    kv, truth = served
    stats = ["delivered", "conversion_uniques", "conversion_value", "unsubscribe_uniques"]
    rows = _report(kv, "campaign-values-report", {"key": "last_365_days"}, stats)
    t = {ch: {s: sum(r["statistics"][s] for r in rows if r["groupings"]["send_channel"] == ch) for s in stats}
         for ch in ("email", "sms")}
    aov = {ch: v["conversion_value"] / v["conversion_uniques"] for ch, v in t.items()}
    assert aov == pytest.approx(truth["aov_by_channel"], rel=1e-9)
    rpr = {ch: v["conversion_value"] / v["delivered"] for ch, v in t.items()}
    rate = {ch: v["conversion_uniques"] / v["delivered"] for ch, v in t.items()}
    gap = np.log(rpr["sms"] / rpr["email"])
    shares = {"conversion_rate": np.log(rate["sms"] / rate["email"]) / gap,
              "average_order_value": np.log(aov["sms"] / aov["email"]) / gap}
    assert max(shares, key=shares.get) == truth["revenue_driver"]
    assert max(shares.values()) >= 0.6  # one factor clearly drives the gap (order values are drawn, so not all)
    assert truth["revenue_leader"] == truth["winner_by_metric"]["revenue_per_recipient"]
    unsub = {ch: v["unsubscribe_uniques"] / v["delivered"] for ch, v in t.items()}
    assert unsub == pytest.approx(truth["unsubscribe_rate_by_channel"], rel=1e-9)
    assert truth["unsubscribe_significant"] and unsub["sms"] > 1.5 * unsub["email"]


LIVE_CAMPAIGNS = {"Draft", "Scheduled", "Preparing to schedule", "Preparing to send", "Adding Recipients", "Sending",
                  "Sending Segments", "Queued without Recipients"}


def _campaign_uses(kv, uses: dict) -> set[str]:
    """Audiences (included and excluded) of every campaign still to send, of every channel; the statuses seen."""
    statuses = set()
    for channel in ("email", "sms", "mobile_push"):
        for c in _campaigns(kv, channel):
            statuses.add(c["attributes"]["status"])
            if c["attributes"]["status"] in LIVE_CAMPAIGNS:
                audiences = c["attributes"]["audiences"]
                for seg in audiences["included"] + audiences["excluded"]:
                    uses.setdefault(seg, set()).add(c["id"])
    return statuses


def _flow_uses(kv, uses: dict) -> None:
    """Segment triggers and membership filters of every live flow, read from its definition."""
    for f in kv.walk("/api/flows"):
        attrs = kv.get(f"/api/flows/{f['id']}", {"additional-fields[flow]": "definition",
                                                  "fields[flow]": "status,definition"}).json()["data"]["attributes"]
        if attrs["status"] != "live":
            continue
        segments = [t["id"] for t in attrs["definition"]["triggers"] if t["type"] == "segment"]
        segments += [seg for group in (attrs["definition"]["profile_filter"] or {}).get("condition_groups", [])
                     for cond in group["conditions"] if cond["type"] == "profile-group-membership"
                     for seg in cond["group_ids"]]
        for seg in segments:
            uses.setdefault(seg, set()).add(f["id"])


def test_segment_uses_from_campaign_audiences_and_flow_definitions(served):
    kv, truth = served
    uses: dict[str, set] = {}
    assert {"Sent", "Scheduled", "Cancelled"} <= _campaign_uses(kv, uses)
    _flow_uses(kv, uses)
    assert {s: sorted(ids) for s, ids in sorted(uses.items())} == truth["segment_uses"]
    kept = truth["kept_in_use"]
    assert kept and set(kept) <= set(truth["tiny_segments"]) and all(kept[s] == truth["segment_uses"][s] for s in kept)
    users = [u for s in kept for u in kept[s]]
    assert any(len(u) == 26 for u in users) and any(len(u) == 6 for u in users)  # a campaign and a flow
    assert truth["retired_segments"] and not set(truth["retired_segments"]) & set(kept)
    assert sorted(truth["retired_segments"] + list(kept)) == truth["tiny_segments"]


def test_channel_winners_from_campaign_report(served):
    kv, truth = served
    stats = ["recipients", "delivered", "clicks_unique", "conversion_uniques", "conversion_value", "unsubscribe_uniques"]
    rows = _report(kv, "campaign-values-report", {"key": "last_365_days"}, stats)
    totals = {ch: np.sum([[r["statistics"][s] for s in stats] for r in rows if r["groupings"]["send_channel"] == ch],
                         axis=0) for ch in ("email", "sms")}
    assert len([r for r in rows if r["groupings"]["send_channel"] == "email"]) == truth["email_campaigns"]
    for metric, num in (("click_rate", 2), ("conversion_rate", 3), ("revenue_per_recipient", 4)):
        rate = {ch: t[num] / t[1] for ch, t in totals.items()}
        winner = max(rate, key=rate.get)
        assert winner == truth["winner_by_metric"][metric]
        assert rate[winner] >= 1.2 * min(rate.values()), f"{metric}: effect too small to be real"
    # Campaign-level Welch t per metric (each campaign one observation), Holm over the four.
    by_campaign = defaultdict(lambda: np.zeros(len(stats)))
    for r in rows:
        key = (r["groupings"]["campaign_id"], r["groupings"]["send_channel"])
        by_campaign[key] += [r["statistics"][s] for s in stats]
    p = {}
    for metric, num in (("click_rate", 2), ("conversion_rate", 3), ("unsubscribe_rate", 5), ("revenue_per_recipient", 4)):
        per = {ch: [v[num] / v[1] for (_, c), v in by_campaign.items() if c == ch and v[1] > 0] for ch in ("email", "sms")}
        p[metric] = float(ttest_ind(per["sms"], per["email"], equal_var=False).pvalue)
    adjusted = _holm(p)
    for metric in truth["significant"]:
        assert p[metric] == pytest.approx(truth["significance_p_values"][metric], rel=1e-6, abs=1e-300)
        assert adjusted[metric] < 0.05, f"{metric}: planted effect not significant for seed {truth['seed']}"
        assert truth["significant"][metric] is True


def _holm(p: dict[str, float]) -> dict[str, float]:
    order = sorted(p, key=p.get)
    return {k: max(min(1.0, p[j] * (len(p) - i)) for i, j in enumerate(order[: order.index(k) + 1]))
            for k in p}


def test_null_channel_effect_is_not_significant():
    """With every SMS campaign given the email campaigns' average rates there is nothing to find: the truth
    (campaign-level tests) must say so."""
    store = Store(seed=11, profiles=2000)
    daily = store.messaging.campaign_daily
    rows = {ch: [c.row for c in store.messaging.campaigns if c.channel == ch] for ch in ("email", "sms")}
    year = daily[rows["email"]].sum(axis=1)
    for num in ("clicks_unique", "conversion_uniques", "conversion_value", "unsubscribes"):
        mean_rate = float(np.mean(year[:, S[num]] / year[:, S["delivered"]]))
        daily[rows["sms"], :, S[num]] = daily[rows["sms"], :, S["delivered"]] * mean_rate
    truth = compute_truth(store)
    assert truth["significant"] == {k: False for k in truth["winner_by_metric"]}
    assert all(p > 0.5 for p in truth["significance_p_values"].values())


def test_reports_sum_consistently_over_custom_ranges(served):
    kv, _ = served
    from sandbox.klaviyo.render import iso

    t = kv.sb.store.t_end
    whole = _report(kv, "flow-values-report", {"start": iso(t - 60 * 86400), "end": iso(t - 1)}, ["recipients"])
    first = _report(kv, "flow-values-report", {"start": iso(t - 60 * 86400), "end": iso(t - 30 * 86400 - 1)},
                    ["recipients"])
    second = _report(kv, "flow-values-report", {"start": iso(t - 30 * 86400), "end": iso(t - 1)}, ["recipients"])
    total = sum(r["statistics"]["recipients"] for r in whole)
    assert total == sum(r["statistics"]["recipients"] for r in first + second) > 0
