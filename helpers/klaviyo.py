"""The Klaviyo client: JSON:API pagination, streams declared as data, typed frames, the reporting API.

    from helpers.klaviyo import KlaviyoClient
    kc = KlaviyoClient.from_env()                 # KLAVIYO_API_KEY / _BASE_URL / _REVISION (+ .env)
    for obj in kc.paginate("/api/segments", {"page[size]": 10}): ...
    kc.profiles()                                 # notebook 01 frame (predictive analytics + consent)
    kc.requests_sent                              # HTTP requests actually sent (cache hits excluded)

Every request goes through :mod:`helpers.http`: pacing against Klaviyo's per-bucket fixed windows,
urllib3 retries (429 with Retry-After, 5xx, timeouts, dropped connections), and an on-disk
requests-cache with the per-stream lifetimes declared in :data:`STREAMS`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
import pandas as pd
import requests

from helpers import ratelimits, report
from helpers.config import ConfigError, KlaviyoSettings, cache_dir
from helpers.http import DailyLimitReached, Pacer, RequestStats, make_retry, make_session, transport_failure

JSONAPI = "application/vnd.api+json"
HOUR = timedelta(hours=1)


class KlaviyoError(RuntimeError):
    """A Klaviyo request failed in a way a person can act on; the message says what to do."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------------------------------
# Streams as data (MeltanoLabs/tap-klaviyo style): path, resource type, page size, default params and
# cache lifetime. Slow-changing data is cached; predictive analytics at most once per 24 h, as Klaviyo
# recommends (it recomputes them about daily).
# --------------------------------------------------------------------------------------------------

PREDICTIVE_FIELDS = (
    "historic_clv", "predicted_clv", "total_clv", "historic_number_of_orders", "predicted_number_of_orders",
    "average_days_between_orders", "average_order_value", "churn_probability", "expected_date_of_next_order",
    "ranked_channel_affinity",
)


@dataclass(frozen=True)
class Stream:
    path: str  # may hold {id}
    resource: str  # JSON:API type of the items
    page_size: int | None = None  # None: the endpoint has a fixed page size
    params: Mapping[str, str] = field(default_factory=dict)
    ttl: timedelta | None = None  # cache lifetime; None = always fetched

    def query(self, **overrides: Any) -> dict[str, Any]:
        q: dict[str, Any] = {}
        if self.page_size:
            q["page[size]"] = self.page_size
        q.update(self.params)
        q.update({k: v for k, v in overrides.items() if v is not None})
        return q


STREAMS: dict[str, Stream] = {
    "profiles": Stream(
        "/api/profiles", "profile", 100,
        {"additional-fields[profile]": "predictive_analytics,subscriptions", "sort": "created"},
        ttl=24 * HOUR,
    ),
    "segments": Stream(
        "/api/segments", "segment", 10,
        {"fields[segment]": "name,created,updated,is_active,definition"}, ttl=6 * HOUR,
    ),
    "segment": Stream("/api/segments/{id}", "segment", None,
                      {"additional-fields[segment]": "profile_count", "fields[segment]": "profile_count"},
                      ttl=6 * HOUR),
    "segment_members": Stream("/api/segments/{id}/profiles", "profile", 100,
                              {"fields[profile]": "joined_group_at", "sort": "joined_group_at"}, ttl=6 * HOUR),
    "flows": Stream("/api/flows", "flow", 50,
                    {"fields[flow]": "name,status,archived,created,updated,trigger_type",
                     "include": "flow-actions"}, ttl=24 * HOUR),
    "flow_actions": Stream("/api/flows/{id}/flow-actions", "flow-action", 50, {}, ttl=24 * HOUR),
    "flow_messages": Stream("/api/flow-actions/{id}/flow-messages", "flow-message", 50, {}, ttl=24 * HOUR),
    "campaigns": Stream("/api/campaigns", "campaign", 100,
                        {"include": "campaign-messages",
                         "fields[campaign]": "name,status,archived,send_time,created_at,updated_at",
                         "fields[campaign-message]": "definition,send_times"}, ttl=6 * HOUR),
    "metrics": Stream("/api/metrics", "metric", None, {"fields[metric]": "name,created,updated,integration"},
                      ttl=24 * HOUR),
    "events": Stream("/api/events", "event", 1000,
                     {"fields[event]": "datetime,event_properties", "sort": "datetime"}, ttl=6 * HOUR),
    "catalog_items": Stream("/api/catalog-items", "catalog-item", 100,
                            {"fields[catalog-item]": "external_id,title,description,price"}, ttl=24 * HOUR),
    "catalog_categories": Stream("/api/catalog-categories", "catalog-category", 100,
                                 {"fields[catalog-category]": "name,external_id"}, ttl=24 * HOUR),
}


