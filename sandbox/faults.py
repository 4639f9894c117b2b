"""Seeded, reproducible fault injection for both emulated APIs.

Whether a request is faulted is a hash of (seed, method, path and query, body, how many times that exact
request has been seen), never a draw from a shared sequence: a client fetching pages from several threads
gets the same faults whatever order its requests arrive in, and a retry (the next sighting) draws afresh.
Scheduled faults (POST /sandbox/faults) are consumed first, in the order they were added.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass

# (kind, share of random faults). "drop" closes the connection without a response; "slow" delays a
# normal response.
KINDS = [("429", 0.25), ("500", 0.1), ("502", 0.1), ("503", 0.15), ("504", 0.1), ("drop", 0.15), ("slow", 0.15)]
SLOW_SECONDS = (0.3, 1.0)


@dataclass
class Fault:
    status: int  # 0 = drop the connection; -1 = slow (delay, then answer normally)
    delay: float = 0.0
    scheduled: bool = False


@dataclass
class ScheduledFault:
    method: str
    path_prefix: str
    status: int
    count: int


class FaultInjector:
    def __init__(self, seed: int, rate: float = 0.0):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1 (got {rate})")
        self.rate = rate
        self.seed = seed
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._scheduled: list[ScheduledFault] = []
        self.injected = 0
        self.log: list[tuple[str, str, int]] = []  # (method, path?query, status) of every fault, for tests

    def schedule(self, method: str, path_prefix: str, status: int, count: int = 1) -> None:
        if status not in (0, 429, 500, 502, 503, 504) and not 400 <= status < 600:
            raise ValueError(f"status must be 0 (drop) or an HTTP error status (got {status})")
        with self._lock:
            self._scheduled.append(ScheduledFault(method.upper(), path_prefix, int(status), int(count)))

    def clear_scheduled(self) -> int:
        """Drop the scheduled faults not yet served; returns how many were left."""
        with self._lock:
            left = sum(f.count for f in self._scheduled)
            self._scheduled.clear()
        return left

    def _draws(self, key: str, sighting: int) -> tuple[float, float]:
        digest = hashlib.blake2b(f"faults:{self.seed}|{key}|{sighting}".encode(), digest_size=16).digest()
        return int.from_bytes(digest[:8]) / 2**64, int.from_bytes(digest[8:]) / 2**64

    def decide(self, method: str, path: str, query: str = "", body: bytes = b"") -> Fault | None:
        method = method.upper()
        target = f"{path}?{query}" if query else path
        key = f"{method} {target} {hashlib.blake2b(body, digest_size=8).hexdigest() if body else ''}"
        with self._lock:
            sighting = self._seen[key]
            self._seen[key] += 1
            fault = None
            for item in self._scheduled:
                if item.count > 0 and item.method in (method, "*") and path.startswith(item.path_prefix):
                    item.count -= 1
                    fault = Fault(item.status, scheduled=True)
                    break
        roll, pick = self._draws(key, sighting)
        if fault is None and roll < self.rate:
            acc = 0.0
            for kind, share in KINDS:
                acc += share
                if pick < acc or kind == KINDS[-1][0]:
                    break
            if kind == "slow":
                lo, hi = SLOW_SECONDS
                fault = Fault(-1, delay=lo + (hi - lo) * (pick * 7 % 1))
            else:
                fault = Fault(0 if kind == "drop" else int(kind))
        if fault is not None:
            with self._lock:
                self.injected += 1
                self.log.append((method, target, fault.status))
        return fault
