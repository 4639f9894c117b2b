"""Charts of notebook 05 (email vs SMS): pooled metrics with intervals, paired campaigns, likelihood to act.

Each function takes the frames the notebook already holds and returns a matplotlib Figure; the notebook
saves it with `job.save_fig` and shows it. Nothing here saves, shows or computes a metric.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from helpers.charts import BLUE, ORANGE

CHANNEL_COLORS = {"email": BLUE, "sms": ORANGE}
# (metric, axis label, scale): rates are drawn in percent, revenue per recipient in currency.
METRIC_PANELS = [
    ("click_rate", "click rate (%)", 100),
    ("conversion_rate", "conversion rate (%)", 100),
    ("revenue_per_recipient", "revenue per recipient ($)", 1),
    ("unsubscribe_rate", "unsubscribe rate (%)", 100),
]


def _channel_label(channel: str) -> str:
    return channel.upper() if channel == "sms" else channel


def channel_metrics(
    intervals: pd.DataFrame, comparison: pd.DataFrame, timeframe: str, significance: float
) -> Figure:
    """One panel per metric: each channel's pooled value as a bar with its interval as a black error bar.

    `intervals` is `channels.channel_intervals(...)` and `comparison` is `channels.compare_channels(...)`;
    a panel's title carries " *" when the comparison calls that metric significant.
    """
    fig, axes = plt.subplots(1, len(METRIC_PANELS), figsize=(12, 3.8))
    for ax, (metric, label, scale) in zip(axes, METRIC_PANELS, strict=True):
        part = intervals[intervals["metric"] == metric].set_index("channel")
        x = np.arange(len(part))
        ax.bar(x, part["value"] * scale, color=[CHANNEL_COLORS[c] for c in part.index])
        errors = [(part["value"] - part["low"]) * scale, (part["high"] - part["value"]) * scale]
        ax.errorbar(x, part["value"] * scale, yerr=errors, fmt="none", ecolor="black", capsize=6)
        ax.set_xticks(x, [_channel_label(c) for c in part.index])
        star = " *" if comparison.loc[metric, "significant"] else ""
        ax.set_title(label.split(" (")[0] + star, fontsize=10)
        ax.set_ylabel(label)
        ax.set_xlabel("channel")
    fig.suptitle(
        f"Email vs SMS, pooled over {timeframe.replace('_', ' ')} (* significant at {significance:g})"
    )
    fig.tight_layout()
    return fig


def paired_campaigns(paired: pd.DataFrame) -> Figure:
    """Slope chart per headline metric: one line per campaign from its email value (left) to its SMS value (right).

    `paired` is `channels.paired_campaigns(...)`; a line is orange when SMS did better, blue otherwise.
    """
    panels = METRIC_PANELS[:3]
    fig, axes = plt.subplots(1, len(panels), figsize=(12, 4))
    for ax, (metric, label, scale) in zip(axes, panels, strict=True):
        for e, s in zip(paired[f"{metric}_email"] * scale, paired[f"{metric}_sms"] * scale, strict=True):
            ax.plot([0, 1], [e, s], marker="o", color=ORANGE if s > e else BLUE, alpha=0.7)
        ax.set_xticks([0, 1], ["email", "SMS"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(label.split(" (")[0], fontsize=10)
        ax.set_ylabel(label)
        ax.set_xlabel("channel")
    fig.suptitle("Same campaign, two channels (orange: SMS did better)")
    fig.tight_layout()
    return fig


def act_by_persona(scores: pd.DataFrame, names: Mapping[str, str]) -> Figure:
    """Grouped bars of the NPS-style likelihood to act, one group per persona, one bar per channel.

    `scores` is `focus_groups.scores_by(..., by=["persona_id", "subject"])` with subject = channel and an
    `act` column; `names` maps persona id → name for the x axis (the id shows when a name is missing).
    """
    act = scores.pivot_table(index="persona_id", columns="subject", values="act")
    act.index = [names.get(p, p) for p in act.index]
    fig, ax = plt.subplots()
    act.plot.bar(ax=ax, rot=0, color=[CHANNEL_COLORS.get(c, "grey") for c in act.columns])
    ax.axhline(0, color="grey", lw=1)
    ax.set_ylim(-100, 100)
    ax.set_title("Likelihood to act on the best email vs the best SMS")
    ax.set_xlabel("persona")
    ax.set_ylabel("NPS-style score (-100 to 100)")
    ax.legend(title="channel")
    return fig
