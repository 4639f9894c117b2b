"""Charts of notebook 02 (flow content refresh): funnel per flow, open rate vs click rate."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from . import BLUE, RED

__all__ = ["FUNNEL_STAGES", "flow_funnels", "open_vs_click"]

# (count column of `flows.flow_funnel`, stage label), in funnel order.
FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    ("delivered", "delivered"), ("opens_unique", "opened"), ("clicks_unique", "clicked"),
    ("conversion_uniques", "converted"),
)


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


def open_vs_click(evaluated: pd.DataFrame, min_recipients: int) -> Figure:
    """Email messages as dots, open rate vs click rate, sized by recipients.

    `evaluated` is the messages frame of `flows.evaluate_messages`. Three layers: normal (blue), too few
    recipients to judge (hollow grey) and underperforming (red, labelled with the message name).
    """
    email = evaluated[(evaluated["channel"] == "email") & (evaluated["delivered"] > 0)]
    fig, ax = plt.subplots()
    size = 20 + 200 * email["recipients"] / max(email["recipients"].max(), 1)
    normal = email[email["eligible"] & ~email["underperforming"]]
    ax.scatter(normal["open_rate"] * 100, normal["click_rate"] * 100, s=size[normal.index], color=BLUE, alpha=0.7,
               label="normal")
    small = email[~email["eligible"]]
    ax.scatter(small["open_rate"] * 100, small["click_rate"] * 100, s=size[small.index], facecolors="none",
               edgecolors="grey", label=f"< {min_recipients} recipients (not judged)")
    bad = email[email["underperforming"]]
    ax.scatter(bad["open_rate"] * 100, bad["click_rate"] * 100, s=size[bad.index], color=RED, label="underperforming")
    for r in bad.itertuples():
        ax.annotate(r.message_name, (r.open_rate * 100, r.click_rate * 100), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    ax.set_title("Email flow messages: open rate vs click rate")
    ax.set_xlabel("open rate (%)")
    ax.set_ylabel("click rate (%)")
    ax.legend(fontsize=8)
    return fig
