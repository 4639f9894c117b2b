"""Paid results kept on disk, so an unchanged rerun spends nothing and two runs never pay twice."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helpers.config import cache_dir
from helpers.mavera.errors import MaveraError
from helpers.private import private_dir, tighten_tree, write_private

LOCK_WAIT = 600.0  # seconds a run waits for another run's identical charging request to finish


def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def request_key(endpoint: str, payload: Any) -> str:
    return hashlib.sha256(f"{endpoint}\n{canonical(payload)}".encode()).hexdigest()


class ResultCache:
    """JSON files under ``cache_dir()/mavera/<account hash>/``; the key itself is never stored.

    Private to the user (0700 folders, 0600 files; older looser ones are tightened on open): the
    entries are paid results. :meth:`claim` is the lock two runs take on one request hash, so the
    second waits for the first's result instead of paying for the same request again.
    """

    def __init__(self, base_url: str, api_key: str, root: Path | None = None):
        account = hashlib.sha256(f"{base_url}\0{api_key}".encode()).hexdigest()[:16]
        self.root = (root or cache_dir()) / "mavera"
        self.dir = self.root / account
        if self.dir.is_dir():
            private_dir(self.dir, parents_up_to=self.root)
            tighten_tree(self.dir)

    def _path(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            value = json.loads(self._path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict) -> None:
        private_dir(self.dir, parents_up_to=self.root)
        write_private(self._path(key), json.dumps(value, default=str))  # atomic: never half an entry

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    @contextmanager
    def claim(self, key: str, wait: float = LOCK_WAIT, what: str = "This request") -> Iterator[None]:
        """Hold the lock of one request hash (``fcntl.flock`` on ``<key>.lock``), waiting at most ``wait`` s.

        Runs on one machine that share the cache (two schedulers, a notebook and the runner) take
        it around a charging request; the later one then finds the earlier one's result in the cache.
        The lock goes with the process: a run that dies never leaves it held.
        """
        private_dir(self.dir, parents_up_to=self.root)
        fd = os.open(self.dir / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            deadline = time.monotonic() + wait
            pause = 0.02
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise MaveraError(
                            f"{what}: another run has been sending the same request for over {wait:g} s; "
                            "let it finish, then rerun (its result will be reused, not paid again).") from None
                    time.sleep(pause)
                    pause = min(0.5, pause * 1.5)
            yield
        finally:
            os.close(fd)  # releases the lock


