"""Event sources: every metric with events serves them through one interface, bucketed by UTC day.

A source answers, for day ``i`` (0 = yesterday, as in the messaging tables), how many events it has
(``day_counts``, from columns or tables, nothing generated) and what they are (``day``: times sorted, and
opaque integer keys), plus the events of one profile and the properties of one event. Sources built from
orders are sorted columns; engagement sources (``engagement.py``) generate a day on demand. So a listing
of millions of events costs only the pages asked for.
"""

from __future__ import annotations

import uuid
from functools import cached_property

import numpy as np

from .ids import _mix, decode_event_id, event_id

DAY = 86400
DAYS = 365


class Source:
    """Interface of one metric's events (see module docstring)."""

    letter: str  # the event-id kind letter
    metric_id: str

    def day_counts(self) -> np.ndarray:  # int64[DAYS]
        raise NotImplementedError

    def day(self, i: int) -> tuple[np.ndarray, np.ndarray]:  # (times sorted, keys)
        raise NotImplementedError

    def of_profile(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def event(self, key: int) -> tuple[int, int, dict] | None:  # (time, profile row, event_properties)
        raise NotImplementedError


def day_edges(t_end: int) -> np.ndarray:
    """Start of each day bucket, chronological: edges[c] = start of day index DAYS-1-c; edges[DAYS] = t_end."""
    return t_end - (DAYS - np.arange(DAYS + 1)) * DAY


class Sorted(Source):
    """Events that are rows of time-sorted columns: ``times`` (sorted), ``owner`` (profile row per event)."""

    def __init__(self, letter: str, metric_id: str, t_end: int, times: np.ndarray, owner: np.ndarray, props):
        self.letter, self.metric_id, self.t_end = letter, metric_id, t_end
        self.times, self.owner, self._props = times, owner, props

    def _bounds(self, i: int) -> tuple[int, int]:
        start = self.t_end - (i + 1) * DAY
        return (int(np.searchsorted(self.times, start, "left")), int(np.searchsorted(self.times, start + DAY, "left")))

    def day_counts(self) -> np.ndarray:
        pos = np.searchsorted(self.times, day_edges(self.t_end), "left")
        return np.diff(pos)[::-1].astype(np.int64)  # chronological diffs, reversed to index 0 = yesterday

    def day(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self._bounds(i)
        return self.times[a:b], np.arange(a, b, dtype=np.int64)

    def of_profile(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        keys = np.flatnonzero(self.owner == row).astype(np.int64)
        return self.times[keys], keys

    def event(self, key: int):
        if not 0 <= key < len(self.times):
            return None
        return int(self.times[key]), int(self.owner[key]), self._props(key)


def _jitter(index: np.ndarray, salt: int, span: int) -> np.ndarray:
    """A deterministic spread in [0, span) per index, from a hash: no random stream is consumed."""
    return (_mix(index.astype(np.uint64) * np.uint64(0x9E3779B1) + np.uint64(salt)) % np.uint64(span)).astype(np.int64)


class Derived(Sorted):
    """Events derived from orders (or order lines) at a per-row offset, re-sorted once, on first use."""

    def __init__(self, letter: str, metric_id: str, t_end: int, base_times: np.ndarray, base_owner: np.ndarray,
                 offset: tuple[int, int], salt: int, props):
        self.letter, self.metric_id, self.t_end = letter, metric_id, t_end
        self._base = (base_times, base_owner, offset, salt)
        self._row_props = props

    @cached_property
    def _sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        base_times, base_owner, (lo, hi), salt = self._base
        rows = np.arange(len(base_times), dtype=np.int64)
        t = base_times + lo + _jitter(rows, salt, hi - lo)
        keep = (t >= self.t_end - DAYS * DAY) & (t < self.t_end)  # inside the served year, nothing in the future
        rows, t = rows[keep], t[keep]
        order = np.argsort(t, kind="stable")
        return t[order], base_owner[rows[order]], rows[order]

    @property
    def times(self) -> np.ndarray:  # type: ignore[override]
        return self._sorted[0]

    @property
    def owner(self) -> np.ndarray:  # type: ignore[override]
        return self._sorted[1]

    def _props(self, key: int) -> dict:
        return self._row_props(int(self._sorted[2][key]))


class Event:
    """One event, found by id or listed: its source, key, time, profile row and properties."""

    __slots__ = ("id", "source", "key", "time", "row", "props", "metric_id", "uuid")

    def __init__(self, seed: int, source: Source, key: int, time: int, row: int, props: dict):
        self.id = event_id(source.letter, key)
        self.source, self.key, self.time, self.row, self.props = source, key, time, row, props
        self.metric_id = source.metric_id
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox:{seed}:{self.id}"))


def make_event(seed: int, source: Source, key: int) -> Event | None:
    found = source.event(key)
    return None if found is None else Event(seed, source, key, *found)


def find_event(seed: int, sources: dict[str, Source], eid: str) -> Event | None:
    decoded = decode_event_id(eid)
    if decoded is None or decoded[0] not in sources:
        return None
    return make_event(seed, sources[decoded[0]], decoded[1])
