"""PDF copies of the reports (``python -m helpers.run --pdf``): the same self-contained HTML, printed by a
headless Chromium.

Why Chromium and not a Python PDF library: the reports are JupyterLab's HTML and CSS (flex layouts, inline
PNG charts, wide tables); a browser lays them out as a reader sees them, and the print styles in
``templates/report/report.css`` (``@media print``, ``@page`` with page numbers in its margin boxes) then
decide the pages. The browser is the system's (Debian's ``chromium``, as the browser tests use; another one
through ``WORKBOOKS_CHROMIUM``): nothing is downloaded at run time.

Paper: A4 by default, US Letter with ``WORKBOOKS_PAPER=letter``. The page is printed from a private copy of
the HTML with one more ``<style>`` (the paper size), so a PDF never carries the run folder's path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from helpers.runner.results import RunError

CHROMIUM_ENV = "WORKBOOKS_CHROMIUM"
PAPER_ENV = "WORKBOOKS_PAPER"
PAPERS = {"a4": "A4", "letter": "letter"}
DEFAULT_CHROMIUM = "/usr/bin/chromium"
PRINT_TIMEOUT = 120.0  # seconds per page set: a wedged browser must not hold the run forever
# How Chromium starts here and in the browser tests: no sandbox (CI runs as root, where it refuses to start),
# and none of the background connections it would otherwise try on a closed network (each refused one slows
# every launch).
BROWSER_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")
# The page numbers come from the report's @page rules, not a header and footer naming the file's URL.
_FLAGS = ("--headless", *BROWSER_FLAGS, "--no-pdf-header-footer")
HOW_TO_GET = (
    "--pdf needs Chromium: install it with `sudo apt-get install chromium` (or run scripts/ensure_chromium.sh), "
    f"or set {CHROMIUM_ENV} to a Chromium or Chrome binary"
)


def chromium() -> Path:
    """The browser that prints the PDFs, or a :class:`RunError` saying in one line how to get one."""
    configured = (os.environ.get(CHROMIUM_ENV) or "").strip()
    candidates = [configured] if configured else [DEFAULT_CHROMIUM, "chromium", "chromium-browser"]
    for name in candidates:
        found = shutil.which(name)
        if found and os.access(found, os.X_OK):
            return Path(found)
    where = f"{CHROMIUM_ENV}={configured} is not an executable" if configured else "no Chromium found"
    raise RunError(f"{where}; {HOW_TO_GET}")


def paper() -> str:
    """The CSS page size (``A4`` or ``letter``) from ``WORKBOOKS_PAPER``; a :class:`RunError` for anything else."""
    raw = (os.environ.get(PAPER_ENV) or "a4").strip().lower()
    if raw not in PAPERS:
        raise RunError(f"{PAPER_ENV}={raw!r}: use a4 or letter")
    return PAPERS[raw]


def check() -> None:
    """Everything ``--pdf`` needs, checked before any job runs (one line each: :class:`RunError`)."""
    chromium()
    paper()


def _for_print(page: str, size: str) -> str:
    """The page as printed: the paper size, and every folded ``<details>`` open (paper cannot unfold)."""
    style = f"<style>@page {{ size: {size}; }}</style>"
    page = re.sub(r"<details(?![^>]*\bopen\b)", "<details open", page)
    return page.replace("</head>", style + "</head>", 1) if "</head>" in page else style + page


def html_to_pdf(page: str, target: Path, *, browser: Path | None = None) -> None:
    """Print the HTML text ``page`` to ``target`` (written whole or not at all); an OSError or
    :class:`RuntimeError` when the browser fails."""
    browser = browser or chromium()
    with tempfile.TemporaryDirectory(prefix="workbooks-pdf-") as folder:
        work = Path(folder)
        source = work / "report.html"
        source.write_text(_for_print(page, paper()), encoding="utf-8")
        printed = work / "report.pdf"
        done = subprocess.run(
            [str(browser), *_FLAGS, f"--user-data-dir={work / 'profile'}", f"--print-to-pdf={printed}",
             source.as_uri()],
            capture_output=True, text=True, timeout=PRINT_TIMEOUT, check=False, stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0 or not printed.is_file() or printed.stat().st_size == 0:
            last = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"Chromium could not print the page (exit {done.returncode}: {last[0][:160]})")
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(printed, partial)
        os.replace(partial, target)


def file_to_pdf(html_path: Path, target: Path | None = None) -> Path:
    """``NN_name.html`` → ``NN_name.pdf`` beside it (or ``target``); the PDF's path."""
    target = target or html_path.with_suffix(".pdf")
    html_to_pdf(html_path.read_text(encoding="utf-8"), target)
    return target
