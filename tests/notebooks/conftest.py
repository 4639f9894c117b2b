"""Notebook runs that several test files read, each executed once per session.

Job 01 runs together with 04 (seed 7) and with 05 (seed 11) in one runner call each, as
``python -m helpers.run`` would run them: 04 and 05 then ask the personas 01 saved, and those two runs
serve test_01's two seeds, test_04's seed 7 and the end-to-end checks of 01, 04 and 05. Jobs 02 and 03 at
seed 7 serve their own tests and the end-to-end checks. Every other run belongs to one test module.

Each runs once per test session even when xdist spreads its readers over several workers (``support.once``).
"""

from __future__ import annotations

import pytest

from tests.notebooks.support import SharedRun, once, run_together


def _shared(tmp_path_factory, seed: int, numbers: list[int]) -> SharedRun:
    key = "_".join(f"{n:02d}" for n in numbers) + f"_seed{seed}"
    return once(tmp_path_factory, key, lambda: run_together(tmp_path_factory, seed, numbers))


@pytest.fixture(scope="session")
def run_01_04_seed7(tmp_path_factory) -> SharedRun:
    return _shared(tmp_path_factory, 7, [1, 4])


@pytest.fixture(scope="session")
def run_01_05_seed11(tmp_path_factory) -> SharedRun:
    return _shared(tmp_path_factory, 11, [1, 5])


@pytest.fixture(scope="session")
def run_02_seed7(tmp_path_factory) -> SharedRun:
    return _shared(tmp_path_factory, 7, [2])


@pytest.fixture(scope="session")
def run_03_seed7(tmp_path_factory) -> SharedRun:
    return _shared(tmp_path_factory, 7, [3])
