"""Charts shown in a notebook with an alt text that survives into the code-free report.

Kept apart from :mod:`helpers.runner.report_html` (the exporter, which imports nbconvert): every kernel shows
charts, and importing nbconvert there cost each job about two seconds for nothing. The exporter reads the
alt text back from ``output.metadata["image/png"][ALT_KEY]`` and writes it as the ``<img alt>``.
"""

from __future__ import annotations

import base64
import io
from typing import Any

ALT_KEY = "alt"  # output.metadata[mime][ALT_KEY]: the image's alt text


def figure_output(fig, alt: str, *, dpi: int = 100) -> tuple[dict[str, Any], dict[str, Any]]:
    """(data, metadata) of the display output :func:`show_figure` emits: a PNG and its alt text."""
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must be one sentence saying what the chart shows")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"image/png": png, "text/plain": f"<chart: {alt.strip()}>"}, {"image/png": {ALT_KEY: alt.strip()}}


def show_figure(fig, alt: str, *, dpi: int = 100) -> None:
    """Show a matplotlib figure with an alt text that survives into the report (``<img alt="...">``), then
    close it so the inline backend does not show it a second time. ``alt``: what the chart shows, in one
    sentence."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    data, metadata = figure_output(fig, alt, dpi=dpi)
    display(data, metadata=metadata, raw=True)
    plt.close(fig)
