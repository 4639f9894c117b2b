"""Real-browser fixtures: Playwright driving Debian's Chromium (no Playwright browser download).

``make test`` installs Chromium first (scripts/ensure_chromium.sh). Every test here is in one xdist group,
so ``--dist loadgroup`` sends them all to one worker: one browser and one runner invocation per module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers.runner.pdf import BROWSER_FLAGS

CHROMIUM = Path(os.environ.get("WORKBOOKS_CHROMIUM") or "/usr/bin/chromium")
WIDTH = 1280
# The flags --pdf starts Chromium with (no sandbox under root, no background connections on a closed network).
LAUNCH_ARGS = list(BROWSER_FLAGS)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory) -> Iterator:
    """One headless Chromium with a fresh profile, a 1280 px wide window."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run scripts/ensure_chromium.sh (make test does), "
            "or set WORKBOOKS_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=LAUNCH_ARGS,
            viewport={"width": WIDTH, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class Visit:
    """One page load and everything the page asked for or complained about while loading."""

    page: object
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    @property
    def foreign_requests(self) -> list[str]:
        """Requests to anything but the report's own file (data: images are part of the page)."""
        return [url for url in self.requests if not url.startswith(("file://", "data:"))]


@pytest.fixture
def visit(browser_context) -> Iterator:
    """``visit(path)`` opens a local file in a new tab, records its traffic and console, waits for load."""
    pages = []

    def open_page(path: Path) -> Visit:
        page = browser_context.new_page()
        pages.append(page)
        seen = Visit(page)
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on("requestfailed", lambda request: seen.failed.append(f"{request.url}: {request.failure}"))
        page.on("console", lambda msg: seen.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: seen.console_errors.append(f"uncaught: {exc}"))
        page.goto(path.resolve().as_uri(), wait_until="load")
        return seen

    yield open_page
    for page in pages:
        page.close()
