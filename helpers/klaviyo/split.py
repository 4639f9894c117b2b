"""Concurrent fetches: a function over many items on one thread pool, and split listings.

One cursor chain is latency-bound (one request in flight), so a large collection is cut into
disjoint ranges of its sort attribute, sized from the first page's density, and the ranges are
fetched as concurrent chains. Overlap at range edges is possible (strict operators, ties) and
removed by id; nothing is lost because the ranges cover the whole line, the last one open-ended.

A block of records that share one value (a segment's first members all join when it is created) cannot be
cut by ranges, so it is walked from both ends at once, one page from each end per step (two requests in
flight): on from the first page (ascending) and back from its end (descending, filtered to the block). The
walk stops when either end has covered the block, or when the two meet, a meeting trusted only when it
shows that descending order is exactly ascending reversed (the first id one end sees of the other's is the
other's latest, and everything after it is the other's); otherwise both walk on, which is always complete.
Steps, not timing, decide where they stop, so a rerun sends the same requests (and hits the cache). Records
after the block are cut into ranges as usual. Without this a large block was one long serial chain, the
last thing left once a minute's request budget ran out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from helpers.klaviyo import frames
from helpers.klaviyo.jsonapi import and_, dig, filter_param, iso, parse_dt, unique
from helpers.klaviyo.streams import Stream
from helpers.progress import progress


@dataclass
class _Chain:
    """One cursor chain of a split fetch: a collection key, a path and the first page's params."""

    key: str
    path: str
    params: dict[str, Any]
    weight: float = 1.0
    block: _Block | None = None  # a tie block walked from both ends (path/params: its ascending end)


@dataclass
class _Block:
    """A tie block at value ``value`` of ``attr``: its two ends, and the ids each end has already seen."""

    attr: str
    value: datetime
    back_path: str | None  # the descending end: a links.next URL, or the path with ``back_params``
    back_params: dict[str, Any]
    seen_up: list[str]
    seen_down: list[str]


@dataclass
class _Split:
    """A collection fetched as concurrent disjoint ranges of one datetime attribute."""

    key: str
    path: str
    params: dict[str, Any]
    attr: str  # attribute sorted and filtered on (created, joined_group_at, datetime)
    strict: bool  # only greater-than/less-than are allowed (profiles.created)
    probe_params: dict[str, Any]  # cheapest params for reading the last value (page[size]=1, sort=-attr)
    base_filter: str | None = None

    @classmethod
    def of(cls, key: str, stream: Stream, params: dict[str, Any], path: str | None = None) -> _Split:
        """A split of a declared stream on its ``split_on`` attribute (``path``: the stream's, filled in)."""
        assert stream.split_on, f"{stream.path} declares no split attribute"
        return cls(key, path or stream.path, params, stream.split_on, stream.strict_range, stream.probe())


class Fetcher(Protocol):
    """What a split fetch needs from the client."""

    def request(self, method: str, path_or_url: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]: ...

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]: ...

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str | None = None) -> list[Any]: ...


def concurrent_map(fn: Callable[[Any], Any], items: Sequence[Any], *, workers: int, desc: str | None = None,
                   show: bool | None = None) -> list[Any]:
    """fn over items on a thread pool of at most ``workers``, results in order; a bar when ``desc``
    is given (``show`` None: unless headless)."""
    if len(items) <= 1:
        return [fn(i) for i in items]
    bar = progress(total=len(items), desc=desc, leave=False, disable=None if show is None else not show) \
        if desc else None
    out: list[Any] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = {pool.submit(fn, item): k for k, item in enumerate(items)}
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return out


