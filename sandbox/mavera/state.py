"""Custom personas kept in a file, so they outlive one emulator as they outlive one run on the real Mavera.

The runner's ``--sandbox`` starts a fresh emulator per run; without this, the personas job 01 made in the
morning were gone when 04 or 05 ran alone later, and their focus groups failed on ids Mavera "no longer
knew". One file per output folder and seed (the runner names it), JSON: ``{"seed", "counter", "personas":
{id: persona}}``. Writes take an exclusive lock file and merge with what another run wrote meanwhile, then
replace the file whole, so two runs of one day never lose each other's personas.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_WAIT = 10.0  # seconds a writer waits for another; a lock older than this was left by a killed run


class PersonaState:
    """The state file of one seed: :meth:`load` at start, :meth:`save` after each persona change."""

    def __init__(self, path: Path, seed: int):
        self.path, self.seed = path, seed

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("seed") != self.seed or not isinstance(data.get("personas"), dict):
            return {}  # another seed's ids mean nothing here; an unreadable file is a fresh start
        return data

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock file (created with O_EXCL, so it works wherever the runner does), removed after."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                break
            except FileExistsError:
                if time.monotonic() > deadline:
                    lock.unlink(missing_ok=True)  # its writer died holding it
                    deadline = time.monotonic() + LOCK_WAIT
                time.sleep(0.01)
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)

    def load(self, counter: int) -> tuple[int, dict[str, dict]]:
        """(the id counter to go on from, the custom personas by id) — ``counter`` and none without a file."""
        data = self._read()  # no lock: writers replace the file whole, and a run that makes no persona writes nothing
        personas = {str(pid): p for pid, p in data.get("personas", {}).items() if isinstance(p, dict)}
        return max(counter, int(data.get("counter") or 0)), personas

    def save(self, persona: dict, counter: int) -> None:
        """Add or replace ``persona`` in the file (merged with what is there), and the counter."""
        with self._locked():
            data = self._read()
            personas = dict(data.get("personas") or {})
            personas[persona["id"]] = persona
            doc = {"seed": self.seed, "counter": max(counter, int(data.get("counter") or 0)), "personas": personas}
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
            os.replace(temporary, self.path)
