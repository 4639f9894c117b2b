"""Concurrent fetches: a function over many items on one thread pool, and split listings.

One cursor chain is latency-bound (one request in flight), so a large collection is cut into
disjoint ranges of its sort attribute, sized from the first page's density, and the ranges are
fetched as concurrent chains. Overlap at range edges is possible (strict operators, ties) and
removed by id; nothing is lost because the ranges cover the whole line, the last one open-ended.
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

    # Page 1 all at one instant (a segment's initial members join together): time ranges cannot cut
    # that block, so keep following its cursor; it starts first as it is likely the longest.
    big = [j for j, (recs, nxt) in zip(jobs, firsts, strict=True) if nxt and spans_time(recs, j.attr)]
    chains: list[_Chain] = [_Chain(j.key, nxt, {}, weight=float("inf"))
                            for j, (recs, nxt) in zip(jobs, firsts, strict=True)
                            if nxt and not spans_time(recs, j.attr)]

    def last_value(job: _Split) -> datetime | None:
        doc = client.request("GET", job.path, {**job.probe_params, **filter_param(job.base_filter)})
        data = doc.get("data") or []
        return parse_dt(dig(data[0], "attributes", job.attr)) if data else None

    lasts = dict(zip([j.key for j in big], client._map(last_value, big), strict=True))
    for job, (records, _nxt) in zip(jobs, firsts, strict=True):
        if job.key not in lasts:
            continue
        lo = parse_dt(dig(records[0], "attributes", job.attr))
        mid = parse_dt(dig(records[-1], "attributes", job.attr))
        hi = lasts[job.key]
        chains.extend(_range_chains(job, lo, mid, hi, len(records), max_parts, pages_per_chain))
    chains.sort(key=lambda c: -c.weight)  # longest first, so no long chain is left alone at the end

    def drain(chain: _Chain) -> Any:
        part = collect.part()
        for doc in client.pages(chain.path, chain.params):
            collect.add(part, list(doc.get("data") or []))
        return part

    results = client._map(drain, chains, desc=desc)
    parts: dict[str, list[Any]] = {}
    for job, (records, _nxt) in zip(jobs, firsts, strict=True):
        first = parts.setdefault(job.key, [collect.part()])[0]
        collect.add(first, records)
    for chain, part in zip(chains, results, strict=True):
        parts[chain.key].append(part)
    return {key: collect.merge(found) for key, found in parts.items()}