def _range_chains(job: _Split, lo: datetime | None, mid: datetime | None, hi: datetime | None, first_count: int,
                  max_parts: int, pages_per_chain: int) -> list[_Chain]:
    """Disjoint ranges covering [mid, +inf) of job.attr, as chains (the first page already covers < mid)."""
    gt = "greater-than" if job.strict else "greater-or-equal"
    # Strict operators cannot say ">= b": use "> b - 1 s" and drop the overlap by id afterwards.
    shift = timedelta(seconds=1) if job.strict else timedelta(0)
    page = int(job.params.get("page[size]") or 100)
    parts, est_pages = 1, 1.0
    if lo and mid and hi and hi > mid and mid > lo and first_count:
        density = first_count / max((mid - lo).total_seconds(), 1.0)  # records per second on page 1
        est_pages = density * (hi - mid).total_seconds() / page
        parts = int(min(max_parts, max(1, math.ceil(est_pages / pages_per_chain))))
    start = mid or lo
    if start is None or hi is None or hi <= start:
        edges: list[datetime] = []
    else:
        span = (hi - start).total_seconds()
        parts = max(1, min(parts, int(span)))  # boundaries on whole seconds must differ
        edges = sorted({(start + timedelta(seconds=span * k / parts)).replace(microsecond=0)
                        for k in range(1, parts)})
        edges = [e for e in edges if start < e <= hi]
    bounds: list[tuple[datetime | None, datetime | None]] = []
    prev = start
    for edge in edges:
        bounds.append((prev, edge))
        prev = edge
    bounds.append((prev, None))  # open end: records created while we fetch are not lost
    chains = []
    for a, b in bounds:
        cond_lo = f"{gt}({job.attr},{iso(a - shift)})" if a else None
        cond_hi = f"less-than({job.attr},{iso(b)})" if b else None
        flt = and_(job.base_filter, cond_lo, cond_hi)
        chains.append(_Chain(job.key, job.path, {**job.params, **filter_param(flt)}, weight=est_pages / len(bounds)))
    return chains


def equal_ranges(key: str, stream: Stream, base_filter: str | None, lo: datetime, hi: datetime,
                 parts: int) -> list[_Chain]:
    """``lo <= stream.split_on < hi`` cut into ``parts`` equal ranges, as chains (events by date)."""
    attr = stream.split_on
    step = (hi - lo) / max(1, parts)
    edges = [lo + step * k for k in range(parts)] + [hi]
    chains = []
    for k in range(parts):
        if edges[k + 1] <= edges[k]:
            continue
        flt = and_(base_filter, f"greater-or-equal({attr},{iso(edges[k])})", f"less-than({attr},{iso(edges[k + 1])})")
        chains.append(_Chain(key, stream.path, stream.query(filter=flt)))
    return chains


def fetch_chains(client: Fetcher, chains: Sequence[_Chain], desc: str | None = None) -> list[dict]:
    """Every record of the chains, concurrently, each (type, id) once, in chain order."""
    found = client._map(lambda c: list(client.paginate(c.path, c.params)), list(chains), desc=desc)
    return unique([r for part in found for r in part])


class Collector:
    """What a split fetch keeps of each part (its first page, each chain): here the records themselves.

    A fetch gives every part its own accumulator (``part()``), feeds it page by page (``add``), and
    joins the parts in order (``merge``), each (type, id) once. Subclasses keep less than the JSON.
    """

    def part(self) -> Any:
        return []

    def add(self, part: Any, records: list[dict]) -> None:
        part.extend(records)

    def merge(self, parts: Sequence[Any]) -> Any:
        return unique([r for part in parts for r in part])


class FrameCollector(Collector):
    """Parts as :class:`~helpers.klaviyo.frames.FrameBuilder`: a frame, never the records (profiles)."""

    def __init__(self, columns: Sequence[frames.Column], id_column: str) -> None:
        self.columns, self.id_column = tuple(columns), id_column

    def part(self) -> frames.FrameBuilder:
        return frames.FrameBuilder(self.columns)

    def add(self, part: frames.FrameBuilder, records: list[dict]) -> None:
        part.add(records)

    def merge(self, parts: Sequence[frames.FrameBuilder]) -> Any:
        return frames.concat_chunks(self.columns, [c for part in parts for c in part.chunks()],
                                    unique_on=self.id_column)


class IdCollector(Collector):
    """Parts as lists of ids; merged into a numpy array of unique ids in order (segment members)."""

    def add(self, part: list, records: list[dict]) -> None:
        part.extend(r.get("id") for r in records)

    def merge(self, parts: Sequence[list]) -> Any:
        return np.array(list(dict.fromkeys(i for part in parts for i in part)), dtype=object)


def _value(record: dict, attr: str) -> datetime | None:
    return parse_dt(dig(record, "attributes", attr))


def _between_chains(job: _Split, a: datetime, b: datetime, records: int, density_span: float, max_parts: int,
                    pages_per_chain: int) -> list[_Chain]:
    """Chains covering ``a < attr <= b``, cut into ranges by an estimate of how many pages it holds (``records``
    seen over ``density_span`` seconds near ``b``)."""
    page = int(job.params.get("page[size]") or 100)
    span = (b - a).total_seconds()
    est_pages = records / max(density_span, 1.0) * span / page
    parts = int(min(max_parts, max(1, math.ceil(est_pages / pages_per_chain)), max(1, int(span))))
    edges = [a] + sorted({(a + timedelta(seconds=span * k / parts)).replace(microsecond=0)
                          for k in range(1, parts)} - {a, b}) + [b]
    one = timedelta(seconds=1)
    chains = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        # (lo, hi]: strict attributes say "> lo" and "< hi + 1 s" (whole seconds); the overlap is dropped by id.
        upper = f"less-than({job.attr},{iso(hi + one)})" if job.strict else f"less-or-equal({job.attr},{iso(hi)})"
        flt = and_(job.base_filter, f"greater-than({job.attr},{iso(lo)})", upper)
        chains.append(_Chain(job.key, job.path, {**job.params, **filter_param(flt)}, weight=est_pages / parts))
    return chains


