"""Notebook 01 charts built from small hand-made frames: what each figure shows, checked on its artists."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from helpers.charts import RED, customers


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_clv_distribution_marks_each_tier_cut_and_counts_zeros():
    values = pd.Series([0.0, 0.0, 10, 20, 50, 100, 1000, np.nan, "n/a"], dtype=object)
    fig = customers.clv_distribution(values, thresholds=[0.0, 50.0], tier_names=["Low", "Mid", "Top"],
                                     label="predicted CLV")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert ax.get_title() == "Predicted CLV per customer (2 at zero not shown)"
    assert ax.get_xlabel() == "predicted CLV (log scale)" and ax.get_ylabel() == "customers"
    assert ax.get_xscale() == "log"
    assert len(ax.patches) == 39  # 40 log-spaced bin edges
    assert sum(p.get_height() for p in ax.patches) == 5  # the positive values only
    # a cut at zero cannot sit on a log axis: only the Top cut is drawn, dashed red and labelled
    cuts = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in cuts] == [50.0] and to_hex(cuts[0].get_color()) == RED
    assert [t.get_text() for t in ax.texts] == [" Top > 50"]  # right-closed tiers start above the cut


def test_clv_distribution_without_positive_values_is_an_empty_labelled_chart():
    fig = customers.clv_distribution(pd.Series([0.0, np.nan]), [], ["Low"], "historic CLV")
    ax = fig.axes[0]
    assert not ax.patches and ax.get_title() == "Historic CLV per customer (1 at zero not shown)"


def test_clv_at_risk_labels_every_cell_of_the_tier_by_band_matrix():
    at_risk = pd.DataFrame([[10.0, 200.0, 3000.0], [0.0, 5.5, 12_345.0]], index=["Regular", "VIP"],
                           columns=["low", "medium", "high"])
    fig = customers.clv_at_risk(at_risk)
    ax, colorbar = fig.axes
    assert ax.get_title() == "Next year's spend at risk (predicted CLV × churn ÷ (1 − churn))"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("churn-risk band", "value tier")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["low churn", "medium churn", "high churn"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Regular", "VIP"]
    assert [t.get_text() for t in ax.texts] == ["10", "200", "3,000", "0", "6", "12,345"]
    np.testing.assert_array_equal(ax.images[0].get_array(), at_risk.to_numpy())
    assert colorbar.get_ylabel() == "value at risk"


def test_holdout_shows_predicted_against_actual_orders_per_bin():
    table = pd.DataFrame({"customers": [50, 20, 5], "predicted": [0.5, 1.2, 3.0], "actual": [0.6, 1.0, 3.5]},
                         index=pd.Index(["0", "1", "2+"], name="repeat_orders_before_cutoff"))
    table.attrs.update(predicted_total=64.0, actual_total=61.5, days=120.0)
    ax = customers.holdout(table).axes[0]
    assert ax.get_title() == "Holdout check: 64 orders predicted, 62 placed"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2+"]
    assert [p.get_height() for p in ax.patches] == [0.6, 1.0, 3.5]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.5, 1.2, 3.0])
    assert ax.get_ylabel() == "orders per customer in the 120 days after"


def test_pareto_title_reads_the_top_fifth_share():
    curve = pd.DataFrame({"customer_share": [0.2, 0.4, 0.6, 0.8, 1.0], "value_share": [0.5, 0.7, 0.85, 0.95, 1.0]})
    fig = customers.pareto(curve, "predicted CLV")
    ax = fig.axes[0]
    assert ax.get_title() == "Pareto: the top 20 % of customers hold 50% of predicted CLV"
    assert ax.get_ylabel() == "cumulative share of predicted CLV (%)"
    curve_line, diagonal = ax.lines
    np.testing.assert_allclose(curve_line.get_ydata(), [50, 70, 85, 95, 100])
    assert list(diagonal.get_xdata()) == [0, 100] and diagonal.get_label() == "equal value"


def test_pareto_of_no_customers_says_nan():
    fig = customers.pareto(pd.DataFrame({"customer_share": [], "value_share": []}), "historic CLV")
    assert fig.axes[0].get_title() == "Pareto: the top 20 % of customers hold nan% of historic CLV"
