"""Engagement events (received, opened, clicked, unsubscribed) generated from the messaging tables.

Each flow message and campaign has exact daily counts (``Messaging.flow_daily`` / ``campaign_daily``); the
events of one message on one day are generated from those counts on demand, so every report equals the
events it summarises: a day's ``delivered`` is its Received events, ``opens``/``clicks`` its Opened/Clicked
events, ``opens_unique``/``clicks_unique`` the recipients among them (once per recipient per send), and
``unsubscribes`` its Unsubscribed events. Engagement happens on the day of the send, so any timeframe made
of whole days sums both sides alike.

Who receives what: a campaign goes to its audience segment's members who can receive the channel (which is
how the report's recipients were counted); a flow message walks its channel's consenting profiles in a
seeded order, one cycle after another, so a profile gets a given flow message again only after everybody
else has (a natural cap per profile). Orders are affine permutations, so both directions are arithmetic:
the recipients of a day, and the days a profile received a message. Nothing is generated at start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from .events import DAY, DAYS, Source, _jitter
from .messaging import S

SHIFT_DAY, SHIFT_MSG = 28, 37  # key = message << 37 | day << 28 | position in that message-day's list
# (letter, metric name, channel, statistic, action)
KINDS = [("R", "Received Email", "email", "delivered", "received"),
         ("O", "Opened Email", "email", "opens", "opened"),
         ("C", "Clicked Email", "email", "clicks", "clicked"),
         ("U", "Unsubscribed from Email Marketing", "email", "unsubscribes", "unsubscribed"),
         ("S", "Received SMS", "sms", "delivered", "received"),
         ("K", "Clicked SMS", "sms", "clicks", "clicked"),
         ("V", "Unsubscribed from SMS Marketing", "sms", "unsubscribes", "unsubscribed")]
STATS = ("recipients", "delivered", "opens_unique", "opens", "clicks_unique", "clicks", "unsubscribes")


@dataclass
class Message:
    index: int
    channel: str
    daily: np.ndarray  # DAYS x stats (a view into the messaging table)
    message_id: str
    name: str
    subject: str
    body: str
    flow_id: str | None = None
    audience: np.ndarray | None = None  # campaigns: the audience segment's members
    consent: np.ndarray | None = None  # campaigns: who can receive the channel (a profile column)
    send_time: int | None = None


def _affine(n: int, salt: int) -> tuple[int, int]:
    """(a, b) with gcd(a, n) = 1: k -> (a*k + b) mod n is a permutation of range(n)."""
    if n <= 1:
        return 1, 0
    h = int(_jitter(np.array([salt]), 77, 1 << 40)[0])
    a = h % n or 1
    while math.gcd(a, n) != 1:
        a = a % (n - 1) + 1
    return a, (h >> 20) % n


class Engagement:
    def __init__(self, seed: int, t_end: int, profiles, messaging, segment_by_id: dict):
        self.seed, self.t_end = seed, t_end
        self.profiles = profiles
        msgs: list[Message] = []
        for m in messaging.flow_messages:
            msgs.append(Message(len(msgs), m.channel, messaging.flow_daily[m.row], m.id, m.name, m.subject, m.body,
                                flow_id=messaging.flows[m.flow_index].id))
        for c in messaging.campaigns:
            seg = segment_by_id[c.audience]
            consent = profiles.email_consent if c.channel == "email" else profiles.sms_consent
            msgs.append(Message(len(msgs), c.channel, messaging.campaign_daily[c.row], c.message_id, c.name,
                                c.subject, c.body, audience=seg.members, consent=consent, send_time=c.send_time))
        self.messages = msgs
        self._flow_day = lru_cache(maxsize=8192)(self._generate)
        self._campaign_day = lru_cache(maxsize=16)(self._generate)  # big at a million profiles: few kept
        self._kind_day = lru_cache(maxsize=64)(self._merge_day)
        self._plan = lru_cache(maxsize=None)(self._make_plan)

    # --- who ----------------------------------------------------------------------------------------
    @cached_property
    def populations(self) -> dict[str, np.ndarray]:
        p = self.profiles
        return {"email": np.flatnonzero(p.email_consent), "sms": np.flatnonzero(p.sms_consent)}

    def _audience(self, m: Message) -> np.ndarray:
        if m.audience is None:
            return self.populations[m.channel]
        return m.audience[m.consent[m.audience]]

    def _make_plan(self, index: int) -> tuple[np.ndarray, int, int, int, np.ndarray]:
        """(population, a, b, a^-1 mod n, chronological start positions) of message ``index``."""
        m = self.messages[index]
        pop = self._audience(m)
        a, b = _affine(len(pop), self.seed * 1000 + index)
        inv = pow(a, -1, len(pop)) if len(pop) > 1 else 1
        rec = np.rint(m.daily[:, S["recipients"]]).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(rec[::-1])])  # day index i starts at starts[DAYS - 1 - i]
        return pop, a, b, inv, starts

    def recipients(self, index: int, i: int) -> np.ndarray:
        """Profile rows that message ``index`` went to on day ``i`` (0 = yesterday), in send order."""
        pop, a, b, _, starts = self._plan(index)
        n = len(pop)
        c = DAYS - 1 - i
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        seq = np.arange(starts[c], starts[c + 1], dtype=np.int64) % n
        return pop[(a * seq + b) % n].astype(np.int64)

    def days_of(self, index: int, row: int) -> list[int]:
        """The days (0 = yesterday) on which message ``index`` went to profile ``row``."""
        pop, a, b, inv, starts = self._plan(index)
        n = len(pop)
        q = int(np.searchsorted(pop, row))
        if n == 0 or q >= n or pop[q] != row:
            return []
        k = ((q - b) * inv) % n
        seq = np.arange(k, starts[-1], n, dtype=np.int64)
        chron = np.searchsorted(starts, seq, side="right") - 1
        return sorted({int(DAYS - 1 - c) for c in chron})

    # --- what ---------------------------------------------------------------------------------------
    def _generate(self, index: int, i: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{action: (times sorted, profile rows)} of message ``index`` on day ``i``."""
        m = self.messages[index]
        n = {s: int(round(m.daily[i, S[s]])) for s in STATS}
        dv = n["delivered"]
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        if dv <= 0:
            return {a: empty for a in ("received", "opened", "clicked", "unsubscribed")}
        rows = self.recipients(index, i)[:dv]
        start = self.t_end - (i + 1) * DAY
        end = start + DAY
        pos = np.arange(dv, dtype=np.int64)
        salt = (self.seed * 1009 + index) * 512 + i
        if m.send_time is not None:  # a campaign goes out over half an hour from its send time
            t_recv = m.send_time + pos * 1800 // max(dv, 1)
        else:  # flow messages go out around the clock, leaving each recipient an hour to engage
            t_recv = start + _jitter(pos, salt, DAY - 3600)
        a, b = _affine(dv, salt)
        rank = (a * pos + b) % dv  # who engages: the lowest ranks open, the lowest of those click

        def later(base: np.ndarray, k: np.ndarray, lo: int, hi: int, s: int) -> np.ndarray:
            """A time ``lo``..``hi`` seconds after ``base``, never past the day's end."""
            room = np.clip(end - 1 - base - lo, 0, hi - lo)
            return np.minimum(base + lo + (_jitter(k, salt + s, 1 << 20) * room) // (1 << 20), end - 1)

        def repeat(mask: np.ndarray, total: int, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Every event of the engaging recipients: one each, the extra ones to the lowest ranks, each
            recipient's repeats spread over the rest of the day after their first."""
            who = np.flatnonzero(mask)
            if len(who) == 0:
                return empty
            extra = max(total - len(who), 0)
            counts = 1 + extra // len(who) + (rank[who] < extra % len(who))
            t0, each = np.repeat(first[who], counts), np.repeat(counts, counts)
            k = np.arange(len(t0)) - np.repeat(np.cumsum(counts) - counts, counts)
            return t0 + k * ((end - 1 - t0) // each), np.repeat(rows[who], counts)

        opened = rank < n["opens_unique"] if m.channel == "email" else np.zeros(dv, dtype=bool)
        t_open = later(t_recv, pos, 60, 4 * 3600, 1)
        clicked = rank < n["clicks_unique"]
        t_click = later(np.where(opened, t_open, t_recv), pos, 5, 1800, 2)
        unsub = rank >= dv - n["unsubscribes"]
        t_unsub = later(np.where(opened, t_open, t_recv), pos, 30, 3600, 3)
        out = {"received": (t_recv, rows),
               "opened": repeat(opened, n["opens"], t_open),
               "clicked": repeat(clicked, n["clicks"], t_click),
               "unsubscribed": (t_unsub[unsub], rows[unsub])}
        for action, (t, r) in out.items():
            order = np.argsort(t, kind="stable")
            out[action] = (t[order], r[order])
        return out

    def message_day(self, index: int, i: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        cache = self._campaign_day if self.messages[index].send_time is not None else self._flow_day
        return cache(index, i)

    def _merge_day(self, channel: str, action: str, stat: str, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Every event of one kind on day ``i``, all messages, sorted by time: (times, keys)."""
        times, keys = [], []
        for m in self.messages:
            if m.channel != channel or m.daily[i, S[stat]] < 0.5:
                continue
            t, _ = self.message_day(m.index, i)[action]
            times.append(t)
            keys.append((np.int64(m.index) << SHIFT_MSG) | (np.int64(i) << SHIFT_DAY) | np.arange(len(t), dtype=np.int64))
        if not times:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        t, k = np.concatenate(times), np.concatenate(keys)
        order = np.argsort(t, kind="stable")
        return t[order], k[order]

    def sources(self, metric_ids: dict[str, str]) -> list[Source]:
        return [EngagementSource(self, letter, metric_ids[name], channel, stat, action)
                for letter, name, channel, stat, action in KINDS if name in metric_ids]


class EngagementSource(Source):
    def __init__(self, eng: Engagement, letter: str, metric_id: str, channel: str, stat: str, action: str):
        self.eng, self.letter, self.metric_id = eng, letter, metric_id
        self.channel, self.stat, self.action = channel, stat, action

    def day_counts(self) -> np.ndarray:
        rows = [m.daily[:, S[self.stat]] for m in self.eng.messages if m.channel == self.channel]
        return np.rint(np.sum(rows, axis=0)).astype(np.int64) if rows else np.zeros(DAYS, dtype=np.int64)

    def day(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self.eng._kind_day(self.channel, self.action, self.stat, i)

    def of_profile(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        times, keys = [], []
        for m in self.eng.messages:
            if m.channel != self.channel:
                continue
            for i in self.eng.days_of(m.index, row):
                t, r = self.eng.message_day(m.index, i)[self.action]
                hit = np.flatnonzero(r == row)
                times.append(t[hit])
                keys.append((np.int64(m.index) << SHIFT_MSG) | (np.int64(i) << SHIFT_DAY) | hit.astype(np.int64))
        if not times:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        t, k = np.concatenate(times), np.concatenate(keys)
        order = np.argsort(t, kind="stable")
        return t[order], k[order]

    def event(self, key: int):
        index, i, j = key >> SHIFT_MSG, (key >> SHIFT_DAY) & ((1 << (SHIFT_MSG - SHIFT_DAY)) - 1), \
            key & ((1 << SHIFT_DAY) - 1)
        if index >= len(self.eng.messages) or i >= DAYS:
            return None
        m = self.eng.messages[index]
        if m.channel != self.channel:
            return None
        t, r = self.eng.message_day(index, i)[self.action]
        if j >= len(t):
            return None
        return int(t[j]), int(r[j]), self.properties(m, i, int(r[j]))

    def properties(self, m: Message, i: int, row: int) -> dict:
        send = f"{m.message_id}:{i}:{row}"
        props: dict = {"$message": m.message_id, "Campaign Name": m.name, "$event_id": f"{self.letter}:{send}"}
        if m.flow_id:
            props["$flow"] = m.flow_id
        if self.channel == "email":
            props.update({"Subject": m.subject, "Email Domain": "example.com"})
        else:
            props.update({"Message Body": m.body, "Message Type": "SMS"})
        if self.action == "clicked":
            props["URL"] = f"https://sandbox-goods.example/{'s' if self.channel == 'sms' else 'e'}/{m.message_id[-6:]}"
        if self.action == "unsubscribed":
            props["Method"] = "Unsubscribe link" if self.channel == "email" else "STOP keyword"
        return props