def _block_chains(job: _Split, first: list[dict], first_next: str, last: list[dict], last_next: str | None,
                  max_parts: int, pages_per_chain: int) -> list[_Chain]:
    """The chains of a collection whose first page is a tie block at one value ``t``: the block from both ends
    (one chain), and the records after it, up to the last page (already fetched), as ranges."""
    t = _value(first[0], job.attr)
    lowest = _value(last[-1], job.attr) if last else None
    up = [r["id"] for r in first]
    if t is None or lowest is None:
        return [_Chain(job.key, first_next, {}, float("inf"))]
    if lowest <= t:
        # The last page reached the block: what follows the block is all on it, and its cursor walks on into
        # the block from the end.
        down = [r["id"] for r in last if _value(r, job.attr) == t]
        block = _Block(job.attr, t, last_next, {}, up, down)
        return [_Chain(job.key, first_next, {}, float("inf"), block)]
    after = [r for r in last if (_value(r, job.attr) or t) > t]
    span = (_value(last[0], job.attr) - lowest).total_seconds()
    chains = _between_chains(job, t, lowest, len(after), span, max_parts, pages_per_chain)
    upper = f"less-than({job.attr},{iso(t + timedelta(seconds=1))})" if job.strict else f"less-or-equal({job.attr},{iso(t)})"
    back = {**job.params, "sort": f"-{job.attr}", **filter_param(and_(job.base_filter, upper))}
    return [_Chain(job.key, first_next, {}, float("inf"), _Block(job.attr, t, job.path, back, up, []))] + chains


def _reversed_meet(up: list[str], seen_up: set[str], down: list[str], seen_down: set[str]) -> bool | None:
    """None: the two ends have not met; True: they met as exact reverses (the union is the block); False: they
    overlap some other way (descending is not ascending reversed)."""
    hit_up = next((k for k, i in enumerate(up) if i in seen_down), None)
    if hit_up is None:
        return None
    hit_down = next(k for k, i in enumerate(down) if i in seen_up)
    return (up[hit_up] == down[-1] and down[hit_down] == up[-1] and all(i in seen_down for i in up[hit_up:])
            and all(i in seen_up for i in down[hit_down:]))


def _walk_block(client: Fetcher, chain: _Chain, block: _Block, keep: Callable[[list[dict]], None]) -> None:
    """A tie block from both ends, one page from each per step, until one end has covered it or they meet.

    Each page's records go to ``keep`` as they arrive; the walk itself keeps only ids (where the ends meet), so
    a block of a million members is never held as JSON."""
    ends: dict[str, Iterator[dict[str, Any]]] = {"up": iter(client.pages(chain.path, chain.params or None))}
    if block.back_path:
        ends["down"] = iter(client.pages(block.back_path, block.back_params or None))
    order = {"up": list(block.seen_up), "down": list(block.seen_down)}
    seen = {end: set(ids) for end, ids in order.items()}
    # Whether the ends share an id yet, kept up to date per page: until they do they cannot have met, so the
    # full comparison (a scan of everything seen) runs once they overlap, not on every step of a long block.
    overlap = not seen["up"].isdisjoint(seen["down"])
    trusted = True
    with ThreadPoolExecutor(max_workers=2) as pair:
        while True:
            docs = dict(zip(ends, pair.map(lambda it: next(it, None), ends.values()), strict=True))
            finished = False
            for end, doc in docs.items():
                if doc is None:  # this end's cursor is done: it has walked the whole block
                    finished = True
                    continue
                records = list(doc.get("data") or [])
                keep(records)
                ids = [r["id"] for r in records]
                order[end] += ids
                seen[end].update(ids)
                overlap = overlap or not seen["down" if end == "up" else "up"].isdisjoint(ids)
                # The ascending end past the block has all of it (what follows is fetched as ranges).
                finished |= end == "up" and any((_value(r, block.attr) or block.value) > block.value for r in records)
            if finished:
                return
            if len(ends) == 2 and trusted and overlap:
                met = _reversed_meet(order["up"], seen["up"], order["down"], seen["down"])
                if met:
                    return
                trusted = met is None


