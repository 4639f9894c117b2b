"""Charts of notebook 02 (flow content refresh): funnel per flow, each message's ratio to its peers."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import ORANGE, RED

__all__ = ["FUNNEL_STAGES", "STAGE_LABELS", "flow_funnels", "peer_ratios"]

# (count column of `flows.flow_funnel`, stage label), in funnel order.
FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    ("delivered", "delivered"), ("opens_unique", "opened"), ("clicks_unique", "clicked"),
    ("conversion_uniques", "converted"),
)
# Tested metrics in funnel order, as the ratio chart labels them.
STAGE_LABELS: dict[str, str] = {"open_rate": "open rate", "click_rate": "click rate", "conversion_rate": "conversion rate",
                                "revenue_per_recipient": "revenue / recipient"}


def flow_funnels(funnel: pd.DataFrame) -> Figure:
    """One line per flow and channel: the share of delivered messages reaching each stage (log scale).

    `funnel` is `flows.flow_funnel(perf)`. SMS has no opens, so its line skips that stage; flows that
    delivered nothing are left out.
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for row in funnel.itertuples(index=False):
        if row.delivered <= 0:
            continue
        steps = [(label, getattr(row, col) / row.delivered) for col, label in FUNNEL_STAGES
                 if not (row.channel == "sms" and col == "opens_unique")]
        ax.plot([s[0] for s in steps], [s[1] * 100 for s in steps], marker="o", label=f"{row.flow_name} ({row.channel})")
    ax.set_yscale("log")
    ax.set_title("Flow funnels: share of delivered messages reaching each stage")
    ax.set_xlabel("funnel stage")
    ax.set_ylabel("% of delivered (log scale)")
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    return fig


def peer_ratios(tests: pd.DataFrame, evaluated: pd.DataFrame, min_relative_gap: float = 0.25) -> Figure:
    """Why messages were flagged: each tested message's rate as a % of its channel peers', one row per metric.

    `tests` and `evaluated` come from `flows.evaluate_messages`. Grey dots are tests that raised nothing,
    orange ones put a message on watch (materially lower, not confirmed), red ones flagged it; flagged dots
    are numbered and the legend names them, so labels never overlap. Only tested messages appear: a
    low-volume message has no ratio and never stretches the axis. The dashed red line is the materiality
    bar (1 - `min_relative_gap`), the grey one parity with the peers. Tests against a message's own earlier
    period (`check` = "history") are not peers and are not drawn (the report's findings name them).
    """
    if "check" in tests:
        tests = tests[tests["check"] == "peers"]
    metrics = [m for m in STAGE_LABELS if m in set(tests["metric"])]
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.9 * max(len(metrics), 1)))
    names = evaluated.set_index("message_id")["message_name"]
    flagged_ids = list(dict.fromkeys(tests.loc[tests["flagged"], "message_id"]))
    number = {m: k + 1 for k, m in enumerate(flagged_ids)}
    rng = np.random.default_rng(0)  # a fixed jitter: the same data always draws the same chart
    labelled: set[str] = set()
    for row, metric in enumerate(metrics):
        t = tests[(tests["metric"] == metric) & tests["ratio"].notna()]
        y = row + rng.uniform(-0.18, 0.18, len(t))
        # Flagged dots get their own evenly spaced heights, so near-equal ratios never hide each other's number.
        hit = t["flagged"].to_numpy()
        y[hit] = row - 0.3 + 0.6 * (np.arange(hit.sum()) + 0.5) / max(hit.sum(), 1)
        for mask, color, label, z in ((~t["flagged"] & ~t["watch"], "grey", "no flag", 1),
                                      (t["watch"], ORANGE, "watch (lower, not confirmed)", 2),
                                      (t["flagged"], RED, "flagged (rewrite)", 3)):
            if mask.any():
                ax.scatter(t.loc[mask, "ratio"] * 100, y[mask.to_numpy()], s=40, color=color, alpha=0.8, zorder=z,
                           label=None if label in labelled else label)
                labelled.add(label)
        for (_, r), yy in zip(t.iterrows(), y, strict=True):
            if r["flagged"]:
                ax.annotate(str(number[r["message_id"]]), (r["ratio"] * 100, yy), fontsize=8, xytext=(-6, 0),
                            textcoords="offset points", ha="right", va="center", color=RED)
    ax.axvline(100, color="grey", linestyle=":", linewidth=1)
    ax.axvline((1 - min_relative_gap) * 100, color=RED, linestyle="--", linewidth=1,
               label=f"materiality bar ({1 - min_relative_gap:.0%} of peers)")
    ax.set_yticks(range(len(metrics)), [STAGE_LABELS[m] for m in metrics])
    ax.set_ylim(len(metrics) - 0.5, -0.5)
    ax.set_title("Each tested message's rate as a share of its channel peers'")
    ax.set_xlabel("rate ÷ peers' pooled rate (%)")
    ax.set_ylabel("metric")
    handles, labels = ax.get_legend_handles_labels()
    key = "\n".join(f"{number[m]} {names.get(m, m)}" for m in flagged_ids)
    ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1),
              title=key or None, title_fontsize=7)
    return fig
