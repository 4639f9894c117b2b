"""GET /api/events: every metric's events (``store/events.py`` sources) in time order, paged by offset.

Days are counted from the sources' day counts without generating anything; only the days a page falls in
(and the partial days at the ends of a datetime range) are materialised, so a page costs the same whether
the account holds thousands of events or millions.
"""

from __future__ import annotations

import math

import numpy as np

from ..store.events import DAY, DAYS, make_event
from . import graph as G
from .call import Call, bad_param


def _bounds(call: Call) -> tuple[int, int]:
    """[lo, hi) in whole seconds from the datetime/timestamp conditions (event times are whole seconds)."""
    lo, hi = -(1 << 62), 1 << 62
    for c in call.conditions("datetime") + call.conditions("timestamp"):
        # Check the type before converting: a quoted string here is the caller's error (400), not ours.
        if not isinstance(c.value, (int, float)) or isinstance(c.value, bool):
            raise bad_param("filter", f"Invalid filter provided: '{c.field}' needs an unquoted datetime "
                                      "(or epoch seconds for timestamp).")
        t = float(c.value)
        if c.op == "greater-than":
            lo = max(lo, math.floor(t) + 1)
        elif c.op == "greater-or-equal":
            lo = max(lo, math.ceil(t))
        elif c.op == "less-than":
            hi = min(hi, math.ceil(t))
        else:
            hi = min(hi, math.floor(t) + 1)
    return lo, hi


def _counts(source) -> np.ndarray:
    cached = getattr(source, "_day_counts", None)
    if cached is None:
        cached = source._day_counts = source.day_counts()
    return cached


def _merge(parts: list[tuple[int, np.ndarray, np.ndarray]], lo: int, hi: int):
    """(times, source positions, keys) of several sources' events in [lo, hi), in time order (ties: source order)."""
    times, who, keys = [], [], []
    for pos, t, k in parts:
        keep = (t >= lo) & (t < hi)
        times.append(t[keep])
        keys.append(k[keep])
        who.append(np.full(int(keep.sum()), pos, dtype=np.int16))
    if not times:
        return np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int64)
    t, w, k = np.concatenate(times), np.concatenate(who), np.concatenate(keys)
    order = np.argsort(t, kind="stable")
    return t[order], w[order], k[order]


def _select(store, call: Call) -> tuple[list, int, list[tuple[int, int]]]:
    """(sources, total events selected, [(source position, key)] of this page)."""
    sources = list(store.sources.values())
    for c in call.conditions("metric_id"):
        sources = [s for s in sources if s.metric_id == str(c.value)]
    lo, hi = _bounds(call)
    desc = call.query.get("sort", "").startswith("-")
    page = (call.page_size(), call.cursor())
    profile = call.conditions("profile_id")
    if profile:
        total, picked = _select_of_profile(store, sources, str(profile[0].value), (lo, hi), desc, page)
    else:
        total, picked = _select_by_day(store, sources, (lo, hi), desc, page)
    return sources, total, picked


def _select_of_profile(store, sources: list, profile_id: str, bounds: tuple, desc: bool,
                       page: tuple[int, int]) -> tuple[int, list[tuple[int, int]]]:
    """(total, this page) of one profile's events in ``bounds``: its rows of every source, merged."""
    size, offset = page
    row = store.profile_index(profile_id)
    parts = [] if row is None else [(p, *s.of_profile(row)) for p, s in enumerate(sources)]
    _, who, keys = _merge(parts, *bounds)
    if desc:
        who, keys = who[::-1], keys[::-1]
    return len(keys), list(zip(who[offset:offset + size].tolist(), keys[offset:offset + size].tolist(), strict=True))


def _select_by_day(store, sources: list, bounds: tuple, desc: bool,
                   page: tuple[int, int]) -> tuple[int, list[tuple[int, int]]]:
    """(total, this page) of every profile's events in ``bounds``: counted per day from the sources' day
    counts, events merged only for the days a bound cuts and the days the page reaches."""
    lo, hi = bounds
    size, offset = page
    # Day c (chronological) spans [start[c], start[c] + DAY) and is the sources' day index DAYS - 1 - c.
    start = store.t_end - (DAYS - np.arange(DAYS)) * DAY

    def day(c: int):
        return _merge([(p, *s.day(DAYS - 1 - c)) for p, s in enumerate(sources)], lo, hi)

    per_day = _per_day(sources, start, bounds, day)
    order = np.arange(DAYS)[::-1] if desc else np.arange(DAYS)
    counts = per_day[order]
    ends = np.cumsum(counts)
    first = int(np.searchsorted(ends, offset, side="right"))
    picked: list[tuple[int, int]] = []
    pos = offset - (int(ends[first - 1]) if first else 0)
    for k in range(first, DAYS):
        if len(picked) >= size:
            break
        if counts[k] == 0:
            continue
        _, who, keys = day(int(order[k]))
        if desc:
            who, keys = who[::-1], keys[::-1]
        take = size - len(picked)
        picked += list(zip(who[pos:pos + take].tolist(), keys[pos:pos + take].tolist(), strict=True))
        pos = 0
    return int(counts.sum()), picked


def _per_day(sources: list, start: np.ndarray, bounds: tuple, day) -> np.ndarray:
    """Events per chronological day within ``bounds``: the sources' day counts, days cut by a bound
    counted by merging them (``day``), days outside 0."""
    lo, hi = bounds
    overlap = (start + DAY > lo) & (start < hi)
    per_day = np.zeros(DAYS, dtype=np.int64)
    for s in sources:
        per_day += _counts(s)[::-1]
    per_day[~overlap] = 0
    for c in np.flatnonzero(overlap):
        if start[c] < lo or start[c] + DAY > hi:
            per_day[c] = len(day(int(c))[0])
    return per_day


def list_events(store, call: Call) -> dict:
    for c in call.filters:
        if c.field in ("profile", "metric"):
            raise bad_param("filter", f"Invalid filter provided: the sandbox does not emulate has({c.field},...); "
                                      "filter on profile_id or metric_id instead.")
    sources, total, picked = _select(store, call)
    events = [make_event(store.seed, sources[p], key) for p, key in picked]
    size, offset = call.page_size(), call.cursor()
    return G.document(store, "event", events, call, call.page_links(offset, size, total))
