"""What the client asks Klaviyo for, declared as data (MeltanoLabs/tap-klaviyo style).

A :class:`Stream` is one collection endpoint: path, JSON:API type, page size, sparse fieldsets,
``additional-fields``, ``include``, sort, cache lifetime, and the datetime attribute a large
listing is split on (:mod:`helpers.klaviyo.split`). A :class:`Report` is one reporting endpoint.
Slow-changing data is cached; predictive analytics at most once per 24 h, as Klaviyo recommends
(it recomputes them about daily).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

HOUR = timedelta(hours=1)

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
    fields: tuple[str, ...] = ()  # fields[<resource>]; empty = every attribute
    additional: tuple[str, ...] = ()  # additional-fields[<resource>]
    include: tuple[str, ...] = ()  # related types to embed in the page (compound document)
    included_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # fields[<included type>]
    sort: str | None = None
    ttl: timedelta | None = None  # cache lifetime; None = always fetched
    # Paging: every listing follows links.next. A large one can also be fetched as concurrent
    # disjoint ranges of this datetime attribute; ``strict_range``: its filter allows only
    # greater-than/less-than (profiles.created), not greater-or-equal.
    split_on: str | None = None
    strict_range: bool = False
    # The most records this collection plausibly holds on any account (None: only the chain ceiling and
    # the counts an account reports bound it); a cursor chain running far past it is stopped as a loop.
    plausible: int | None = None

    def query(self, *, fields: tuple[str, ...] | list[str] | None = None,
              additional: tuple[str, ...] | list[str] | None = None, **overrides: Any) -> dict[str, Any]:
        """The first page's query string: the declaration, ``fields``/``additional`` replacing the
        declared ones (an empty list drops the parameter), then ``overrides`` (None values ignored)."""
        fields = self.fields if fields is None else tuple(fields)
        additional = self.additional if additional is None else tuple(additional)
        q: dict[str, Any] = {}
        if self.page_size:
            q["page[size]"] = self.page_size
        if additional:
            q[f"additional-fields[{self.resource}]"] = ",".join(additional)
        if fields:
            q[f"fields[{self.resource}]"] = ",".join(fields)
        if self.include:
            q["include"] = ",".join(self.include)
        for kind, names in self.included_fields.items():
            q[f"fields[{kind}]"] = ",".join(names)
        if self.sort:
            q["sort"] = self.sort
        q.update({k: v for k, v in overrides.items() if v is not None})
        return q

    def probe(self) -> dict[str, Any]:
        """The cheapest query for the last value of :attr:`split_on` (one record, newest first)."""
        assert self.split_on, f"{self.path} declares no split attribute"
        return {f"fields[{self.resource}]": self.split_on, "sort": f"-{self.split_on}", "page[size]": 1}


STREAMS: dict[str, Stream] = {
    "profiles": Stream("/api/profiles", "profile", 100, additional=("predictive_analytics", "subscriptions"),
                       sort="created", ttl=24 * HOUR, split_on="created", strict_range=True),
    "segments": Stream("/api/segments", "segment", 10, fields=("name", "created", "updated", "is_active", "definition"),
                       ttl=6 * HOUR, plausible=10_000),
    "segment": Stream("/api/segments/{id}", "segment", None, fields=("profile_count",),
                      additional=("profile_count",), ttl=6 * HOUR),
    "segment_members": Stream("/api/segments/{id}/profiles", "profile", 100, fields=("joined_group_at",),
                              sort="joined_group_at", ttl=6 * HOUR, split_on="joined_group_at"),
    "flows": Stream("/api/flows", "flow", 50, fields=("name", "status", "archived", "created", "updated", "trigger_type"),
                    include=("flow-actions",), ttl=24 * HOUR, plausible=10_000),
    # One flow with its definition (triggers, profile filter): only the single-flow endpoint has it.
    "flow": Stream("/api/flows/{id}", "flow", None, fields=("name", "status", "archived", "trigger_type", "definition"),
                   additional=("definition",), ttl=24 * HOUR),
    "flow_actions": Stream("/api/flows/{id}/flow-actions", "flow-action", 50, ttl=24 * HOUR, plausible=2_000),
    "flow_messages": Stream("/api/flow-actions/{id}/flow-messages", "flow-message", 50, ttl=24 * HOUR,
                            plausible=500),
    "campaigns": Stream("/api/campaigns", "campaign", 100,
                        fields=("name", "status", "archived", "audiences", "send_time", "created_at", "updated_at"),
                        include=("campaign-messages",),
                        included_fields={"campaign-message": ("definition", "send_times")}, ttl=6 * HOUR,
                        plausible=200_000),
    "metrics": Stream("/api/metrics", "metric", None, fields=("name", "created", "updated", "integration"),
                      ttl=24 * HOUR, plausible=10_000),
    "events": Stream("/api/events", "event", 1000, fields=("datetime", "event_properties"), sort="datetime",
                     ttl=6 * HOUR, split_on="datetime"),
    "catalog_items": Stream("/api/catalog-items", "catalog-item", 100,
                            fields=("external_id", "title", "description", "price"), ttl=24 * HOUR,
                            plausible=2_000_000),
    "catalog_categories": Stream("/api/catalog-categories", "catalog-category", 100,
                                 fields=("name", "external_id"), ttl=24 * HOUR, plausible=100_000),
}


@dataclass(frozen=True)
class Report:
    """A reporting endpoint: one POST answers every grouping; paged (links.next) only when large."""

    path: str
    resource: str
    group_by: tuple[str, ...]
    ttl: timedelta = 12 * HOUR  # relative timeframes move daily; the 225/day cap makes caching matter


REPORTS = {
    "flow": Report("/api/flow-values-reports", "flow-values-report", ("flow_id", "flow_message_id", "send_channel")),
    "campaign": Report("/api/campaign-values-reports", "campaign-values-report",
                       ("campaign_id", "campaign_message_id", "send_channel")),
    # The same statistics per day, week or month: a message's own history (notebook 02, one call a run).
    "flow_series": Report("/api/flow-series-reports", "flow-series-report",
                          ("flow_id", "flow_message_id", "send_channel")),
}
DEFAULT_STATISTICS = (
    "recipients", "delivered", "opens_unique", "open_rate", "clicks_unique", "click_rate", "conversion_uniques",
    "conversion_rate", "conversion_value", "revenue_per_recipient", "unsubscribe_rate", "bounce_rate",
)

# Klaviyo's links.next end the path in a slash ("/api/profiles/?page%5Bcursor%5D=..."): match both spellings.
_TEMPLATES = [(re.compile("^" + re.sub(r"\\\{id\\\}", "[^/]+", re.escape(s.path)) + "/?$"), s) for s in STREAMS.values()]


def stream_for(path: str) -> Stream | None:
    """The declared stream a concrete path belongs to (for its cache lifetime)."""
    for regex, stream in _TEMPLATES:
        if regex.match(path):
            return stream
    for spec in REPORTS.values():
        if path.rstrip("/") == spec.path:
            return Stream(spec.path, spec.resource, ttl=spec.ttl)
    return None
