"""Notebook 02 charts built from small hand-made frames: what each figure shows, checked on its artists."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from helpers.charts import ORANGE, RED, flows


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


def _tests_and_evaluated():
    # (message_id, metric, ratio, flagged, watch)
    rows = [("ok1", "open_rate", 1.02, False, False), ("ok1", "click_rate", 0.98, False, False),
            ("bad", "open_rate", 0.50, True, False), ("bad", "click_rate", 0.55, True, False),
            ("offer", "conversion_rate", 0.60, True, False), ("offer", "revenue_per_recipient", 0.58, True, False),
            ("maybe", "conversion_rate", 0.70, False, True), ("sms1", "click_rate", 1.01, False, False)]
    tests = pd.DataFrame(rows, columns=["message_id", "metric", "ratio", "flagged", "watch"])
    evaluated = pd.DataFrame({"message_id": ["ok1", "bad", "offer", "maybe", "sms1", "tiny"],
                              "message_name": ["Welcome 1", "Weak subject", "Weak offer", "Borderline", "Text", "Tiny"],
                              "recipients": [10_000, 9000, 9000, 800, 5000, 30]})
    return tests, evaluated


def test_peer_ratios_show_why_each_message_was_flagged():
    tests, evaluated = _tests_and_evaluated()
    fig = flows.peer_ratios(tests, evaluated, min_relative_gap=0.25)
    ax = fig.axes[0]
    assert ax.get_title() == "Each tested message's rate as a share of its channel peers'"
    assert ax.get_xlabel() == "rate ÷ peers' pooled rate (%)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["open rate", "click rate", "conversion rate",
                                                            "revenue / recipient"]
    by_colour = {}
    for c in ax.collections:
        by_colour.setdefault(to_hex(c.get_facecolor()[0]), []).extend(np.round(c.get_offsets()[:, 0], 6).tolist())
    assert sorted(by_colour[RED]) == [50, 55, 58, 60]  # every flagged test, on the metric that flagged it
    assert by_colour[ORANGE] == [70]  # the watched one stands apart from both
    assert sorted(by_colour[to_hex("grey")]) == [98, 101, 102]
    # flagged dots are numbered; the legend says which message each number is, so labels cannot overlap
    assert sorted(t.get_text() for t in ax.texts) == ["1", "1", "2", "2"]
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "1 Weak subject\n2 Weak offer"
    assert [t.get_text() for t in legend.get_texts()] == ["no flag", "flagged (rewrite)", "watch (lower, not confirmed)",
                                                           "materiality bar (75% of peers)"]
    # the materiality bar sits at 75 %; an untested (low-volume) message is not drawn at all
    assert [line.get_xdata()[0] for line in ax.lines] == [100, 75]
    assert ax.get_xlim()[0] > 40 and ax.get_xlim()[1] < 110
