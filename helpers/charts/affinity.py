"""Charts of notebook 04 (product affinity and the bundle focus group).

Each function takes the frames the notebook already holds and returns a matplotlib Figure; the notebook
saves it with `job.save_fig` and shows it. Nothing here saves, shows or computes a metric.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from helpers.charts import BLUE

# A persona backs a bundle from this mean intent on (focus_groups.verdict_table's default threshold).
INTENT_THRESHOLD = 3.5


def top_pairs(described: pd.DataFrame, n: int) -> Figure:
    """Horizontal bars of the first `n` pairs' lift, strongest on top, each labelled with support and co-orders.

    `described` is `affinity.describe_pairs(...)` (sorted by lift); a pair without a catalog title shows
    its product ids. The dashed line at lift 1 marks "no affinity".
    """
    head = described.head(n).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(head) + 1.5))
    titles_a = head["title_a"].fillna(head["product_a"])
    titles_b = head["title_b"].fillna(head["product_b"])
    labels = [f"{a} + {b}" for a, b in zip(titles_a, titles_b, strict=True)]
    bars = ax.barh(labels, head["lift"], color=BLUE)
    for bar, support, co in zip(bars, head["support"], head["co_orders"], strict=True):
        label = f"  {support:.2%} of orders ({co})"
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=8)
    ax.axvline(1, color="grey", lw=1, ls="--")
    ax.set_title(f"Top {len(head)} product pairs by lift")
    ax.set_xlabel("lift (× more often together than by chance)")
    ax.set_ylabel("product pair")
    # Room on the right for the support labels that follow each bar.
    ax.set_xlim(0, head["lift"].max() * 1.35 if len(head) else 1)
    return fig


def category_heatmap(category_lift: pd.DataFrame) -> Figure:
    """Category × category lift as a diverging heatmap centred on 1 (blue: together more than chance, red: less).

    NaN cells (the diagonal, too few shared orders) are masked and show the grey background.
    """
    fig, ax = plt.subplots(figsize=(7.5, 6))
    values = category_lift.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    # TwoSlopeNorm needs vmin < 1 < vmax even when every lift sits on one side of 1.
    vmax = max(float(finite.max()) if finite.size else 2.0, 1.01)
    vmin = min(float(finite.min()) if finite.size else 0.5, 0.99)
    image = ax.imshow(
        np.ma.masked_invalid(values), cmap="RdBu", norm=TwoSlopeNorm(vcenter=1.0, vmin=vmin, vmax=vmax)
    )
    ax.set_facecolor("#dddddd")
    ax.set_xticks(range(len(category_lift.columns)), category_lift.columns, rotation=45, ha="right")
    ax.set_yticks(range(len(category_lift.index)), category_lift.index)
    ax.grid(False)
    fig.colorbar(image, ax=ax, label="lift (1 = independent)")
    ax.set_title("Category affinity: lift of buying both in one order")
    ax.set_xlabel("category")
    ax.set_ylabel("category")
    return fig


def bundle_intent(scores: pd.DataFrame, subjects: Mapping[str, Mapping[str, str]]) -> Figure:
    """Grouped bars: mean purchase intent per bundle (group) and persona (bar), with the 3.5 backing line.

    `scores` is the persona × bundle score table with a `persona` name column (as the notebook saves it
    to bundle_scores.csv); `subjects` maps each subject key to its `label` ("Bundle 1 (A + B)"), of which
    the x axis shows the part before the parenthesis.
    """
    pivot = scores.pivot_table(index="subject", columns="persona", values="intent", sort=False)
    pivot.index = [subjects[s]["label"].split(" (")[0] for s in pivot.index]
    fig, ax = plt.subplots()
    pivot.plot.bar(ax=ax, rot=0)
    ax.axhline(INTENT_THRESHOLD, color="grey", ls="--", lw=1)
    ax.set_ylim(1, 5)
    ax.set_title("Purchase intent for each bundle, by persona")
    ax.set_xlabel("bundle")
    ax.set_ylabel("mean intent (1-5 Likert)")
    # Outside the axes, right of the plot: inside it the legend sat on top of the highest bars.
    ax.legend(title="persona", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.tight_layout()
    return fig
