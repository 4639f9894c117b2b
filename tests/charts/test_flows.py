"""Notebook 02 charts built from small hand-made frames: what each figure shows, checked on its artists."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from helpers.charts import BLUE, RED, flows


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_flow_funnels_one_line_per_flow_sms_without_opens():
    funnel = pd.DataFrame({
        "flow_id": ["F1", "F2", "F3"], "flow_name": ["Welcome", "Cart", "Paused"], "channel": ["email", "sms", "email"],
        "recipients": [1000, 500, 0], "delivered": [1000, 500, 0], "opens_unique": [400, 0, 0],
        "clicks_unique": [40, 50, 0], "conversion_uniques": [10, 5, 0], "conversion_value": [1000.0, 400.0, 0.0],
    })
    fig = flows.flow_funnels(funnel)
    ax = fig.axes[0]
    assert ax.get_title() == "Flow funnels: share of delivered messages reaching each stage"
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "% of delivered (log scale)"
    email, sms = ax.lines  # the flow that delivered nothing has no line
    assert email.get_label() == "Welcome (email)" and sms.get_label() == "Cart (sms)"
    assert list(email.get_xdata()) == ["delivered", "opened", "clicked", "converted"]
    np.testing.assert_allclose(email.get_ydata(), [100, 40, 4, 1])
    assert list(sms.get_xdata()) == ["delivered", "clicked", "converted"]
    np.testing.assert_allclose(sms.get_ydata(), [100, 10, 1])


def _evaluated():
    return pd.DataFrame({
        "message_id": ["ok1", "ok2", "small", "bad", "sms", "silent"],
        "message_name": ["Welcome 1", "Welcome 2", "Tiny", "Weak subject", "Text", "Never sent"],
        "channel": ["email", "email", "email", "email", "sms", "email"],
        "recipients": [10_000, 8000, 200, 9000, 5000, 0],
        "delivered": [10_000, 8000, 200, 9000, 5000, 0],
        "open_rate": [0.40, 0.42, 0.10, 0.20, np.nan, np.nan],
        "click_rate": [0.04, 0.045, 0.01, 0.02, 0.1, np.nan],
        "eligible": [True, True, False, True, True, False],
        "underperforming": [False, False, False, True, False, False],
    })


def test_open_vs_click_flags_underperformers_in_red_and_hollows_the_unjudged():
    fig = flows.open_vs_click(_evaluated(), min_recipients=500)
    ax = fig.axes[0]
    assert ax.get_title() == "Email flow messages: open rate vs click rate"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("open rate (%)", "click rate (%)")
    normal, small, bad = ax.collections  # SMS and messages that delivered nothing are left out
    assert len(normal.get_offsets()) == 2 and to_hex(normal.get_facecolor()[0]) == BLUE
    assert len(small.get_offsets()) == 1 and len(small.get_facecolor()) == 0  # hollow, grey edge
    assert to_hex(small.get_edgecolor()[0]) == "#808080"
    assert len(bad.get_offsets()) == 1 and to_hex(bad.get_facecolor()[0]) == RED
    np.testing.assert_allclose(bad.get_offsets()[0], [20, 2])
    assert [t.get_text() for t in ax.texts] == ["Weak subject"]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["normal", "< 500 recipients (not judged)", "underperforming"]
    # dots grow with recipients: the largest email message gets the largest dot
    assert normal.get_sizes()[0] == pytest.approx(220) and small.get_sizes()[0] < bad.get_sizes()[0]