@dataclass(frozen=True)
class Report:
    path: str
    resource: str
    group_by: tuple[str, ...]
    ttl: timedelta = 12 * HOUR  # relative timeframes move daily; the 225/day cap makes caching matter


REPORTS = {
    "flow": Report("/api/flow-values-reports", "flow-values-report", ("flow_id", "flow_message_id", "send_channel")),
    "campaign": Report("/api/campaign-values-reports", "campaign-values-report",
                       ("campaign_id", "campaign_message_id", "send_channel")),
}
DEFAULT_STATISTICS = (
    "recipients", "delivered", "opens_unique", "open_rate", "clicks_unique", "click_rate", "conversion_uniques",
    "conversion_rate", "conversion_value", "revenue_per_recipient", "unsubscribe_rate", "bounce_rate",
)

_TEMPLATES = [(re.compile("^" + re.sub(r"\\\{id\\\}", "[^/]+", re.escape(s.path)) + "$"), s) for s in STREAMS.values()]


def stream_for(path: str) -> Stream | None:
    """The declared stream a concrete path belongs to (for its cache lifetime)."""
    for regex, stream in _TEMPLATES:
        if regex.match(path):
            return stream
    for spec in REPORTS.values():
        if path == spec.path:
            return Stream(spec.path, spec.resource, ttl=spec.ttl)
    return None


# --------------------------------------------------------------------------------------------------
# Helpers for JSON:API documents and filters.
# --------------------------------------------------------------------------------------------------

def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_dt(value: str | None) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _as_dt(value: datetime | str) -> datetime:
    dt = _parse_dt(value) if isinstance(value, str) else value
    assert dt is not None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _and(*conditions: str | None) -> str | None:
    parts = [c for c in conditions if c]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else f"and({','.join(parts)})"


def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _rel_id(obj: Mapping, name: str) -> str | None:
    data = _dig(obj, "relationships", name, "data")
    return data.get("id") if isinstance(data, Mapping) else None


def _to_utc(values: Sequence[Any]) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601", errors="coerce")


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


# --------------------------------------------------------------------------------------------------
# The client.
# --------------------------------------------------------------------------------------------------

