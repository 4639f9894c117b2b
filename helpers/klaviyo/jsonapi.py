"""Small pieces of JSON:API and Klaviyo's filter syntax shared by the client's modules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any


def dig(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...``, or None as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def unique(records: Iterable[dict]) -> list[dict]:
    """Resource objects in order, each (type, id) once: split ranges may overlap at their edges."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in records:
        key = (r.get("type", ""), r.get("id", ""))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def included_index(doc: Mapping[str, Any]) -> dict[tuple[str | None, str | None], dict]:
    """A compound document's ``included`` objects by (type, id)."""
    return {(o.get("type"), o.get("id")): o for o in doc.get("included") or []}


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_dt(value: str | None) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def as_dt(value: datetime | str) -> datetime:
    dt = parse_dt(value) if isinstance(value, str) else value
    assert dt is not None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def and_(*conditions: str | None) -> str | None:
    """Klaviyo's ``and(...)`` of the conditions given (None ones skipped); None when there are none."""
    parts = [c for c in conditions if c]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else f"and({','.join(parts)})"


def filter_param(flt: str | None) -> dict[str, str]:
    return {"filter": flt} if flt else {}


def whole_day(dt: datetime, up: bool = False) -> datetime:
    """Midnight UTC at or before ``dt`` (``up``: at or after it)."""
    day = dt.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1) if up and day < dt else day


def custom_timeframe(timeframe: Mapping[str, Any]) -> dict[str, Any]:
    """A reporting timeframe as sent: ``{"key": ...}`` unchanged; ``{"start", "end"}`` (datetimes or ISO
    strings) floored to whole UTC hours, so a range computed from "now" repeats within the hour and a rerun
    is answered from the cache; the report loses at most the current, incomplete hour."""
    tf = dict(timeframe)
    for name in ("start", "end"):
        value = tf.get(name)
        if not isinstance(value, (str, datetime)):
            continue
        try:
            dt = as_dt(value)
        except ValueError:
            continue  # not a datetime: sent as given, and Klaviyo's 400 says what is wrong with it
        tf[name] = iso(dt.replace(minute=0, second=0, microsecond=0))
    return tf
