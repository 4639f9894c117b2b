"""Seeded, reproducible fault injection for both emulated APIs.

Every API request draws the same two random numbers whether or not it is faulted, so the same seed and
the same request sequence always give the same faults. Scheduled faults (POST /sandbox/faults) are
consumed first, in the order they were added.
"""

from __future__ import annotations

import random
import threading
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
        self._rng = random.Random(f"faults:{seed}")
        self._lock = threading.Lock()
        self._scheduled: list[ScheduledFault] = []
        self.injected = 0
        self.log: list[tuple[str, str, int]] = []  # (method, path, status) of every fault, for tests

    def schedule(self, method: str, path_prefix: str, status: int, count: int = 1) -> None:
        if status not in (0, 429, 500, 502, 503, 504) and not 400 <= status < 600:
            raise ValueError(f"status must be 0 (drop) or an HTTP error status (got {status})")
        with self._lock:
            self._scheduled.append(ScheduledFault(method.upper(), path_prefix, int(status), int(count)))

    def decide(self, method: str, path: str) -> Fault | None:
        with self._lock:
            roll, pick = self._rng.random(), self._rng.random()
            fault = None
            for item in self._scheduled:
                if item.count > 0 and item.method in (method.upper(), "*") and path.startswith(item.path_prefix):
                    item.count -= 1
                    fault = Fault(item.status, scheduled=True)
                    break
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
                self.injected += 1
                self.log.append((method.upper(), path, fault.status))
            return fault
