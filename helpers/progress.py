"""Progress bars for long fetches and loops: a widget in JupyterLab, silent under the batch runner.

Neutral ground so that clients (``helpers.klaviyo``) can show progress without importing notebook
set-up (``helpers.report``, which re-exports both names for notebooks).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable


def headless() -> bool:
    """True when nobody watches: under the batch runner (bars would only add noise to the saved notebook),
    or in a script whose stderr is not a terminal."""
    if os.environ.get("WORKBOOKS_RUN_DIR", "").strip():
        return True
    if "ipykernel" in sys.modules:
        return False
    return not getattr(sys.stderr, "isatty", lambda: False)()


def progress(iterable: Iterable | None = None, **kw):
    """tqdm over ``iterable`` (or a manual bar: ``total=``, then ``update``): a widget in JupyterLab,
    disabled when :func:`headless` (no per-refresh outputs). ``disable=None`` means that default."""
    from tqdm.auto import tqdm

    if kw.get("disable") is None:
        kw["disable"] = headless()
    return tqdm(iterable, **kw)
