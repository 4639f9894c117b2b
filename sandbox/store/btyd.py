"""Who orders when: a buy-till-you-die process with known parameters (the modified BG/NBD).

Each buyer makes a first order at their "birth" (some day of the order history), then orders at a
Poisson rate ``lam`` while alive; after every order, the first included, they leave for good with
probability ``p``. Across buyers ``lam ~ Gamma(r, rate=alpha)`` (``alpha`` in days) and ``p ~ Beta(a, b)``.
These four numbers are the planted truth (``/sandbox/truth`` → ``btyd``): a model fitted to the served
Placed Order events must find them again, and a buyer who ordered once long ago is really gone more often
than a regular buyer is.

The draw is exact without stepping through time: a live buyer's repeat orders up to the end of the history
are ``K ~ Poisson(lam × days)`` at uniform times; the buyer leaves after ``N ~ Geometric(p)`` orders, so the
served ones are the first ``min(K, N - 1)`` repeats.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DAY = 86400


@dataclass(frozen=True)
class Process:
    """The modified BG/NBD's population: purchase rate Gamma(r, alpha) per day, drop-out Beta(a, b)."""

    r: float = 0.9
    alpha: float = 25.0  # days: a mean rate of r / alpha = one order per ~28 days while alive
    a: float = 0.9
    b: float = 4.0  # mean drop-out chance after an order a / (a + b) ~ 0.18
    buyer_share: float = 0.6  # share of profiles who ever order within the history

    def truth(self) -> dict:
        return {"model": "modified_bg_nbd", "time_unit": "days", **asdict(self)}


PROCESS = Process()


def simulate(seed: int, created: np.ndarray, t_start: int, t_end: int,
             process: Process = PROCESS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(profile index, order time, buyer)`` of every order in ``[t_start, t_end)``, unsorted.

    A buyer's birth is uniform between the later of their profile's creation and ``t_start``, and
    ``t_end`` (a profile created before the history began first orders within it). Times in seconds.
    """
    rng = np.random.default_rng([seed, 14])
    n = len(created)
    buyer = rng.random(n) < process.buyer_share
    idx = np.flatnonzero(buyer)
    lo = np.maximum(created[idx], t_start).astype(float)
    birth = lo + rng.random(len(idx)) * np.maximum(t_end - 1 - lo, 0)
    lam = rng.gamma(process.r, 1 / process.alpha, len(idx))  # orders per day
    p = rng.beta(process.a, process.b, len(idx))
    days = (t_end - 1 - birth) / DAY
    possible = rng.poisson(lam * days)
    lifetime = rng.geometric(np.clip(p, 1e-9, 1))  # orders made before leaving, the first included
    repeats = np.minimum(possible, lifetime - 1)
    owner = np.repeat(idx, repeats)
    start = np.repeat(birth, repeats)
    span = np.repeat(t_end - 1 - birth, repeats)
    # The first `repeats` of `possible` uniform times: `repeats` uniform times of a process that was cut
    # short are not uniform over the span; draw the kept ones as order statistics of `possible` draws.
    offsets = _first_order_stats(rng, possible, repeats)
    repeat_time = start + offsets * span
    profile = np.concatenate([idx, owner]).astype(np.int32)
    times = np.concatenate([birth, repeat_time]).astype(np.int64)
    return profile, times, buyer


def _first_order_stats(rng: np.random.Generator, of: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """For each row, the smallest ``keep[i]`` of ``of[i]`` uniform(0, 1) draws, concatenated row by row.

    The k-th smallest of m uniforms is a cumulative sum of exponential spacings over a total of m + 1
    spacings; only the first ``keep`` spacings and the total are needed.
    """
    total_keep = int(keep.sum())
    if not total_keep:
        return np.zeros(0)
    spacings = rng.exponential(1.0, total_keep)
    row = np.repeat(np.arange(len(keep)), keep)
    starts = np.concatenate([[0], np.cumsum(keep)[:-1]])
    cum = np.cumsum(spacings)
    before = np.repeat(np.concatenate([[0.0], cum])[starts], keep)
    partial = cum - before  # cumulative spacings within the row
    # The remaining (m + 1 - keep) spacings sum to a Gamma(m + 1 - keep) draw.
    rest = rng.gamma(np.maximum(of - keep + 1, 1e-12))[row]
    kept_total = np.repeat(np.add.reduceat(spacings, starts[keep > 0]) if total_keep else [], keep[keep > 0])
    return partial / (kept_total + rest)
