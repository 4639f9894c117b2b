"""Notebook 04 charts built from small hand-made frames: titles, labels, bar counts and values."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from helpers.charts import BLUE
from helpers.charts.affinity import bundle_intent, category_heatmap, top_pairs


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


DESCRIBED = pd.DataFrame(
    {
        "product_a": ["A", "C", "E"],
        "product_b": ["B", "D", "F"],
        "co_orders": [40, 25, 30],
        "support": [0.04, 0.025, 0.03],
        "lift": [6.0, 4.0, 2.5],
        "title_a": ["Apron", None, "Egg cup"],
        "title_b": ["Bowl", "Dish", "Fork"],
    }
)


def test_top_pairs_draws_the_first_n_pairs_strongest_on_top():
    fig = top_pairs(DESCRIBED, 2)
    ax = fig.axes[0]
    assert ax.get_title() == "Top 2 product pairs by lift"
    assert ax.get_xlabel() == "lift (× more often together than by chance)"
    assert ax.get_ylabel() == "product pair"
    bars = ax.patches
    assert [b.get_width() for b in bars] == [4.0, 6.0]  # barh draws bottom-up: strongest last = on top
    assert {to_hex(b.get_facecolor()) for b in bars} == {BLUE}
    # A missing title falls back to the product id.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C + Dish", "Apron + Bowl"]
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["  2.50% of orders (25)", "  4.00% of orders (40)"]
    assert ax.get_xlim() == pytest.approx((0, 6.0 * 1.35))


def test_top_pairs_of_no_pairs_is_an_empty_chart():
    fig = top_pairs(DESCRIBED.iloc[:0], 10)
    ax = fig.axes[0]
    assert ax.get_title() == "Top 0 product pairs by lift" and not ax.patches
    assert ax.get_xlim() == (0, 1)


def test_category_heatmap_centres_on_one_and_masks_missing_cells():
    names = ["Bath", "Garden", "Kitchen"]
    lift = pd.DataFrame(
        [[np.nan, 3.0, 0.5], [3.0, np.nan, np.nan], [0.5, np.nan, np.nan]], index=names, columns=names
    )
    fig = category_heatmap(lift)
    ax, colorbar = fig.axes
    image = ax.images[0]
    assert image.get_array().mask.sum() == 5  # diagonal + the two too-few-orders cells
    assert image.norm.vcenter == 1.0 and image.norm.vmin == 0.5 and image.norm.vmax == 3.0
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert ax.get_title() == "Category affinity: lift of buying both in one order"
    assert colorbar.get_ylabel() == "lift (1 = independent)"


def test_category_heatmap_keeps_one_inside_the_colour_range():
    names = ["Bath", "Garden"]
    lift = pd.DataFrame([[np.nan, 3.0], [3.0, np.nan]], index=names, columns=names)
    norm = category_heatmap(lift).axes[0].images[0].norm
    assert norm.vmin == 0.99 and norm.vmax == 3.0


def test_bundle_intent_has_one_bar_per_persona_and_bundle():
    scores = pd.DataFrame(
        {
            "persona_id": ["p1", "p2", "p1", "p2"],
            "persona": ["VIP", "Regular", "VIP", "Regular"],
            "subject": ["A + B", "A + B", "C + D", "C + D"],
            "intent": [4.5, 2.0, 3.0, 3.75],
        }
    )
    subjects = {"A + B": {"label": "Bundle 1 (Apron + Bowl)"}, "C + D": {"label": "Bundle 2 (Cup + Dish)"}}
    fig = bundle_intent(scores, subjects)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Bundle 1", "Bundle 2"]
    heights = sorted(round(p.get_height(), 2) for p in ax.patches)
    assert heights == [2.0, 3.0, 3.75, 4.5]
    assert ax.get_ylim() == (1, 5)
    assert [line.get_ydata()[0] for line in ax.lines] == [3.5]
    assert ax.get_legend().get_title().get_text() == "persona"
    assert ax.get_ylabel() == "mean intent (1-5 Likert)" and ax.get_xlabel() == "bundle"


def test_bundle_intent_legend_covers_no_bar():
    # Intent near the top of the scale in every bar: a legend inside the axes would sit on some of them.
    scores = pd.DataFrame(
        {
            "persona": ["VIP", "Regular", "Occasional"] * 3,
            "subject": ["A + B"] * 3 + ["C + D"] * 3 + ["E + F"] * 3,
            "intent": [4.8, 4.9, 5.0, 4.7, 4.9, 4.6, 5.0, 4.8, 4.9],
        }
    )
    subjects = {k: {"label": f"Bundle {i + 1} (x)"} for i, k in enumerate(["A + B", "C + D", "E + F"])}
    fig = bundle_intent(scores, subjects)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend_box = ax.get_legend().get_window_extent()
    assert len(ax.patches) == 9
    assert not any(legend_box.overlaps(bar.get_window_extent()) for bar in ax.patches)