def _walk(client: Fetcher, chain: _Chain) -> list[dict]:
    """Every record of one chain (a tie block: both its ends, see ``_walk_block``)."""
    if chain.block is not None:
        out: list[dict] = []
        _walk_block(client, chain, chain.block, out.extend)
        return out
    return list(client.paginate(chain.path, chain.params))
def _run_chains(client: Fetcher, chains: list[_Chain], desc: str, collect: Collector) -> list[Any]:
    """Every chain's part (``collect``: range chains page by page, tie blocks once walked). Tie blocks are the serial part (two requests at a time, however long), so they
    run first, all at once, with the whole request budget; the range chains, many and short, come after. So
    when a minute's budget runs out, what is left is range pages, fetched in parallel the next minute, not
    the rest of a long block one page pair at a time."""
    blocks = [k for k, c in enumerate(chains) if c.block is not None]
    ranges = [k for k, c in enumerate(chains) if c.block is None]
    out: list[Any] = [None for _ in chains]
    workers = max(1, getattr(client, "concurrency", 16))
    show = getattr(client, "show_progress", None)

    def drain(k: int) -> Any:
        part, chain = collect.part(), chains[k]
        if chain.block is not None:  # page by page too: the walk keeps only the ids it needs to see the ends meet
            _walk_block(client, chain, chain.block, lambda records: collect.add(part, records))
            return part
        for doc in client.pages(chain.path, chain.params):
            collect.add(part, list(doc.get("data") or []))
        return part

    for group, width in ((blocks, 2 * workers), (ranges, workers)):
        found = concurrent_map(drain, group, workers=width, desc=desc, show=show)
        for k, records in zip(group, found, strict=True):
            out[k] = records
    return out


def split_fetch(client: Fetcher, jobs: Sequence[_Split], desc: str, max_parts: int = 16,
                pages_per_chain: int = 6, collect: Collector | None = None) -> dict[str, Any]:
    """Fetch several collections as concurrent cursor chains over disjoint ranges of a datetime;
    every record of each job's collection exactly once, by job key (as ``collect`` keeps them:
    default the records in a list; page by page, so a part never holds more than it keeps)."""
    collect = collect or Collector()

    def first_page(job: _Split) -> tuple[list[dict], str | None]:
        doc = client.request("GET", job.path, {**job.params, **filter_param(job.base_filter)})
        return list(doc.get("data") or []), dig(doc, "links", "next")

    firsts = client._map(first_page, list(jobs))

    def spans_time(records: list[dict], attr: str) -> bool:
        return dig(records[0], "attributes", attr) != dig(records[-1], "attributes", attr)

    # Where each collection ends, in one concurrent round: the last value (one record) of those whose first
    # page spans time; the whole last page of those whose first page is a tie block (see _block_chains).
    probes = [(j, recs, nxt, spans_time(recs, j.attr)) for j, (recs, nxt) in zip(jobs, firsts, strict=True) if nxt]

    def probe(item: tuple[_Split, list[dict], str, bool]) -> tuple[list[dict], str | None]:
        job, _, _, spanning = item
        params = job.probe_params if spanning else {**job.params, "sort": f"-{job.attr}"}
        doc = client.request("GET", job.path, {**params, **filter_param(job.base_filter)})
        return list(doc.get("data") or []), dig(doc, "links", "next")

    chains: list[_Chain] = []
    parts: dict[str, list[Any]] = {}
    for job, (records, _nxt) in zip(jobs, firsts, strict=True):
        first = parts.setdefault(job.key, [collect.part()])[0]
        collect.add(first, records)
    for (job, records, nxt, spanning), (last, last_next) in zip(probes, client._map(probe, probes), strict=True):
        if spanning:
            lo, mid = _value(records[0], job.attr), _value(records[-1], job.attr)
            hi = _value(last[0], job.attr) if last else None
            chains.extend(_range_chains(job, lo, mid, hi, len(records), max_parts, pages_per_chain))
        else:
            collect.add(parts[job.key][0], last)  # the last page, read to find where the block ends
            chains.extend(_block_chains(job, records, nxt, last, last_next, max_parts, pages_per_chain))
    chains.sort(key=lambda c: -c.weight)  # longest first, so no long chain is left alone at the end
    results = _run_chains(client, chains, desc, collect)
    for chain, part in zip(chains, results, strict=True):
        parts[chain.key].append(part)
    return {key: collect.merge(found) for key, found in parts.items()}
