"""Klaviyo fetch benchmarks (``make bench``): how close the client gets to what the rate limits allow.

For (a) every profile with predictive analytics and (b) every member id of every segment, against the
sandbox with Klaviyo's real limits scaled by one factor and an added latency, it measures seconds taken,
the least time the sandbox's fixed windows allow for the fewest requests that can return the records
(one per page of 100, the same for both clients: ``bound_seconds``, from
``sandbox.klaviyo.limits.min_seconds`` per bucket, plus one round trip), ``efficiency = bound / seconds``
and the 429s the sandbox counted during the case, for this client and for a baseline written the way
Klaviyo's cookbook does it (plain requests, follow ``links.next``, sleep on 429). The sandbox runs in a
child process so its work does not compete with the clients for one GIL. Each case starts at a fresh
minute so the cases do not share a steady window. Then it times turning 1,000,000 JSON:API profiles into the notebook 01
frame and reports peak memory, and measures one kernel's peak memory when jobs 01 and 03 run through the runner
against a sandbox of 1,000,000 profiles (``tools/bench_memory.py``). Writes ``outputs/bench/klaviyo_fetch.json``
(the memory case under ``kernel_memory``) and prints a table.

    python -m tools.bench [--profiles 20000] [--rate-scale 1] [--latency-ms 150] [--frame-rows 1000000]
                            [--memory-profiles 1000000] [--memory-jobs 1,3] [--only memory]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import requests

from helpers.config import KlaviyoSettings, project_root
from helpers.http import ratelimits
from helpers.http.ratelimits import Limit
from sandbox.process import SandboxProcess


def limit_of_bucket(bucket: str) -> Limit:
    """The unscaled limit of a bucket name as produced by ``ratelimits.limit_for``."""
    op_key, _, cond = bucket.partition("#")
    op = ratelimits._table()["operations"][op_key]
    for c in op["conditional"]:
        if c["value"] == cond:
            return Limit(bucket, c["burst"], c["steady"], op["daily"])
    return Limit(bucket, op["burst"], op["steady"], op["daily"])


PAGE_SIZE = 100  # the largest page[size] of both endpoints measured (official spec)
PROFILES_PARAMS = {"page[size]": PAGE_SIZE, "additional-fields[profile]": "predictive_analytics,subscriptions"}
MEMBERS_PATH = "/api/segments/{id}/relationships/profiles"


def least_requests(case: str, sizes: list[int]) -> dict[str, int]:
    """Fewest requests per bucket that can return these records: one per full or partial page.

    ``sizes`` is the record count of each listing walked (one for profiles, one per segment); an empty
    listing still takes one request. The same for every client, so the bound does not reward extra requests.
    """
    if case.startswith("a_"):
        lim = ratelimits.limit_for("GET", "/api/profiles", PROFILES_PARAMS)
    else:
        lim = ratelimits.limit_for("GET", MEMBERS_PATH.format(id="x"), {"page[size]": PAGE_SIZE})
    return {lim.bucket: sum(max(1, math.ceil(n / PAGE_SIZE)) for n in sizes)}


def bound_seconds(by_bucket: dict[str, int], scale: float, t0: float, latency: float) -> float:
    """Least time the sandbox's windows allow for these requests: buckets run in parallel, plus one round trip."""
    from sandbox.klaviyo.limits import min_seconds

    worst = 0.0
    for bucket, n in by_bucket.items():
        if bucket == "-" or n <= 0:
            continue
        worst = max(worst, min_seconds(n, limit_of_bucket(bucket).scaled(scale), t0))
    return worst + latency


def wait_for_fresh_minute() -> float:
    """Sleep to just after the next minute boundary so a case does not inherit the previous one's window."""
    now = time.time()
    time.sleep(math.floor(now / 60) * 60 + 60.05 - now)
    return time.time()


