"""Tie blocks walked from both ends: exact whatever order the server gives ties, cheap when descending order
is ascending reversed, and the same requests on every run (so a rerun is answered from the cache).

An in-memory server stands in for Klaviyo here because what is tested is what the sandbox cannot vary: the
order of tied records under ``sort=-joined_group_at`` (the sandbox always reverses them exactly).
"""

from __future__ import annotations

import random
import re
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from helpers.klaviyo.jsonapi import iso
from helpers.klaviyo.split import IdCollector, _Split, concurrent_map, split_fetch
from helpers.klaviyo.streams import STREAMS

T0 = datetime(2025, 3, 1, tzinfo=UTC)
CONDITION = re.compile(r"(greater-than|greater-or-equal|less-than|less-or-equal)\(joined_group_at,([^)]+)\)")
OPS = {"greater-than": lambda a, b: a > b, "greater-or-equal": lambda a, b: a >= b,
       "less-than": lambda a, b: a < b, "less-or-equal": lambda a, b: a <= b}


class Members:
    """A segment's members: ``block`` who joined at T0, then ``tail`` one a minute; ``shuffle_desc`` makes the
    descending order of the tied block a permutation, not the reverse, of the ascending one."""

    def __init__(self, block: int, tail: int, shuffle_desc: bool):
        self.rows = [(f"P{k:05d}", T0) for k in range(block)] + \
                    [(f"Q{k:05d}", T0 + timedelta(minutes=k + 1)) for k in range(tail)]
        self.desc_block = [r for r in reversed(self.rows[:block])]
        if shuffle_desc:
            random.Random(5).shuffle(self.desc_block)
        self.requests: list[str] = []
        self.lock = threading.Lock()

    # -- the Fetcher protocol split_fetch uses ----------------------------------------------------
    concurrency = 8
    show_progress = False

    def request(self, method: str, path_or_url: str, params=None) -> dict:
        parts = urlsplit(path_or_url)
        query = dict(parse_qsl(parts.query))
        query.update({k: str(v) for k, v in (params or {}).items()})
        with self.lock:
            self.requests.append(urlencode(sorted(query.items())))
        rows = self.rows if query.get("sort", "joined_group_at") == "joined_group_at" else \
            [r for r in reversed(self.rows) if r[1] > T0] + self.desc_block
        for op, value in CONDITION.findall(query.get("filter", "")):
            bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
            rows = [r for r in rows if OPS[op](r[1], bound)]
        size, offset = int(query.get("page[size]", 100)), int(query.get("page[cursor]", 0))
        data = [{"type": "profile", "id": i, "attributes": {"joined_group_at": iso(t)}}
                for i, t in rows[offset:offset + size]]
        links = {}
        if offset + size < len(rows):
            links["next"] = "/api/segments/S/profiles?" + urlencode({**query, "page[cursor]": offset + size})
        return {"data": data, "links": links}

    def pages(self, path, params=None):
        url = path
        while url:
            doc = self.request("GET", url, params)
            yield doc
            url, params = doc["links"].get("next"), None

    def paginate(self, path, params=None):
        for doc in self.pages(path, params):
            yield from doc["data"]

    def _map(self, fn, items, desc=None):
        return concurrent_map(fn, list(items), workers=self.concurrency)


def _fetch(server: Members) -> list[str]:
    stream = STREAMS["segment_members"]
    job = _Split.of("S", stream, stream.query(), "/api/segments/S/profiles")
    return [r["id"] for r in split_fetch(server, [job], "members")["S"]]


@pytest.mark.parametrize(("block", "tail"), [(1750, 430), (950, 0), (130, 2), (2300, 1)])
@pytest.mark.parametrize("shuffle_desc", [False, True], ids=["reversed", "shuffled"])
def test_every_member_exactly_once(block, tail, shuffle_desc):
    server = Members(block, tail, shuffle_desc)
    got = _fetch(server)
    assert sorted(got) == sorted(i for i, _ in server.rows) and len(got) == len(set(got))


def test_two_ends_meeting_cost_about_one_page_more_than_the_block():
    server = Members(1750, 430, shuffle_desc=False)
    _fetch(server)
    pages = -(-(1750 + 430) // 100)
    assert len(server.requests) <= pages + 1 + 6  # +1 the last page; range-chain edges and the meeting step


def test_without_reverse_order_the_ends_walk_on_and_nothing_is_lost():
    fast, slow = Members(1750, 0, False), Members(1750, 0, True)
    _fetch(fast)
    _fetch(slow)
    assert len(slow.requests) > len(fast.requests)  # no trusted meeting: both ends walked the block


def test_the_same_requests_on_every_run():
    first, second = Members(1750, 430, False), Members(1750, 430, False)
    _fetch(first)
    _fetch(second)
    assert sorted(first.requests) == sorted(second.requests)


class LargestAdd(IdCollector):
    """Segment member ids as the client keeps them, noting the most records handed over at once."""

    def __init__(self) -> None:
        self.largest = 0
        self.lock = threading.Lock()

    def add(self, part: list, records: list[dict]) -> None:
        with self.lock:
            self.largest = max(self.largest, len(records))
        super().add(part, records)


@pytest.mark.parametrize("shuffle_desc", [False, True], ids=["reversed", "shuffled"])
def test_a_tie_block_is_kept_page_by_page_never_held_as_json(shuffle_desc):
    """A segment's first members tie (they join when it is created): the walk of that block hands each page to
    the collector as it comes, so a million-member block is never a list of JSON records (issue #12)."""
    server = Members(1750, 430, shuffle_desc)
    stream = STREAMS["segment_members"]
    collect = LargestAdd()
    found = split_fetch(server, [_Split.of("S", stream, stream.query(), "/api/segments/S/profiles")], "members",
                        collect=collect)
    assert sorted(found["S"]) == sorted(i for i, _ in server.rows)
    assert collect.largest == 100  # one page of the stream, not the block