_PACERS: dict[tuple[str, str, float], Pacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(base_url: str, api_key: str, scale: float) -> Pacer:
    """One pacer per account and process: every client of one key draws on the same buckets."""
    key = (base_url, hashlib.sha256(api_key.encode()).hexdigest(), scale)
    with _PACERS_LOCK:
        if key not in _PACERS:
            _PACERS[key] = Pacer(ratelimits.limit_for, scale=scale)
        return _PACERS[key]


class KlaviyoClient:
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
        attempts: int = 6,
        backoff: float = 0.5,
        max_retry_after: float = 90.0,
        timeout: tuple[float, float] = (10.0, 120.0),
    ) -> None:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(\.pre)?", settings.revision):
            raise ConfigError(
                f"KLAVIYO_REVISION={settings.revision!r} is not a revision date (YYYY-MM-DD); "
                f"unset it to use {ratelimits.revision()}."
            )
        self.settings = settings
        self.refresh = refresh
        self.show_progress = progress
        self.concurrency = max(1, concurrency)
        self.stats = RequestStats()
        self.pacer = shared_pacer(settings.base_url, settings.api_key, rate_scale)
        # Responses differ by revision (and an unsupported one is refused), so each revision has its own cache.
        fingerprint = hashlib.sha256(
            f"{settings.base_url}\n{settings.api_key}\n{settings.revision}".encode()).hexdigest()[:16]
        self.session = make_session(
            headers={
                "Authorization": f"Klaviyo-API-Key {settings.api_key}",
                "revision": settings.revision,
                "accept": JSONAPI,
            },
            pacer=self.pacer,
            stats=self.stats,
            retry=make_retry(attempts, backoff=backoff, max_retry_after=max_retry_after),
            timeout=timeout,
            cache_path=cache_dir() / f"klaviyo-{fingerprint}.sqlite" if cache else None,
            pool_size=max(32, self.concurrency * 2),
        )
        self.attempts = attempts
        self.timeout = timeout  # (connect, read) seconds

    def __repr__(self) -> str:
        return f"KlaviyoClient({self.settings!r}, requests_sent={self.requests_sent})"

    @classmethod
    def from_env(cls, refresh: bool = False, progress: bool | None = None, **kw: Any) -> KlaviyoClient:
        """Settings from the environment/.env. ``KLAVIYO_RATE_SCALE`` (sandbox/bench only) scales the limits
        the client paces against, to match a sandbox started with ``--rate-scale``."""
        settings = KlaviyoSettings.from_env()
        if "rate_scale" not in kw and os.environ.get("KLAVIYO_RATE_SCALE", "").strip():
            try:
                kw["rate_scale"] = float(os.environ["KLAVIYO_RATE_SCALE"])
            except ValueError:
                raise ConfigError("KLAVIYO_RATE_SCALE must be a number (e.g. 1 or 0.5).") from None
        return cls(settings, refresh=refresh, progress=progress, **kw)

    @property
    def requests_sent(self) -> int:
        return self.stats.sent

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> KlaviyoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------------
    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.settings.base_url + "/", path_or_url.lstrip("/"))

    def request(
        self,
        method: str,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        ttl: timedelta | None = None,
    ) -> dict[str, Any]:
        """One request through every policy; returns the JSON document or raises :class:`KlaviyoError`."""
        url = self._url(path_or_url)
        path = urlsplit(url).path
        if ttl is None:
            stream = stream_for(path)
            ttl = stream.ttl if stream else None
        kwargs: dict[str, Any] = {"params": dict(params or {}) or None}
        if body is not None:
            kwargs["data"] = json.dumps(body, sort_keys=True)
            kwargs["headers"] = {"content-type": JSONAPI}
        if ttl is not None and hasattr(self.session, "cache"):
            kwargs["expire_after"] = ttl
            kwargs["force_refresh"] = self.refresh
        try:
            response = self.session.request(method, url, **kwargs)
        except DailyLimitReached as exc:
            raise KlaviyoError(f"Klaviyo {exc}", 429) from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            reason = transport_failure(exc, self.timeout)
            raise KlaviyoError(
                f"could not reach Klaviyo for {method} {path} after {self.attempts} attempts ({reason}); "
                f"check KLAVIYO_BASE_URL={self.settings.base_url} and the network, then rerun."
            ) from None
        if response.status_code >= 400:
            raise self._error(method, path, response)
        try:
            return response.json()
        except ValueError:
            raise KlaviyoError(f"Klaviyo answered {method} {path} with a body that is not JSON.") from None

    def _error(self, method: str, path: str, response: requests.Response) -> KlaviyoError:
        status = response.status_code
        ctype = response.headers.get("content-type", "")
        detail = ""
        if "json" in ctype:
            try:
                errors = response.json().get("errors") or [{}]
                first = errors[0]
                detail = str(first.get("detail") or first.get("title") or "").strip()
            except (ValueError, AttributeError, IndexError):
                detail = ""
        what = f"{method} {path}"
        if status == 401:
            return KlaviyoError(
                f"Klaviyo rejected the API key (401) on {what}: set KLAVIYO_API_KEY to a current private key "
                "(pk_...) of this account.", status)
        if status == 403:
            if "html" in ctype or response.headers.get("cf-mitigated"):
                return KlaviyoError(
                    f"Klaviyo's bot protection blocked {what} (403 challenge page, not a missing scope); "
                    "rerun later or from another network.", status)
            scopes = ratelimits.scopes_for(method, path)
            need = ", ".join(scopes) if scopes else "the read scope for this endpoint"
            return KlaviyoError(
                f"the API key lacks a scope for {what} (403): grant {need} to the key under "
                "Settings > API keys in Klaviyo.", status)
        if status in (400, 404, 410) and "revision" in detail.lower():
            return KlaviyoError(
                f"Klaviyo does not accept revision {self.settings.revision} ({status}: {detail}); set "
                f"KLAVIYO_REVISION to a supported revision or unset it to use {ratelimits.revision()}.", status)
        if status == 410:
            return KlaviyoError(
                f"revision {self.settings.revision} is retired (410 on {what}); set KLAVIYO_REVISION to a "
                f"supported revision such as {ratelimits.revision()}.", status)
        if status == 404:
            return KlaviyoError(f"Klaviyo has no {path} (404): check the id, it may have been deleted.", status)
        if status == 429:
            wait = response.headers.get("Retry-After")
            lim = ratelimits.limit_for(method, path)
            if lim is not None and lim.daily is not None:
                return KlaviyoError(
                    f"Klaviyo's daily limit for {lim.bucket} ({lim.daily}/day, shared by every app on the account) "
                    f"is used up; retry in {wait or 'some'} s (after midnight UTC) - cached reports are reused.",
                    status)
            return KlaviyoError(
                f"Klaviyo kept throttling {what} (429, Retry-After {wait}) after {self.attempts} attempts; another "
                "integration may be using this account's limit - rerun later.", status)
        if status >= 500:
            return KlaviyoError(
                f"Klaviyo failed on {what} ({status}) after {self.attempts} attempts; rerun later "
                "(results fetched so far are cached).", status)
        return KlaviyoError(f"Klaviyo refused {what} ({status}): {detail or response.reason}", status)

    # -- pagination -------------------------------------------------------------------------------
    def pages(self, path: str, params: Mapping[str, Any] | None = None,
              ttl: timedelta | None = None) -> Iterator[dict[str, Any]]:
        """Every page document of a collection, following ``links.next`` verbatim until it is absent."""
        url: str | None = self._url(path)
        query: Mapping[str, Any] | None = params
        seen: set[str] = set()
        while url:
            doc = self.request("GET", url, query, ttl=ttl)
            yield doc
            nxt = _dig(doc, "links", "next")
            if nxt:
                nxt = self._url(nxt)
                if nxt in seen:
                    raise KlaviyoError(f"Klaviyo returned a pagination cycle on {path}; rerun with refresh=True.")
                seen.add(nxt)
            url, query = nxt, None  # the next link already carries every parameter

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
        if len(items) <= 1:
            return [fn(i) for i in items]
        disable = None if self.show_progress is None else not self.show_progress
        bar = report.progress(total=len(items), desc=desc, leave=False, disable=disable) if desc else None
        out: list[Any] = [None] * len(items)
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            futures = {pool.submit(fn, item): k for k, item in enumerate(items)}
            for fut in _as_completed(futures):
                out[futures[fut]] = fut.result()
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        return out

    def _split_fetch(self, jobs: Sequence[_Split], desc: str, max_parts: int = 16,
                     pages_per_chain: int = 6) -> dict[str, list[dict]]:
        """Fetch several collections as concurrent cursor chains over disjoint ranges of a datetime.

        One chain is latency-bound (one request in flight), so a large collection is cut into ranges
        of its sort attribute, sized from the first page's density. Overlap at range edges is possible
        (strict operators, ties) and removed by id; nothing is lost because the ranges cover the line.
        """
        def first_page(job: _Split) -> tuple[list[dict], str | None]:
            doc = self.request("GET", job.path, {**job.params, **_filter(job.base_filter)})
            return list(doc.get("data") or []), _dig(doc, "links", "next")

        firsts = self._map(first_page, list(jobs))

        def spans_time(records: list[dict], attr: str) -> bool:
            return _dig(records[0], "attributes", attr) != _dig(records[-1], "attributes", attr)

        # Page 1 all at one instant (a segment's initial members join together): time ranges cannot cut
        # that block, so keep following its cursor; it starts first as it is likely the longest.
        big = [j for j, (recs, nxt) in zip(jobs, firsts, strict=True) if nxt and spans_time(recs, j.attr)]
        chains: list[_Chain] = [_Chain(j.key, nxt, {}, weight=float("inf"))
                                for j, (recs, nxt) in zip(jobs, firsts, strict=True)
                                if nxt and not spans_time(recs, j.attr)]

        def last_value(job: _Split) -> datetime | None:
            doc = self.request("GET", job.path, {**job.probe_params, **_filter(job.base_filter)})
            data = doc.get("data") or []
            return _parse_dt(_dig(data[0], "attributes", job.attr)) if data else None

        lasts = dict(zip([j.key for j in big], self._map(last_value, big), strict=True))
        for job, (records, _nxt) in zip(jobs, firsts, strict=True):
            if job.key not in lasts:
                continue
            lo = _parse_dt(_dig(records[0], "attributes", job.attr))
            mid = _parse_dt(_dig(records[-1], "attributes", job.attr))
            hi = lasts[job.key]
            chains.extend(_range_chains(job, lo, mid, hi, len(records), max_parts, pages_per_chain))
        chains.sort(key=lambda c: -c.weight)  # longest first, so no long chain is left alone at the end
        results = self._map(lambda c: list(self.paginate(c.path, c.params)), chains, desc=desc)
        out: dict[str, list[dict]] = {}
        for job, (records, _nxt) in zip(jobs, firsts, strict=True):
            out[job.key] = list(records)
        for chain, records in zip(chains, results, strict=True):
            out[chain.key].extend(records)
        for key, records in out.items():
            out[key] = _unique(records)
        return out

    # -- typed methods ----------------------------------------------------------------------------
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
        params = stream.query(**{"fields[profile]": ",".join(fields),
                                 "additional-fields[profile]": ",".join(additional) or None})
        if not additional:
            params.pop("additional-fields[profile]", None)
        job = _Split("profiles", stream.path, params, "created", strict=True,
                     probe_params={"fields[profile]": "created", "sort": "-created", "page[size]": 1})
        records = self._split_fetch([job], "profiles")["profiles"]
        return profiles_frame(records, email=email, phone=phone)

    def profile_count(self) -> int:
        """How many profiles the account holds (ids only, in the cheaper plain-profiles bucket)."""
        stream = STREAMS["profiles"]
        params = {"fields[profile]": "created", "sort": "created", "page[size]": stream.page_size}
        job = _Split("count", stream.path, params, "created", strict=True,
                     probe_params={"fields[profile]": "created", "sort": "-created", "page[size]": 1})
        return len(self._split_fetch([job], "profiles")["count"])

    def segments(self, *, counts: bool = False) -> pd.DataFrame:
        """All segments; ``counts=True`` adds ``profile_count`` (Klaviyo allows 1/s, 15/min for that)."""
        stream = STREAMS["segments"]
        rows = [{
            "segment_id": obj["id"],
            "name": _dig(obj, "attributes", "name"),
            "created": _dig(obj, "attributes", "created"),
            "updated": _dig(obj, "attributes", "updated"),
            "is_active": bool(_dig(obj, "attributes", "is_active")),
            "definition": _dig(obj, "attributes", "definition"),
        } for obj in self.paginate(stream.path, stream.query())]
        frame = pd.DataFrame(rows, columns=["segment_id", "name", "created", "updated", "is_active", "definition"])
        frame["created"], frame["updated"] = _to_utc(frame["created"]), _to_utc(frame["updated"])
        frame["is_active"] = frame["is_active"].astype(bool)
        if counts:
            one = STREAMS["segment"]

            def count(seg_id: str) -> int | None:
                doc = self.request("GET", one.path.format(id=seg_id), one.query())
                return _dig(doc, "data", "attributes", "profile_count")

            frame["profile_count"] = pd.array(self._map(count, list(frame["segment_id"]), "segment counts"),
                                              dtype="Int64")
        return frame

    def segment_members(self, ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Profile ids of every member of each segment (all segments when ``ids`` is None)."""
        ids = list(self.segments()["segment_id"]) if ids is None else list(ids)
        stream = STREAMS["segment_members"]
        jobs = [_Split(seg_id, stream.path.format(id=seg_id), stream.query(), "joined_group_at", strict=False,
                       probe_params={"fields[profile]": "joined_group_at", "sort": "-joined_group_at",
                                     "page[size]": 1}) for seg_id in ids]
        found = self._split_fetch(jobs, "segment members")
        return {seg_id: np.array([r["id"] for r in found[seg_id]], dtype=object) for seg_id in ids}

    def flows(self) -> pd.DataFrame:
        stream = STREAMS["flows"]
        rows = []
        for obj in self.paginate(stream.path, stream.query(include=None)):
            a = obj.get("attributes") or {}
            rows.append({"flow_id": obj["id"], "name": a.get("name"), "status": a.get("status"),
                         "archived": bool(a.get("archived")), "trigger_type": a.get("trigger_type"),
                         "created": a.get("created"), "updated": a.get("updated")})
        frame = pd.DataFrame(rows, columns=["flow_id", "name", "status", "archived", "trigger_type", "created",
                                            "updated"])
        frame["created"], frame["updated"] = _to_utc(frame["created"]), _to_utc(frame["updated"])
        return frame

    def flow_messages(self) -> pd.DataFrame:
        """Flows -> actions -> messages, with content (subject, preview text, SMS body)."""
        stream = STREAMS["flows"]
        flows: list[dict] = []
        actions: dict[str, list[dict]] = {}
        for doc in self.pages(stream.path, stream.query()):
            included = {(o.get("type"), o.get("id")): o for o in doc.get("included") or []}
            for flow in doc.get("data") or []:
                flows.append(flow)
                refs = _dig(flow, "relationships", "flow-actions", "data")
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
        rows = []
        for (flow, act), msgs in zip(pairs, messages, strict=True):
            fa = flow.get("attributes") or {}
            for msg in msgs:
                a = msg.get("attributes") or {}
                d = a.get("definition") or {}
                content = d.get("content") or {}
                rows.append({
                    "flow_id": flow["id"], "flow_name": fa.get("name"), "flow_status": fa.get("status"),
                    "trigger_type": fa.get("trigger_type"), "action_id": act["id"], "message_id": msg["id"],
                    "message_name": d.get("name") or a.get("name"),
                    "channel": a.get("channel") or d.get("channel"),
                    "subject": d.get("subject_line") or d.get("subject") or content.get("subject"),
                    "preview_text": d.get("preview_text") or content.get("preview_text"),
                    "body": d.get("body") or content.get("body"),
                })
        return pd.DataFrame(rows, columns=["flow_id", "flow_name", "flow_status", "trigger_type", "action_id",
                                           "message_id", "message_name", "channel", "subject", "preview_text",
                                           "body"])

    def campaigns(self, channel: str = "email") -> pd.DataFrame:
        """Campaigns of one channel (email, sms, mobile_push), one row per message."""
        stream = STREAMS["campaigns"]
        params = stream.query(filter=f"equals(messages.channel,'{channel}')")
        rows = []
        for doc in self.pages(stream.path, params):
            included = {(o.get("type"), o.get("id")): o for o in doc.get("included") or []}
            for camp in doc.get("data") or []:
                ca = camp.get("attributes") or {}
                refs = _dig(camp, "relationships", "campaign-messages", "data") or []
                msgs = [included.get(("campaign-message", r.get("id"))) for r in refs] or [None]
                for msg in msgs:
                    d = _dig(msg, "attributes", "definition") or {}
                    content = d.get("content") or {}
                    rows.append({
                        "campaign_id": camp["id"], "name": ca.get("name"), "channel": d.get("channel") or channel,
                        "status": ca.get("status"), "send_time": ca.get("send_time"),
                        "message_id": msg.get("id") if msg else None, "label": d.get("label"),
                        "subject": content.get("subject"), "preview_text": content.get("preview_text"),
                        "body": content.get("body"),
                    })
        frame = pd.DataFrame(rows, columns=["campaign_id", "name", "channel", "status", "send_time", "message_id",
                                            "label", "subject", "preview_text", "body"])
        frame["send_time"] = _to_utc(frame["send_time"])
        return frame

    def metrics(self) -> pd.DataFrame:
        stream = STREAMS["metrics"]
        rows = []
        for obj in self.paginate(stream.path, stream.query()):
            a = obj.get("attributes") or {}
            integration = a.get("integration") or {}
            category = integration.get("category")
            if isinstance(category, Mapping):  # seen as an object in the wild (MeltanoLabs)
                category = category.get("name") or category.get("category")
            rows.append({"metric_id": obj["id"], "name": a.get("name"),
                         "integration_name": integration.get("name"), "integration_category": category,
                         "created": a.get("created"), "updated": a.get("updated")})
        frame = pd.DataFrame(rows, columns=["metric_id", "name", "integration_name", "integration_category",
                                            "created", "updated"])
        frame["created"], frame["updated"] = _to_utc(frame["created"]), _to_utc(frame["updated"])
        return frame

    def metric_id(self, name: str = "Placed Order") -> str:
        """The id of the metric called ``name``; among duplicates, prefer an eCommerce integration, then
        the most recently updated."""
        frame = self.metrics()
        return choose_metric(frame, name)

    def events(self, metric_id: str, start: datetime | str, end: datetime | str, parts: int = 8) -> pd.DataFrame:
        """Events of one metric with ``start <= datetime < end``, fetched as concurrent date ranges."""
        stream = STREAMS["events"]
        lo, hi = _as_dt(start), _as_dt(end)
        step = (hi - lo) / max(1, parts)
        edges = [lo + step * k for k in range(parts)] + [hi]
        chains = []
        for k in range(parts):
            if edges[k + 1] <= edges[k]:
                continue
            flt = _and(f'equals(metric_id,"{metric_id}")', f"greater-or-equal(datetime,{_iso(edges[k])})",
                       f"less-than(datetime,{_iso(edges[k + 1])})")
            chains.append(_Chain("events", stream.path, stream.query(filter=flt)))
        found = self._map(lambda c: list(self.paginate(c.path, c.params)), chains, desc="events")
        records = _unique([r for part in found for r in part])
        rows = {"event_id": [], "datetime": [], "profile_id": [], "value": [], "properties": []}
        for obj in records:
            a = obj.get("attributes") or {}
            props = a.get("event_properties") or {}
            rows["event_id"].append(obj.get("id"))
            rows["datetime"].append(a.get("datetime"))
            rows["profile_id"].append(_rel_id(obj, "profile"))
            value = props.get("$value")
            rows["value"].append(float(value) if isinstance(value, (int, float)) else np.nan)
            rows["properties"].append(props)
        frame = pd.DataFrame(rows)
        frame["datetime"] = _to_utc(frame["datetime"])
        frame["value"] = frame["value"].astype(float)
        return frame.sort_values("datetime", kind="stable").reset_index(drop=True)

    def catalog_categories(self) -> pd.DataFrame:
        stream = STREAMS["catalog_categories"]
        rows = [{"category_id": o["id"], "name": _dig(o, "attributes", "name"),
                 "external_id": _dig(o, "attributes", "external_id")}
                for o in self.paginate(stream.path, stream.query())]
        return pd.DataFrame(rows, columns=["category_id", "name", "external_id"])

    def catalog_items(self) -> pd.DataFrame:
        """Catalog items with the ids of their categories (one filtered listing per category)."""
        stream = STREAMS["catalog_items"]
        items = list(self.paginate(stream.path, stream.query()))
        categories = list(self.catalog_categories()["category_id"])
        members = self._map(lambda cid: [o["id"] for o in self.paginate(
            stream.path, stream.query(**{"filter": f'equals(category.id,"{cid}")',
                                         "fields[catalog-item]": "external_id"}))], categories)
        by_item: dict[str, list[str]] = {}
        for cid, item_ids in zip(categories, members, strict=True):
            for iid in item_ids:
                by_item.setdefault(iid, []).append(cid)
        rows = []
        for o in items:
            a = o.get("attributes") or {}
            price = a.get("price")
            rows.append({"item_id": o["id"], "external_id": a.get("external_id"), "title": a.get("title"),
                         "description": a.get("description"),
                         "price": float(price) if isinstance(price, (int, float)) else np.nan,
                         "category_ids": by_item.get(o["id"], [])})
        frame = pd.DataFrame(rows, columns=["item_id", "external_id", "title", "description", "price",
                                            "category_ids"])
        frame["price"] = frame["price"].astype(float)
        return frame

    # -- reporting API ----------------------------------------------------------------------------
    def _values_report(self, kind: str, timeframe: str | Mapping[str, Any], conversion_metric_id: str | None,
                       statistics: Sequence[str], filter: str | None) -> pd.DataFrame:
        report = REPORTS[kind]
        if conversion_metric_id is None:
            conversion_metric_id = self.metric_id("Placed Order")
        tf = {"key": timeframe} if isinstance(timeframe, str) else dict(timeframe)
        attributes: dict[str, Any] = {"statistics": list(statistics), "timeframe": tf,
                                      "conversion_metric_id": conversion_metric_id,
                                      "group_by": list(report.group_by)}
        if filter:
            attributes["filter"] = filter
        body = {"data": {"type": report.resource, "attributes": attributes}}
        rows = []
        url: str | None = report.path
        seen: set[str] = set()
        while url:  # one POST for everything; follow page_cursor from links.next if the answer is paged
            doc = self.request("POST", url, body=body, ttl=report.ttl)
            for result in _dig(doc, "data", "attributes", "results") or []:
                row = dict(result.get("groupings") or {})
                row.update(result.get("statistics") or {})
                rows.append(row)
            nxt = _dig(doc, "links", "next")
            url = self._url(nxt) if nxt and nxt not in seen else None
            if nxt:
                seen.add(nxt)
        frame = pd.DataFrame(rows, columns=[*report.group_by, *statistics])
        for stat in statistics:
            frame[stat] = pd.to_numeric(frame[stat], errors="coerce").astype(float)
        return frame

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


# --------------------------------------------------------------------------------------------------
# Pure helpers (unit-tested without HTTP).
# --------------------------------------------------------------------------------------------------

def _as_completed(futures):
    from concurrent.futures import as_completed

    return as_completed(futures)


def _filter(flt: str | None) -> dict[str, str]:
    return {"filter": flt} if flt else {}


def _unique(records: Iterable[dict]) -> list[dict]:
    seen: set[tuple[str, str]] = set()
    out = []
    for r in records:
        key = (r.get("type", ""), r.get("id", ""))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _sends_message(action: Mapping) -> bool:
    kind = _dig(action, "attributes", "definition", "type") or _dig(action, "attributes", "action_type")
    if kind is None:
        return True  # unknown shape: ask, rather than miss messages
    return str(kind).lower().replace("_", "-").startswith("send-")


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
        cond_lo = f"{gt}({job.attr},{_iso(a - shift)})" if a else None
        cond_hi = f"less-than({job.attr},{_iso(b)})" if b else None
        flt = _and(job.base_filter, cond_lo, cond_hi)
        chains.append(_Chain(job.key, job.path, {**job.params, **_filter(flt)}, weight=est_pages / len(bounds)))
    return chains


def choose_metric(frame: pd.DataFrame, name: str) -> str:
    """Metric choice rule: exact name (else case-insensitive), eCommerce integration first, then newest."""
    hits = frame[frame["name"] == name]
    if hits.empty:
        hits = frame[frame["name"].astype(str).str.casefold() == name.casefold()]
    if hits.empty:
        known = ", ".join(sorted(map(str, frame["name"].dropna().unique()))[:12])
        raise KlaviyoError(f"no Klaviyo metric named {name!r}; the account has: {known or 'no metrics'}.")
    hits = hits.assign(
        _ecom=hits["integration_category"].astype(str).str.casefold().eq("ecommerce"),
        _upd=hits["updated"].fillna(pd.Timestamp(0, tz="UTC")),
    ).sort_values(["_ecom", "_upd"], ascending=[False, False], kind="stable")
    return str(hits.iloc[0]["metric_id"])


PROFILE_COLUMNS = [
    "profile_id", "created", "updated", "has_predictions", "historic_clv", "predicted_clv", "total_clv",
    "historic_number_of_orders", "predicted_number_of_orders", "average_days_between_orders",
    "average_order_value", "churn_probability", "expected_date_of_next_order", "preferred_channel",
    "email_consent", "sms_consent", "country", "region", "city",
]
_NUMERIC = ["historic_clv", "predicted_clv", "total_clv", "historic_number_of_orders",
            "predicted_number_of_orders", "average_days_between_orders", "average_order_value", "churn_probability"]


def profiles_frame(records: Sequence[Mapping[str, Any]], *, email: bool = False, phone: bool = False) -> pd.DataFrame:
    """JSON:API profile objects -> the notebook 01 frame (one pass, column lists, vectorised dtypes)."""
    n = len(records)
    cols: dict[str, list[Any]] = {c: [None] * n for c in PROFILE_COLUMNS}
    if email:
        cols["email"] = [None] * n
    if phone:
        cols["phone_number"] = [None] * n
    nan = float("nan")
    num = [(c, cols[c]) for c in _NUMERIC]
    pid, cre, upd, has = cols["profile_id"], cols["created"], cols["updated"], cols["has_predictions"]
    nxt, pref = cols["expected_date_of_next_order"], cols["preferred_channel"]
    econ, scon, ctry, reg, city = (cols["email_consent"], cols["sms_consent"], cols["country"], cols["region"],
                                   cols["city"])
    for i, obj in enumerate(records):
        a = obj.get("attributes") or {}
        pid[i] = obj.get("id")
        cre[i] = a.get("created")
        upd[i] = a.get("updated")
        pa = a.get("predictive_analytics")
        if pa:
            has[i] = True
            for c, col in num:
                v = pa.get(c)
                col[i] = nan if v is None else v
            nxt[i] = pa.get("expected_date_of_next_order")
            ranked = pa.get("ranked_channel_affinity")
            pref[i] = ranked[0] if ranked else None
        else:
            has[i] = False
            for _c, col in num:
                col[i] = nan
        subs = a.get("subscriptions") or {}
        econ[i] = bool(_dig(subs, "email", "marketing", "can_receive_email_marketing"))
        scon[i] = bool(_dig(subs, "sms", "marketing", "can_receive_sms_marketing"))
        loc = a.get("location") or {}
        ctry[i], reg[i], city[i] = loc.get("country"), loc.get("region"), loc.get("city")
        if email:
            cols["email"][i] = a.get("email")
        if phone:
            cols["phone_number"][i] = a.get("phone_number")
    frame = pd.DataFrame({
        "profile_id": pd.array(pid, dtype="str"),
        "created": _to_utc(cre),
        "updated": _to_utc(upd),
        "has_predictions": np.array(has, dtype=bool),
        **{c: np.array(col, dtype=float) for c, col in num},
        "expected_date_of_next_order": _to_utc(nxt),
        "preferred_channel": pd.array(pref, dtype="str"),
        "email_consent": np.array(econ, dtype=bool),
        "sms_consent": np.array(scon, dtype=bool),
        "country": pd.array(ctry, dtype="str"),
        "region": pd.array(reg, dtype="str"),
        "city": pd.array(city, dtype="str"),
        **({"email": pd.array(cols["email"], dtype="str")} if email else {}),
        **({"phone_number": pd.array(cols["phone_number"], dtype="str")} if phone else {}),
    })
    return frame
