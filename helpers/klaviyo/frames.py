"""Frames built from declared column specs: one table per frame, column name -> JSON path -> dtype.

A :class:`Column` names where its value sits in a record (dotted keys: ``attributes.location.city``,
a relationship: ``relationships.profile.data.id``), an optional per-value ``convert`` and the dtype.
A missing level or a null anywhere on the path is a missing value. Records are JSON:API resource
objects, or small dicts that join several (``{"flow": ..., "action": ..., "message": ...}``). The
paths follow the pinned revision 2026-07-15 (its OpenAPI document is in shared/specs), so older shapes
need no fallback chains; column names are the contract in docs/internals.md ("Klaviyo client frames").

The builder reads each shared path prefix once, as one list comprehension over all records (a trie of
the paths), so a million-profile frame builds as fast as the hand-written loop it replaced (``make bench``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from helpers.klaviyo.errors import KlaviyoError

DTYPES = (None, "str", "float", "bool", "datetime")


@dataclass(frozen=True)
class Column:
    name: str
    path: str  # dotted keys into the record
    # None: as pandas infers it (object when there are no rows); "str": pandas string; "float": numbers
    # and numeric text, anything else NaN; "bool": truthiness (missing = False); "datetime": UTC, NaT if unparsable.
    dtype: str | None = None
    convert: Callable[[Any], Any] | None = None  # applied to every raw value (None when missing)

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"column {self.name}: dtype {self.dtype!r} is not one of {DTYPES}")


def rel(name: str) -> str:
    """The path of a to-one relationship's id."""
    return f"relationships.{name}.data.id"


def first(values: Any) -> Any:
    """First item of a list (``ranked_channel_affinity`` -> preferred channel), None when empty."""
    return values[0] if isinstance(values, list) and values else None


