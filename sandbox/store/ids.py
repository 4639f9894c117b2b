"""Klaviyo-looking identifiers, deterministic for (seed, index).

Profile and event ids encode their row index, so looking one up is arithmetic, not a dict of a million
strings; the pseudo-random tail (a hash of seed and index) makes a forged or foreign id fail the round trip.
"""

from __future__ import annotations

import hashlib

import numpy as np

CROCKFORD = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(CROCKFORD.decode())}
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a cheap, vectorised, well-spread hash of uint64 values."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) array of base-32 digits, most significant first."""
    v = values.astype(np.uint64)
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(5)
    return ((v[:, None] >> shifts[None, :]) & np.uint64(31)).astype(np.uint8)


def profile_ids(seed: int, created_ms: np.ndarray, start: int = 0) -> np.ndarray:
    """ULID-like 26-char ids (bytes): 10 chars of creation time, 7 of row index, 9 of hash.

    Ids sort like their index because the time prefix never decreases with the index.
    """
    n = len(created_ms)
    idx = np.arange(start, start + n, dtype=np.uint64)
    alphabet = np.frombuffer(CROCKFORD, dtype=np.uint8)
    tail = _mix(idx ^ _mix(np.full(n, seed + 0x5BD1E995, dtype=np.uint64)))
    digits = np.concatenate(
        [_digits(created_ms, 10), _digits(idx, 7), _digits(tail, 9)], axis=1
    )
    return alphabet[digits].copy().view("S26").ravel()


def decode_profile_index(profile_id: str) -> int | None:
    """Row index encoded in a profile id, or None if it is not one of ours (caller verifies)."""
    if len(profile_id) != 26:
        return None
    try:
        value = 0
        for ch in profile_id[10:17]:
            value = value * 32 + _DECODE[ch]
    except KeyError:
        return None
    return value


def short_id(seed: int, kind: str, index: int, length: int = 6) -> str:
    """A short alphanumeric id like Klaviyo's metric, flow and segment ids."""
    digest = hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=16).digest()
    return "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:length])


def ulid_like(seed: int, kind: str, index: int, ms: int) -> str:
    """A 26-char ULID-like id for objects that are few (campaigns, campaign messages)."""
    head = "".join(CROCKFORD.decode()[(ms >> (5 * (9 - k))) & 31] for k in range(10))
    digest = hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=16).digest()
    return head + "".join(CROCKFORD.decode()[b & 31] for b in digest[:16])


def event_id(kind: str, index: int) -> str:
    """Event ids: a kind letter and the base-32 row index, 11 chars like Klaviyo's."""
    digits = []
    for _ in range(9):
        digits.append(CROCKFORD.decode()[index & 31])
        index >>= 5
    return "4" + kind + "".join(reversed(digits))


def decode_event_id(eid: str) -> tuple[str, int] | None:
    """(kind letter, index) of an id made by :func:`event_id`, or None if it is not one."""
    if len(eid) != 11 or eid[0] != "4":
        return None
    value = 0
    for ch in eid[2:]:
        if ch not in _DECODE:
            return None
        value = value * 32 + _DECODE[ch]
    return eid[1], value
