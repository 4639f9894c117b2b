"""Charts of notebook 01 (persona enrichment): CLV distribution, value at risk, Pareto curve, the model's holdout check."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import BLUE, RED

__all__ = ["clv_at_risk", "clv_distribution", "holdout", "pareto"]


def clv_distribution(values: pd.Series, thresholds: Sequence[float], tier_names: Sequence[str], label: str) -> Figure:
    """Histogram of positive CLV per customer on log bins, with a dashed line at each tier cut.

    `values` is the tiering column (non-numeric and null values are dropped); `thresholds` come from
    `customers.assign_tiers` and name the tier each cut starts (`tier_names[1:]`). A log axis cannot show
    zero, so customers at zero are counted in the title instead.
    """
    values = pd.to_numeric(values, errors="coerce").dropna()
    positive = values[values > 0]
    fig, ax = plt.subplots()
    if len(positive):
        bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()), 40)
        ax.hist(positive, bins=bins, color=BLUE)
        ax.set_xscale("log")
        for cut, name in zip(thresholds, tier_names[1:], strict=False):
            if cut > 0:
                ax.axvline(cut, color=RED, linestyle="--")
                # Tiers are right-closed (a value on the cut stays below it), so a tier starts *above* its cut.
                ax.text(cut, ax.get_ylim()[1] * 0.95, f" {name} > {cut:,.0f}", color=RED, va="top")
    # Upper-case the first letter only: str.capitalize would turn "predicted CLV" into "Predicted clv".
    ax.set_title(f"{label[:1].upper()}{label[1:]} per customer ({(values <= 0).sum():,} at zero not shown)")
    ax.set_xlabel(f"{label} (log scale)")
    ax.set_ylabel("customers")
    return fig


def clv_at_risk(at_risk: pd.DataFrame) -> Figure:
    """Heatmap of the tier × churn-band matrix from `customers.clv_at_risk_matrix`, each cell labelled."""
    grid = at_risk.to_numpy(float)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    im = ax.imshow(grid, cmap="Reds", aspect="auto")
    ax.set_xticks(range(at_risk.shape[1]), [f"{b} churn" for b in at_risk.columns])
    ax.set_yticks(range(at_risk.shape[0]), at_risk.index)
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, f"{v:,.0f}", ha="center", va="center", color="black")
    ax.set_title("Next year's spend at risk (predicted CLV × churn ÷ (1 − churn))")
    ax.set_xlabel("churn-risk band")
    ax.set_ylabel("value tier")
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="value at risk")
    return fig


def pareto(curve: pd.DataFrame, label: str) -> Figure:
    """Cumulative value share against customer share (`customers.pareto`), with the equal-value diagonal.

    The title reads off the share of value held by the top 20 % of customers.
    """
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot(curve["customer_share"] * 100, curve["value_share"] * 100, color=BLUE)
    ax.plot([0, 100], [0, 100], color="grey", linestyle=":", label="equal value")
    top20 = float(np.interp(0.2, curve["customer_share"], curve["value_share"])) if len(curve) else float("nan")
    ax.set_title(f"Pareto: the top 20 % of customers hold {top20:.0%} of {label}")
    ax.set_xlabel("customers, highest value first (%)")
    ax.set_ylabel(f"cumulative share of {label} (%)")
    ax.legend(loc="lower right")
    return fig


def holdout(table: pd.DataFrame) -> Figure:
    """The churn model's check (`clv_model.holdout`): mean orders per customer after the cut-off, predicted
    (line) against actual (bars), by the number of repeat orders before it; the title gives both totals."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(len(table))
    ax.bar(x, table["actual"], color=BLUE, alpha=0.6, label="actual")
    ax.plot(x, table["predicted"], color=RED, marker="o", label="predicted")
    ax.set_xticks(x, table.index)
    ax.set_xlabel("repeat orders before the cut-off")
    ax.set_ylabel(f"orders per customer in the {table.attrs.get('days', 0):.0f} days after")
    predicted, actual = table.attrs.get("predicted_total", np.nan), table.attrs.get("actual_total", np.nan)
    ax.set_title(f"Holdout check: {predicted:,.0f} orders predicted, {actual:,.0f} placed")
    ax.legend()
    return fig
