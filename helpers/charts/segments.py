"""Charts of notebook 03 (segment overlap): clustered Jaccard heatmap, segment sizes with unique members."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from . import RED

__all__ = ["overlap_heatmap", "segment_sizes"]

# Beyond this many segments tick labels overlap into a black band; the blocks still read without them.
_MAX_LABELLED = 60


def overlap_heatmap(jaccard: pd.DataFrame, names: Mapping[str, str]) -> Figure:
    """Square heatmap of pairwise Jaccard similarity (0–1), in the row/column order of `jaccard`.

    `jaccard` is `segments.jaccard_matrix(m, order)` (indexed by segment id both ways); names label the
    axes, cut to 28 characters. The figure grows with the number of segments, up to about 14 × 13 inches.
    """
    order = list(jaccard.index)
    n = len(order)
    fig, ax = plt.subplots(figsize=(min(2 + 0.35 * n, 14), min(1.5 + 0.35 * n, 13)))
    im = ax.imshow(jaccard.to_numpy(float), cmap="Blues", vmin=0, vmax=1)
    labels = [names.get(s, s)[:28] for s in order]
    if n <= _MAX_LABELLED:
        ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(n), labels, fontsize=7)
    ax.set_title("Segment overlap (Jaccard), clustered")
    ax.set_xlabel("segment")
    ax.set_ylabel("segment")
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="Jaccard similarity", shrink=0.7)
    return fig


def segment_sizes(table: pd.DataFrame, tiny_share: float, profiles_total: int) -> Figure:
    """Horizontal bars per segment, smallest first: total size, its unique members, the tiny threshold.

    `table` is `segments.segment_table(...)` (`name, size, unique`); the dashed red line sits at
    `tiny_share × profiles_total`.
    """
    t = table.sort_values("size")
    fig, ax = plt.subplots(figsize=(8, max(3, 0.28 * len(t))))
    ax.barh(t["name"].str[:32], t["size"], color="#c6dbef", label="shared with other segments")
    ax.barh(t["name"].str[:32], t["unique"], color="#2171b5", label="only in this segment")
    ax.axvline(tiny_share * profiles_total, color=RED, linestyle="--",
               label=f"tiny threshold ({tiny_share:.0%} of profiles)")
    ax.set_title("Segment sizes and their unique members")
    ax.set_xlabel("profiles")
    ax.set_ylabel("segment")
    ax.legend(fontsize=8, loc="lower right")
    return fig