def _to_float(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else np.nan
    except ValueError:
        return np.nan


def _floats(values: list[Any]) -> np.ndarray:
    try:
        out = np.array(values, dtype=float)  # numbers and None (-> NaN): the common case, in C
        if out.ndim == 1:  # not when every value is a list of the same length
            return out
    except (TypeError, ValueError):
        pass
    return np.array([_to_float(v) for v in values], dtype=float)


def to_utc(values: Sequence[Any]) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601", errors="coerce")


def _typed(values: list[Any], dtype: str | None) -> Any:
    if dtype is None:
        return values if values else np.array([], dtype=object)
    if dtype == "str":
        return pd.array(values, dtype="str")
    if dtype == "float":
        return _floats(values)
    if dtype == "bool":
        return np.array([bool(v) for v in values], dtype=bool)
    return to_utc(values).array


_LEAVES = object()  # key under which a trie node keeps the columns that end there


def _extract(columns: Sequence[Column], records: Sequence[Any]) -> dict[str, list[Any]]:
    """Raw values per column: a trie of the paths, each node one list comprehension over its parent's."""
    trie: dict[Any, Any] = {}
    for col in columns:
        node = trie
        for key in col.path.split("."):
            node = node.setdefault(key, {})
        node.setdefault(_LEAVES, []).append(col)
    out: dict[str, list[Any]] = {}

    def walk(node: dict[Any, Any], values: list[Any]) -> None:
        for col in node.get(_LEAVES, ()):
            out[col.name] = values
        for key, child in node.items():
            if key is not _LEAVES:
                walk(child, [v.get(key) if isinstance(v, dict) else None for v in values])

    walk(trie, list(records))
    return out


def _names(columns: Sequence[Column]) -> list[str]:
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate column names in a frame spec: {names}")
    return names


def _values(columns: Sequence[Column], records: Sequence[Any]) -> dict[str, list[Any]]:
    """Each column's converted (not yet typed) values for ``records``."""
    raw = _extract(columns, records)
    out = {}
    for col in columns:
        values = raw[col.name]
        out[col.name] = [col.convert(v) for v in values] if col.convert is not None else values
    return out


def _typed_frame(columns: Sequence[Column], values: Mapping[str, list[Any]]) -> pd.DataFrame:
    return pd.DataFrame({c.name: _typed(values[c.name], c.dtype) for c in columns}, columns=[c.name for c in columns])


def build_frame(columns: Sequence[Column], records: Sequence[Any]) -> pd.DataFrame:
    """The frame of ``records`` with exactly ``columns``, in order."""
    _names(columns)
    return _typed_frame(columns, _values(columns, records))


class FrameBuilder:
    """A frame built page by page, so a large listing never sits in memory as JSON.

    ``add`` takes one page's records and keeps only their column values (the page can be dropped);
    every ``chunk_rows`` rows those are typed (floats and datetimes become arrays). ``chunks`` are the
    typed pieces in order; :func:`concat_chunks` joins the pieces of several builders into the frame
    :func:`build_frame` would have built from all the records (same columns, dtypes and order).
    """

    def __init__(self, columns: Sequence[Column], chunk_rows: int = 5_000) -> None:
        _names(columns)
        self.columns = tuple(columns)
        self.chunk_rows = chunk_rows
        self._done: list[pd.DataFrame] = []
        self._pending: dict[str, list[Any]] = {c.name: [] for c in self.columns}
        self._rows = 0

    def add(self, records: Sequence[Any]) -> None:
        if not records:
            return
        for name, values in _values(self.columns, records).items():
            self._pending[name].extend(values)
        self._rows += len(records)
        if self._rows >= self.chunk_rows:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._done.append(_typed_frame(self.columns, self._pending))
            self._pending = {c.name: [] for c in self.columns}
            self._rows = 0

    def chunks(self) -> list[pd.DataFrame]:
        self._flush()
        return list(self._done)

    def frame(self) -> pd.DataFrame:
        return concat_chunks(self.columns, self.chunks())


def concat_chunks(columns: Sequence[Column], chunks: Sequence[pd.DataFrame],
                  unique_on: str | None = None) -> pd.DataFrame:
    """Typed chunks joined in order (``unique_on``: keep each value of that column's first row only)."""
    if not chunks:
        return build_frame(columns, [])
    frame = chunks[0] if len(chunks) == 1 else pd.concat(list(chunks), ignore_index=True)
    if unique_on is not None:
        dup = frame[unique_on].duplicated()
        if dup.any():
            frame = frame[~dup.to_numpy()]
    return frame.reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ specs

def _category(value: Any) -> Any:
    # integration is a free-form object; its category has been seen as an object too (MeltanoLabs).
    return (value.get("name") or value.get("category")) if isinstance(value, Mapping) else value


_PREDICTIVE = "attributes.predictive_analytics"
_NUMERIC = ("historic_clv", "predicted_clv", "total_clv", "historic_number_of_orders",
            "predicted_number_of_orders", "average_days_between_orders", "average_order_value", "churn_probability")
SCORED_BY = ("historic_clv", "predicted_clv", "total_clv", "churn_probability")


def has_predictions(value: Any) -> bool:
    """Whether a profile's ``predictive_analytics`` holds predictions. Klaviyo's document declares the object
    with every field nullable, so "not scored yet" comes either as null or as an object whose CLV and churn
    fields are all null; both read as no predictions (an object with other fields set, too)."""
    return isinstance(value, Mapping) and any(value.get(k) is not None for k in SCORED_BY)

PROFILE = (
    Column("profile_id", "id", "str"),
    Column("created", "attributes.created", "datetime"),
    Column("updated", "attributes.updated", "datetime"),
    Column("has_predictions", _PREDICTIVE, "bool", convert=has_predictions),
    *(Column(name, f"{_PREDICTIVE}.{name}", "float") for name in _NUMERIC),
    Column("expected_date_of_next_order", f"{_PREDICTIVE}.expected_date_of_next_order", "datetime"),
    Column("preferred_channel", f"{_PREDICTIVE}.ranked_channel_affinity", "str", convert=first),
    Column("email_consent", "attributes.subscriptions.email.marketing.can_receive_email_marketing", "bool"),
    Column("sms_consent", "attributes.subscriptions.sms.marketing.can_receive_sms_marketing", "bool"),
    Column("country", "attributes.location.country", "str"),
    Column("region", "attributes.location.region", "str"),
    Column("city", "attributes.location.city", "str"),
)
PROFILE_COLUMNS = [c.name for c in PROFILE]
PROFILE_CONTACT = {"email": Column("email", "attributes.email", "str"),
                   "phone": Column("phone_number", "attributes.phone_number", "str")}

SEGMENT = (
    Column("segment_id", "id"),
    Column("name", "attributes.name"),
    Column("created", "attributes.created", "datetime"),
    Column("updated", "attributes.updated", "datetime"),
    Column("is_active", "attributes.is_active", "bool"),
    Column("definition", "attributes.definition"),
)

FLOW = (
    Column("flow_id", "id"),
    Column("name", "attributes.name"),
    Column("status", "attributes.status"),
    Column("archived", "attributes.archived", "bool"),
    Column("trigger_type", "attributes.trigger_type"),
    Column("created", "attributes.created", "datetime"),
    Column("updated", "attributes.updated", "datetime"),
)

# Records: {"flow": flow, "action": flow-action, "message": flow-message}. Since 2025-10-15 a flow
# message's name and content sit in attributes.definition (FlowEmail / FlowSms / FlowPushNotification).
FLOW_MESSAGE = (
    Column("flow_id", "flow.id"),
    Column("flow_name", "flow.attributes.name"),
    Column("flow_status", "flow.attributes.status"),
    Column("trigger_type", "flow.attributes.trigger_type"),
    Column("action_id", "action.id"),
    Column("message_id", "message.id"),
    Column("message_name", "message.attributes.definition.name"),
    Column("channel", "message.attributes.channel"),
    Column("subject", "message.attributes.definition.subject_line"),
    Column("preview_text", "message.attributes.definition.preview_text"),
    Column("body", "message.attributes.definition.body"),
)

# Records: {"campaign": campaign, "message": its campaign-message or None}.
CAMPAIGN = (
    Column("campaign_id", "campaign.id"),
    Column("name", "campaign.attributes.name"),
    Column("channel", "message.attributes.definition.channel"),
    Column("status", "campaign.attributes.status"),
    Column("send_time", "campaign.attributes.send_time", "datetime"),
    Column("message_id", "message.id"),
    Column("label", "message.attributes.definition.label"),
    Column("subject", "message.attributes.definition.content.subject"),
    Column("preview_text", "message.attributes.definition.content.preview_text"),
    Column("body", "message.attributes.definition.content.body"),
    # Segment (or list) ids the campaign sends to and those it leaves out: a scheduled campaign reads them when
    # it sends, so notebook 03 must not retire them.
    Column("audiences_included", "campaign.attributes.audiences.included", convert=lambda ids: list(ids or [])),
    Column("audiences_excluded", "campaign.attributes.audiences.excluded", convert=lambda ids: list(ids or [])),
)

# GET /api/flows/{id}?additional-fields[flow]=definition: the flow and its encoded definition (triggers,
# profile_filter, actions), which the flows listing does not return.
FLOW_DEFINITION = (
    *(column for column in FLOW if column.name not in {"created", "updated"}),
    Column("definition", "attributes.definition", convert=lambda d: d if isinstance(d, Mapping) else {}),
)

METRIC = (
    Column("metric_id", "id"),
    Column("name", "attributes.name"),
    Column("integration_name", "attributes.integration.name"),
    Column("integration_category", "attributes.integration.category", convert=_category),
    Column("created", "attributes.created", "datetime"),
    Column("updated", "attributes.updated", "datetime"),
)

EVENT = (
    Column("event_id", "id"),
    Column("datetime", "attributes.datetime", "datetime"),
    Column("profile_id", rel("profile")),
    Column("value", "attributes.event_properties.$value", "float"),
    Column("properties", "attributes.event_properties", convert=lambda p: p or {}),
)

CATALOG_CATEGORY = (
    Column("category_id", "id"),
    Column("name", "attributes.name"),
    Column("external_id", "attributes.external_id"),
)

# Records: {"item": catalog-item, "category_ids": [ids of the categories listing it]}.
CATALOG_ITEM = (
    Column("item_id", "item.id"),
    Column("external_id", "item.attributes.external_id"),
    Column("title", "item.attributes.title"),
    Column("description", "item.attributes.description"),
    Column("price", "item.attributes.price", "float"),
    Column("category_ids", "category_ids"),
)


def report_columns(group_by: Sequence[str], statistics: Sequence[str]) -> tuple[Column, ...]:
    """A values report's results: one column per grouping, then one float column per statistic."""
    return (*(Column(g, f"groupings.{g}") for g in group_by),
            *(Column(s, f"statistics.{s}", "float") for s in statistics))


def series_frame(group_by: Sequence[str], statistics: Sequence[str], docs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A series report's pages -> one row per grouping and step: the groupings, ``date_time`` (UTC) and one
    float column per statistic (``statistics[name][i]`` belongs to ``date_times[i]``)."""
    rows: list[dict[str, Any]] = []
    for doc in docs:
        attributes = (doc.get("data") or {}).get("attributes") or {}
        times = list(attributes.get("date_times") or [])
        for result in attributes.get("results") or []:
            groupings, stats = result.get("groupings") or {}, result.get("statistics") or {}
            for i, when in enumerate(times):
                row: dict[str, Any] = {g: groupings.get(g) for g in group_by}
                row["date_time"] = when
                for name in statistics:
                    series = stats.get(name) or []
                    row[name] = series[i] if i < len(series) else None
                rows.append(row)
    columns = (*(Column(g, g) for g in group_by), Column("date_time", "date_time", "datetime"),
               *(Column(s, s, "float") for s in statistics))
    return build_frame(columns, rows)


def profile_columns(*, email: bool = False, phone: bool = False) -> tuple[Column, ...]:
    """The notebook 01 frame's columns; email/phone only when asked for."""
    extra = [PROFILE_CONTACT[k] for k, on in (("email", email), ("phone", phone)) if on]
    return (*PROFILE, *extra)


def profiles_frame(records: Sequence[Mapping[str, Any]], *, email: bool = False, phone: bool = False) -> pd.DataFrame:
    """JSON:API profile objects -> the notebook 01 frame; email/phone columns only when asked for."""
    return build_frame(profile_columns(email=email, phone=phone), records)


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