class Cookbook:
    """The baseline: one requests.Session, follow links.next, sleep Retry-After on 429."""

    def __init__(self, base_url: str, api_key: str, revision: str):
        self.base = base_url
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Klaviyo-API-Key {api_key}", "revision": revision,
                                     "accept": "application/vnd.api+json"})
        self.by_bucket: Counter[str] = Counter()

    def fetch_all(self, path: str, params: dict[str, Any]) -> list[dict]:
        url: str | None = self.base + path
        out: list[dict] = []
        while url:
            lim = ratelimits.limit_for("GET", url, params)
            r = self.session.get(url, params=params, timeout=120)
            self.by_bucket[lim.bucket if lim else "-"] += 1
            if r.status_code == 429:
                time.sleep(float(r.headers.get("Retry-After") or 1))
                continue
            r.raise_for_status()
            doc = r.json()
            out.extend(doc["data"])
            url, params = (doc.get("links") or {}).get("next"), None
        return out


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the sandbox counted during one case (its stats are totals since it started)."""
    requests_by_bucket = {b: n - before["requests"].get(b, 0) for b, n in after["requests"].items()}
    return {"requests": {b: n for b, n in requests_by_bucket.items() if n},
            "throttled": after["throttled"] - before["throttled"], "faults": after["faults"] - before["faults"]}


def run_case(name: str, who: str, fn, scale: float, latency: float, sandbox: SandboxProcess) -> dict[str, Any]:
    t0 = wait_for_fresh_minute()
    before = sandbox.stats()
    sizes, by_bucket = fn()
    seconds = time.time() - t0
    seen = stats_delta(before, sandbox.stats())
    least = least_requests(name, sizes)
    bound = bound_seconds(least, scale, t0, latency)
    records = sum(sizes)
    row = {"case": name, "client": who, "records": records, "requests": sum(by_bucket.values()),
           "least_requests": sum(least.values()), "by_bucket": dict(by_bucket), "seconds": round(seconds, 2),
           "bound_seconds": round(bound, 2), "efficiency": round(bound / seconds, 3) if seconds else None,
           "throttled_429": seen["throttled"], "sandbox": seen}
    print(f"  {name:<22} {who:<9} records={records:<7} requests={row['requests']:<5} least={row['least_requests']:<5} "
          f"seconds={row['seconds']:<7} bound={row['bound_seconds']:<7} eff={row['efficiency']:<6} "
          f"429s={seen['throttled']}", flush=True)
    return row


def fetch_benchmarks(profiles: int, scale: float, latency_ms: int, seed: int,
                     only: set[str] | None = None) -> list[dict[str, Any]]:
    from helpers.klaviyo import KlaviyoClient

    latency = latency_ms / 1000
    rows = []
    with SandboxProcess(seed=seed, profiles=profiles, rate_scale=scale, latency_ms=latency_ms) as sb:
        settings = KlaviyoSettings(api_key=sb.klaviyo_api_key, base_url=sb.klaviyo_base_url)
        seg_ids: list[str] = []

        def ours(method: str):
            def go():
                kc = KlaviyoClient(settings, rate_scale=scale, cache=False, progress=False)
                if method == "profiles":
                    sizes = [len(kc.profiles())]
                else:
                    ids = list(kc.segments()["segment_id"])
                    kc.stats.by_bucket.clear()  # (b) measures member ids; the segment list is not part of it
                    members = kc.segment_members(ids)
                    sizes = [len(members[i]) for i in ids]
                    seg_ids[:] = ids  # the baseline walks the same segments
                return sizes, dict(kc.stats.by_bucket)
            return go

        def cookbook(method: str):
            def go():
                cb = Cookbook(settings.base_url, settings.api_key, settings.revision)
                if method == "profiles":
                    sizes = [len(cb.fetch_all("/api/profiles", dict(PROFILES_PARAMS)))]
                else:
                    sizes = [len(cb.fetch_all(MEMBERS_PATH.format(id=seg), {"page[size]": PAGE_SIZE}))
                             for seg in seg_ids]
                return sizes, dict(cb.by_bucket)
            return go

        cases = [("a_profiles_predictive", "client", ours("profiles")),
                 ("a_profiles_predictive", "cookbook", cookbook("profiles")),
                 ("b_segment_member_ids", "client", ours("members")),
                 ("b_segment_member_ids", "cookbook", cookbook("members"))]
        for case, who, fn in cases:
            if only is None or f"{case}:{who}" in only or case in only:
                rows.append(run_case(case, who, fn, scale, latency, sb))
    return rows


def synthetic_profiles(n: int, seed: int = 1) -> list[dict]:
    """n JSON:API profile objects shaped like GET /api/profiles with predictive analytics and consent.

    Nested objects (location, predictive analytics, subscriptions) come from pools of a few thousand
    distinct values so the input fits in memory; the frame builder reads every key of every record all
    the same.
    """
    rng = random.Random(seed)
    channels = [["email", "sms", "push"], ["sms", "email", "push"], ["email", "push", "sms"]]
    predictive = []
    for _ in range(4096):
        hist = round(rng.uniform(0, 900), 2)
        pred = round(rng.uniform(0, 400), 2)
        predictive.append({
            "historic_clv": hist, "predicted_clv": pred, "total_clv": round(hist + pred, 2),
            "historic_number_of_orders": rng.randint(0, 12), "predicted_number_of_orders": round(rng.random() * 3, 2),
            "average_days_between_orders": None if rng.random() < 0.3 else round(rng.uniform(10, 200), 1),
            "average_order_value": round(rng.uniform(20, 150), 2), "churn_probability": round(rng.random(), 3),
            "expected_date_of_next_order": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00+00:00",
            "ranked_channel_affinity": rng.choice(channels),
        })
    predictive += [None] * 1024  # about a fifth without predictions
    locations = [{"country": c, "region": r, "city": t} for c, r, t in
                 [("United States", "California", "Los Angeles"), ("United Kingdom", "England", "London"),
                  ("Germany", "Berlin", "Berlin"), ("Canada", "Ontario", "Toronto"), ("France", "Ile-de-France", "Paris")]]
    subs = [{"email": {"marketing": {"can_receive_email_marketing": e}}, "sms": {"marketing": {"can_receive_sms_marketing": s}}}
            for e in (True, False) for s in (True, False)]
    out = []
    base = 1_640_995_200
    for i in range(n):
        t = base + i * 37
        created = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
        out.append({"type": "profile", "id": f"01P{i:023d}", "attributes": {
            "created": created, "updated": created, "location": locations[i % 5],
            "predictive_analytics": predictive[rng.randrange(len(predictive))], "subscriptions": subs[i % 4]}})
    return out


def frame_benchmark(rows: int) -> dict[str, Any]:
    from helpers.klaviyo import profiles_frame

    t = time.perf_counter()
    records = synthetic_profiles(rows)
    generate = time.perf_counter() - t
    gc.collect()
    t = time.perf_counter()
    frame = profiles_frame(records)
    seconds = time.perf_counter() - t
    frame_mb = frame.memory_usage(deep=True).sum() / 2**20
    del frame
    gc.collect()
    tracemalloc.start()
    profiles_frame(records)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"rows": rows, "seconds": round(seconds, 2), "generate_records_seconds": round(generate, 2),
              "frame_mb": round(float(frame_mb), 1), "build_peak_mb_tracemalloc": round(peak / 2**20, 1),
              "process_peak_rss_mb": round(rss_kb / 1024, 1)}
    print(f"  1M-profile frame: {result}", flush=True)
    return result


def print_table(rows: list[dict[str, Any]], speedups: dict[str, float], frame: dict[str, Any] | None) -> None:
    head = (f"{'case':<22} {'client':<9} {'records':>8} {'requests':>8} {'least':>6} {'seconds':>8} {'bound_s':>8} "
            f"{'efficiency':>10} {'429s':>5}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['case']:<22} {r['client']:<9} {r['records']:>8} {r['requests']:>8} {r['least_requests']:>6} "
              f"{r['seconds']:>8.2f} "
              f"{r['bound_seconds']:>8.2f} {r['efficiency']:>10.3f} {r['throttled_429']:>5}")
    for case, x in speedups.items():
        print(f"speed-up over cookbook, {case}: {x:.2f}x")
    if frame:
        print(f"profiles frame, {frame['rows']:,} rows: {frame['seconds']} s, frame {frame['frame_mb']} MB, "
              f"build peak {frame['build_peak_mb_tracemalloc']} MB (tracemalloc), process peak RSS "
              f"{frame['process_peak_rss_mb']} MB")


def main(argv: list[str] | None = None) -> int:
    from tools import bench_memory

    ap = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profiles", type=int, default=20000)
    ap.add_argument("--rate-scale", type=float, default=1.0)
    ap.add_argument("--latency-ms", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--frame-rows", type=int, default=1_000_000, help="0 skips the frame benchmark")
    ap.add_argument("--skip-fetch", action="store_true", help="only the frame benchmark")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--memory-profiles", type=int, default=1_000_000,
                    help="profiles in the sandbox of the kernel memory case (jobs 01 and 03); 0 skips it")
    ap.add_argument("--memory-jobs", default="1,3", help="jobs the kernel memory case runs (of 1 and 3)")
    ap.add_argument("--only", default=None,
                    help="comma-separated cases to run, e.g. b_segment_member_ids or b_segment_member_ids:client; "
                         "`frame` and `memory` name the frame and kernel memory cases (--only memory: that alone)")
    args = ap.parse_args(argv)
    memory_jobs = bench_memory.parse_jobs(args.memory_jobs)
    if memory_jobs is None:
        ap.error(f"--memory-jobs {args.memory_jobs}: give job numbers among {sorted(bench_memory.JOBS)}, e.g. 1,3")
    out = args.out or project_root() / "outputs" / "bench" / "klaviyo_fetch.json"
    only = set(args.only.split(",")) if args.only else None
    fetch_only = only - {"frame", "memory"} if only is not None else None
    skip_fetch = args.skip_fetch or fetch_only == set()
    if not skip_fetch:
        print(f"Klaviyo fetch benchmark: {args.profiles} profiles, rate scale {args.rate_scale}, "
              f"latency {args.latency_ms} ms (each case starts at a fresh minute)", flush=True)
    rows = [] if skip_fetch else fetch_benchmarks(args.profiles, args.rate_scale, args.latency_ms, args.seed,
                                                   fetch_only)
    speedups = {}
    for case in sorted({r["case"] for r in rows}):
        ours = next((r for r in rows if r["case"] == case and r["client"] == "client"), None)
        base = next((r for r in rows if r["case"] == case and r["client"] == "cookbook"), None)
        if ours and base:
            speedups[case] = round(base["seconds"] / ours["seconds"], 2)
    frame = frame_benchmark(args.frame_rows) if args.frame_rows and (only is None or "frame" in only) else None
    memory = None
    if args.memory_profiles and (only is None or "memory" in only):
        print(f"kernel memory: jobs {args.memory_jobs} through the runner against {args.memory_profiles:,} profiles",
              flush=True)
        memory = bench_memory.memory_benchmark(args.memory_profiles, memory_jobs, args.seed)
    result = {"profiles": args.profiles, "rate_scale": args.rate_scale, "latency_ms": args.latency_ms,
              "seed": args.seed, "cases": rows, "speedup_over_cookbook": speedups, "profiles_frame": frame,
              "kernel_memory": memory,
              "command": "python -m tools.bench " + " ".join(argv if argv is not None else sys.argv[1:])}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    if rows or frame:
        print()
        print_table(rows, speedups, frame)
    if memory:
        print()
        bench_memory.print_table(memory)
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
