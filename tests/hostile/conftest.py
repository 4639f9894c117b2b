"""Fixtures: a hostile server the client is configured for, and the foreign ones nothing may reach."""

from __future__ import annotations

import pytest

from tests.hostile.support import Hostile, serve


def _hostile(host: str):
    app = Hostile()
    with serve(app, host) as base:
        app.base = base
        yield app


@pytest.fixture
def hostile():
    """The server the client is configured for (127.0.0.1)."""
    yield from _hostile("127.0.0.1")


@pytest.fixture
def foreign():
    """Another host (127.0.0.2): nothing may ever reach it."""
    yield from _hostile("127.0.0.2")


@pytest.fixture
def other_port():
    """The same host on another port: another origin too."""
    yield from _hostile("127.0.0.1")
