"""The code-free HTML report of one executed notebook (``helpers.runner.report_html``: self-contained, offline-clean)."""

from __future__ import annotations

from helpers import config
from helpers.runner.report_html import report_html


def export_html(nb, *, title: str) -> str:
    """A code-free report: no inputs, no prompts, no parameter cells, no record outputs; images inline."""
    return report_html(nb, title=title, sandbox=config.is_sandbox())
