"""``KlaviyoClient``: JSON:API pagination and the typed methods that return the notebooks' frames.

What to ask for is declared in :mod:`~helpers.klaviyo.streams`, how each frame reads the answer in
:mod:`~helpers.klaviyo.frames`; large listings are fetched concurrently by :mod:`~helpers.klaviyo.split`
and every request goes through :mod:`~helpers.klaviyo.transport`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from helpers import config
from helpers.config import KlaviyoSettings
from helpers.klaviyo import frames
from helpers.klaviyo.errors import KlaviyoError
from helpers.klaviyo.jsonapi import as_dt, custom_timeframe, dig, included_index, whole_day
from helpers.klaviyo.split import (
    FrameCollector,
    IdCollector,
    _Split,
    concurrent_map,
    equal_ranges,
    fetch_chains,
    split_fetch,
)
from helpers.klaviyo.streams import DEFAULT_STATISTICS, PREDICTIVE_FIELDS, REPORTS, STREAMS, stream_for
from helpers.klaviyo.transport import ATTEMPTS, REQUEST_DEADLINE, Transport

MAX_RECORDS_PER_CHAIN = 5_000_000  # one cursor chain (split fetches cut big collections into several)
MIN_PAGE_CEILING = 1_000
MAX_EMPTY_PAGES = 3  # pages without records that still link on, in a row
MAX_REPORT_PAGES = 100  # one values report answers every grouping on a page or a few
# Wall-clock seconds one cursor chain may take. Large listings are cut into concurrent range chains
# (helpers.klaviyo.split), so even a million profiles keep each chain well inside it.
CHAIN_SECONDS = 3600.0


class _ChainGuard:
    """What stops one cursor chain that cannot end: a cycle, a page served again under a new cursor, empty
    pages that keep linking on, more pages than the collection can hold, or more wall-clock time than
    ``seconds`` (a chain of fresh cursors and fresh records is caught by the last two)."""

    def __init__(self, path: str, seconds: float) -> None:
        self.path = path
        self.seconds = seconds
        self.started = time.monotonic()
        self.budget: int | None = None
        self.count = 0
        self.empty_run = 0
        self.links: set[str] = set()
        self.pages: set[int] = set()  # hashes of each page's ids: small, whatever the collection's size

    def next(self, nxt: str, data: Any) -> str:
        """``nxt`` when the chain may follow it, else the KlaviyoError that says why it stopped."""
        self.count += 1
        path = self.path
        if nxt in self.links:
            raise KlaviyoError(f"Klaviyo returned a pagination cycle on {path}; rerun with refresh=True.")
        self.links.add(nxt)
        self._check_page(data)
        if self.budget is not None and self.count >= self.budget:
            raise KlaviyoError(f"{path} ran past {self.budget:,} pages, more than the collection can hold; "
                               "stopped so a runaway chain cannot go on - rerun later.")
        if time.monotonic() - self.started > self.seconds:
            raise KlaviyoError(f"{path} was still paging after {self.seconds:,.0f} s ({self.count:,} pages), longer "
                               "than one listing may take; stopped so a runaway chain cannot go on - rerun later.")
        return nxt

    def _check_page(self, data: Any) -> None:
        if isinstance(data, list) and data:
            self.empty_run = 0
            fingerprint = hash(tuple(str(o.get("id")) if isinstance(o, dict) else repr(o) for o in data))
            if fingerprint in self.pages:
                raise KlaviyoError(f"Klaviyo served the same page of {self.path} again under a new cursor "
                                   f"(page {self.count}); stopped so it cannot loop - rerun later.")
            self.pages.add(fingerprint)
        elif data:  # a single resource object: nothing to compare
            self.empty_run = 0
        else:
            self.empty_run += 1
            if self.empty_run > MAX_EMPTY_PAGES:
                raise KlaviyoError(f"Klaviyo kept linking to further pages of {self.path} without records "
                                   f"({self.empty_run} empty pages); stopped so it cannot loop - rerun later.")


def _sends_message(action: Mapping) -> bool:
    kind = dig(action, "attributes", "definition", "type")  # send-email, send-sms, time-delay, ...
    if kind is None:
        return True  # unknown shape: ask, rather than miss messages
    return str(kind).lower().replace("_", "-").startswith("send-")


class KlaviyoClient(Transport):
    """Read-only Klaviyo client. Frames follow docs/internals.md ("Klaviyo client frames")."""

    def __init__(
        self,
        settings: KlaviyoSettings,
        *,
        refresh: bool = False,
        progress: bool | None = None,
        rate_scale: float = 1.0,
        concurrency: int = 16,
        cache: bool = True,
        attempts: int = ATTEMPTS,
        backoff: float = 0.5,
        max_retry_after: float = 90.0,
        timeout: tuple[float, float] = (10.0, 120.0),
        max_pages: int | None = None,
        deadline: float | None = REQUEST_DEADLINE,
        chain_seconds: float = CHAIN_SECONDS,
    ) -> None:
        self.show_progress = progress
        self.concurrency = max(1, concurrency)
        self.max_pages = max_pages  # pages one chain may take at most (None: derived from the collection)
        self.chain_seconds = chain_seconds  # wall-clock seconds one cursor chain may take at most
        super().__init__(settings, refresh=refresh, rate_scale=rate_scale, cache=cache, attempts=attempts,
                         backoff=backoff, max_retry_after=max_retry_after, timeout=timeout, deadline=deadline,
                         # split fetches run every tie block (two requests each) and range chains at once
                         pool_size=max(64, self.concurrency * 4))

    def __repr__(self) -> str:
        return f"KlaviyoClient({self.settings!r}, requests_sent={self.requests_sent})"

    @classmethod
    def from_env(cls, refresh: bool = False, progress: bool | None = None, **kw: Any) -> KlaviyoClient:
        """Settings from the environment/.env. ``KLAVIYO_RATE_SCALE`` (sandbox/bench only) scales the limits
        the client paces against, to match a sandbox started with ``--rate-scale``."""
        settings = KlaviyoSettings.from_env()
        if "rate_scale" not in kw and (scale := config.rate_scale()) is not None:
            kw["rate_scale"] = scale
        return cls(settings, refresh=refresh, progress=progress, **kw)

    def __enter__(self) -> KlaviyoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pagination -------------------------------------------------------------------------------
    def pages(self, path: str, params: Mapping[str, Any] | None = None,
              ttl: timedelta | None = None, expected: int | None = None) -> Iterator[dict[str, Any]]:
        """Every page document of a collection, following ``links.next`` verbatim until it is absent.

        A chain that cannot end is stopped with a KlaviyoError (:class:`_ChainGuard`): a next link seen
        before (a cycle), a page served again under a new cursor, pages without records that keep linking
        on, more pages than the collection can hold (``expected`` records when known, else the most the
        collection plausibly holds, else a generous ceiling), or longer than :attr:`chain_seconds`.
        Links to another origin are refused by the session before anything is sent.
        """
        url: str | None = self._url(path)
        query: Mapping[str, Any] | None = params
        guard = _ChainGuard(path, self.chain_seconds)
        while url:
            doc = self.request("GET", url, query, ttl=ttl)
            data = doc.get("data") or []
            if guard.budget is None:
                guard.budget = self._page_budget(params, len(data), expected, path)
            yield doc
            nxt = dig(doc, "links", "next")
            if not nxt:
                return
            url, query = guard.next(self._url(nxt), data), None  # the next link already carries every parameter

    def _page_budget(self, params: Mapping[str, Any] | None, first_len: int, expected: int | None,
                     path: str | None = None) -> int:
        """How many pages one chain may take: from the known size (with slack for records added while
        fetching), else the most the collection plausibly holds (:attr:`Stream.plausible`), else
        :data:`MAX_RECORDS_PER_CHAIN` at this page size; ``max_pages`` caps all three."""
        try:
            size = int((params or {}).get("page[size]") or 0)
        except (TypeError, ValueError):
            size = 0
        size = max(1, size or first_len or 100)
        stream = stream_for(urlsplit(path).path) if path else None
        if expected is not None:
            budget = math.ceil(expected * 1.5 / size) + 3
        elif stream is not None and stream.plausible is not None:
            budget = math.ceil(stream.plausible / size) + 3
        else:
            budget = max(MIN_PAGE_CEILING, math.ceil(MAX_RECORDS_PER_CHAIN / size))
        return min(budget, self.max_pages) if self.max_pages else budget

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield every resource object of a collection exactly once, following ``links.next``."""
        seen: set[tuple[str, str]] = set()
        for doc in self.pages(path, params):
            for obj in doc.get("data") or []:
                key = (obj.get("type", ""), obj.get("id", ""))
                if key not in seen:
                    seen.add(key)
                    yield obj

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str | None = None) -> list[Any]:
        """fn over items on the client's thread pool (same pacer, same session), results in order."""
        return concurrent_map(fn, items, workers=self.concurrency, desc=desc, show=self.show_progress)

    def _listing(self, name: str, columns: Sequence[frames.Column], **overrides: Any) -> pd.DataFrame:
        stream = STREAMS[name]
        return frames.build_frame(columns, list(self.paginate(stream.path, stream.query(**overrides))))

    # -- profiles and segments --------------------------------------------------------------------
    def profiles(
        self,
        *,
        predictive: bool = True,
        consent: bool = True,
        location: bool = True,
        email: bool = False,
        phone: bool = False,
        extra_fields: Iterable[str] = (),
    ) -> pd.DataFrame:
        """All profiles with predictive analytics and consent: only the fields asked for (no email or
        phone unless ``email=True``/``phone=True``)."""
        stream = STREAMS["profiles"]
        fields = ["created", "updated"]
        if location:
            fields += ["location.country", "location.region", "location.city"]
        if predictive:
            fields += [f"predictive_analytics.{f}" for f in PREDICTIVE_FIELDS]
        if consent:
            fields += ["subscriptions.email.marketing.can_receive_email_marketing",
                       "subscriptions.sms.marketing.can_receive_sms_marketing"]
        fields += (["email"] if email else []) + (["phone_number"] if phone else []) + list(extra_fields)
        additional = [a for a, on in (("predictive_analytics", predictive), ("subscriptions", consent)) if on]
        job = _Split.of("profiles", stream, stream.query(fields=fields, additional=additional))
        # Page by page into columns: a million profiles never sit in memory as JSON.
        collect = FrameCollector(frames.profile_columns(email=email, phone=phone), "profile_id")
        return split_fetch(self, [job], "profiles", collect=collect)["profiles"]

    def profile_count(self) -> int:
        """How many profiles the account holds (ids only, in the cheaper plain-profiles bucket)."""
        stream = STREAMS["profiles"]
        job = _Split.of("count", stream, stream.query(fields=["created"], additional=[]))
        return len(split_fetch(self, [job], "profiles", collect=IdCollector())["count"])

    def segments(self, *, counts: bool = False) -> pd.DataFrame:
        """All segments; ``counts=True`` adds ``profile_count`` (Klaviyo allows 1/s, 15/min for that)."""
        frame = self._listing("segments", frames.SEGMENT)
        if counts:
            one = STREAMS["segment"]

            def count(seg_id: str) -> int | None:
                doc = self.request("GET", one.path.format(id=seg_id), one.query())
                return dig(doc, "data", "attributes", "profile_count")

            frame["profile_count"] = pd.array(self._map(count, list(frame["segment_id"]), "segment counts"),
                                              dtype="Int64")
        return frame

    def segment_members(self, ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Profile ids of every member of each segment (all segments when ``ids`` is None)."""
        ids = list(self.segments()["segment_id"]) if ids is None else list(ids)
        stream = STREAMS["segment_members"]
        jobs = [_Split.of(seg_id, stream, stream.query(), stream.path.format(id=seg_id)) for seg_id in ids]
        found = split_fetch(self, jobs, "segment members", collect=IdCollector())
        return {seg_id: found[seg_id] for seg_id in ids}

    # -- flows and campaigns ----------------------------------------------------------------------
    def flows(self) -> pd.DataFrame:
        # Same query as flow_messages (actions included), so one serves the other from the cache.
        return self._listing("flows", frames.FLOW)

    def flow_definitions(self, ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Each flow with its definition (``definition``: triggers, profile_filter, actions), one GET per flow
        (all flows when ``ids`` is None): what a flow is triggered by and whom it filters for, e.g. a segment."""
        if ids is None:
            ids = list(self.flows()["flow_id"])
        one = STREAMS["flow"]
        docs = self._map(lambda fid: self.request("GET", one.path.format(id=fid), one.query()).get("data"),
                         list(ids), desc="flow definitions")
        return frames.build_frame(frames.FLOW_DEFINITION, [d for d in docs if d])

    def flow_messages(self) -> pd.DataFrame:
        """Flows -> actions -> messages, with content (subject, preview text, SMS body)."""
        stream = STREAMS["flows"]
        flows: list[dict] = []
        actions: dict[str, list[dict]] = {}
        for doc in self.pages(stream.path, stream.query()):
            included = included_index(doc)
            for flow in doc.get("data") or []:
                flows.append(flow)
                refs = dig(flow, "relationships", "flow-actions", "data")
                if isinstance(refs, list) and all(("flow-action", r.get("id")) in included for r in refs):
                    actions[flow["id"]] = [included[("flow-action", r["id"])] for r in refs]
        missing = [f["id"] for f in flows if f["id"] not in actions]
        if missing:  # no compound document: list each flow's actions
            fa = STREAMS["flow_actions"]
            for fid, acts in zip(missing, self._map(
                    lambda fid: list(self.paginate(fa.path.format(id=fid), fa.query())), missing), strict=True):
                actions[fid] = acts
        pairs = [(f, act) for f in flows for act in actions.get(f["id"], []) if _sends_message(act)]
        fm = STREAMS["flow_messages"]
        messages = self._map(lambda p: list(self.paginate(fm.path.format(id=p[1]["id"]), fm.query())), pairs,
                             desc="flow messages")
        records = [{"flow": flow, "action": act, "message": msg}
                   for (flow, act), msgs in zip(pairs, messages, strict=True) for msg in msgs]
        return frames.build_frame(frames.FLOW_MESSAGE, records)

    def campaigns(self, channel: str = "email") -> pd.DataFrame:
        """Campaigns of one channel (email, sms, mobile_push), one row per message, with their audiences
        (``audiences_included``, ``audiences_excluded``: lists of segment or list ids)."""
        stream = STREAMS["campaigns"]
        records = []
        for doc in self.pages(stream.path, stream.query(filter=f"equals(messages.channel,'{channel}')")):
            included = included_index(doc)
            for camp in doc.get("data") or []:
                refs = dig(camp, "relationships", "campaign-messages", "data") or []
                msgs = [included.get(("campaign-message", r.get("id"))) for r in refs] or [None]
                records += [{"campaign": camp, "message": msg} for msg in msgs]
        frame = frames.build_frame(frames.CAMPAIGN, records)
        if frame["channel"].isna().any():  # a campaign without its message: the channel listed
            frame["channel"] = frame["channel"].fillna(channel)
        return frame

    # -- metrics, events, catalog -----------------------------------------------------------------
    def metrics(self) -> pd.DataFrame:
        return self._listing("metrics", frames.METRIC)

    def metric_id(self, name: str = "Placed Order") -> str:
        """The id of the metric called ``name``; among duplicates, prefer an eCommerce integration, then
        the most recently updated."""
        return frames.choose_metric(self.metrics(), name)

    def events(self, metric_id: str, start: datetime | str, end: datetime | str, parts: int = 8) -> pd.DataFrame:
        """Events of one metric with ``start <= datetime < end``, fetched as concurrent date ranges.

        What is asked of Klaviyo is the whole UTC days around the window (``start`` floored, ``end`` raised
        to the next midnight), cut here to ``[start, end)``: a window computed from "now" then repeats the
        same requests all day, so a rerun within the cache lifetime is served from the cache.
        """
        lo, hi = as_dt(start), as_dt(end)
        chains = equal_ranges("events", STREAMS["events"], f'equals(metric_id,"{metric_id}")', whole_day(lo),
                              whole_day(hi, up=True), parts)
        frame = frames.build_frame(frames.EVENT, fetch_chains(self, chains, desc="events"))
        keep = (frame["datetime"] >= pd.Timestamp(lo)) & (frame["datetime"] < pd.Timestamp(hi))
        return frame[keep].sort_values("datetime", kind="stable").reset_index(drop=True)

    def catalog_categories(self) -> pd.DataFrame:
        return self._listing("catalog_categories", frames.CATALOG_CATEGORY)

    def catalog_items(self) -> pd.DataFrame:
        """Catalog items with the ids of their categories (one filtered listing per category)."""
        stream = STREAMS["catalog_items"]
        items = list(self.paginate(stream.path, stream.query()))
        categories = list(self.catalog_categories()["category_id"])
        members = self._map(lambda cid: [o["id"] for o in self.paginate(
            stream.path, stream.query(fields=["external_id"], filter=f'equals(category.id,"{cid}")'))], categories)
        by_item: dict[str, list[str]] = {}
        for cid, item_ids in zip(categories, members, strict=True):
            for iid in item_ids:
                by_item.setdefault(iid, []).append(cid)
        return frames.build_frame(frames.CATALOG_ITEM,
                                  [{"item": o, "category_ids": by_item.get(o["id"], [])} for o in items])

    # -- reporting API ----------------------------------------------------------------------------
    def _report_pages(self, kind: str, timeframe: str | Mapping[str, Any], conversion_metric_id: str | None,
                      statistics: Sequence[str], filter: str | None, **extra: Any) -> list[dict]:
        """Every page of one reporting POST (``extra``: more attributes, e.g. a series' interval)."""
        report = REPORTS[kind]
        if conversion_metric_id is None:
            conversion_metric_id = self.metric_id("Placed Order")
        tf = {"key": timeframe} if isinstance(timeframe, str) else custom_timeframe(timeframe)
        attributes: dict[str, Any] = {"statistics": list(statistics), "timeframe": tf,
                                      "conversion_metric_id": conversion_metric_id,
                                      "group_by": list(report.group_by), **extra}
        if filter:
            attributes["filter"] = filter
        body = {"data": {"type": report.resource, "attributes": attributes}}
        docs: list[dict] = []
        url: str | None = report.path
        seen: set[str] = set()
        pages_seen: set[str] = set()
        while url:  # one POST for everything; follow page_cursor from links.next if the answer is paged
            doc = self.request("POST", url, body=body, ttl=report.ttl)
            docs.append(doc)
            page = dig(doc, "data", "attributes", "results") or []
            nxt = dig(doc, "links", "next")
            if not nxt:
                break
            # Each page is a POST from a 225-a-day budget: a chain that cannot end must not spend it.
            fingerprint = json.dumps(page, sort_keys=True, default=str)
            if nxt in seen or fingerprint in pages_seen or len(seen) >= MAX_REPORT_PAGES:
                raise KlaviyoError(f"Klaviyo's {report.path} kept paging (page {len(seen) + 1} repeats an earlier "
                                   f"one or passes {MAX_REPORT_PAGES}); stopped so it cannot loop - rerun later.")
            seen.add(nxt)
            pages_seen.add(fingerprint)
            url = self._url(nxt)
        return docs

    def _values_report(self, kind: str, timeframe: str | Mapping[str, Any], conversion_metric_id: str | None,
                       statistics: Sequence[str], filter: str | None) -> pd.DataFrame:
        docs = self._report_pages(kind, timeframe, conversion_metric_id, statistics, filter)
        results = [r for doc in docs for r in dig(doc, "data", "attributes", "results") or []]
        return frames.build_frame(frames.report_columns(REPORTS[kind].group_by, statistics), results)

    def flow_values_report(self, timeframe: str | Mapping[str, Any] = "last_90_days",
                           conversion_metric_id: str | None = None,
                           statistics: Sequence[str] = DEFAULT_STATISTICS, filter: str | None = None) -> pd.DataFrame:
        """One row per (flow_id, flow_message_id, send_channel) with one column per statistic: one POST."""
        return self._values_report("flow", timeframe, conversion_metric_id, statistics, filter)

    def campaign_values_report(self, timeframe: str | Mapping[str, Any] = "last_365_days",
                               conversion_metric_id: str | None = None,
                               statistics: Sequence[str] = DEFAULT_STATISTICS,
                               filter: str | None = None) -> pd.DataFrame:
        """One row per (campaign_id, campaign_message_id, send_channel), one column per statistic: one POST."""
        return self._values_report("campaign", timeframe, conversion_metric_id, statistics, filter)

    def flow_series_report(self, timeframe: str | Mapping[str, Any] = "last_365_days",
                           conversion_metric_id: str | None = None, interval: str = "weekly",
                           statistics: Sequence[str] = DEFAULT_STATISTICS, filter: str | None = None) -> pd.DataFrame:
        """One row per (flow_id, flow_message_id, send_channel, date_time): the flow-values statistics per step
        of ``interval`` (Klaviyo: daily for at most 60 days, monthly for at most 52 weeks, weekly up to a
        year). One POST (a reporting call from the 225-a-day budget), cached like the values report."""
        docs = self._report_pages("flow_series", timeframe, conversion_metric_id, statistics, filter,
                                  interval=interval)
        return frames.series_frame(REPORTS["flow_series"].group_by, statistics, docs)
