"""Notebook 05 charts built from small hand-made frames: panels, bars, intervals, line colours."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from helpers.charts import BLUE, ORANGE
from helpers.charts.channels import act_by_persona, channel_metrics, paired_campaigns


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _intervals():
    rows = []
    for channel, base in (("email", 0.01), ("sms", 0.02)):
        for metric, value in (
            ("click_rate", 5 * base),
            ("conversion_rate", base),
            ("unsubscribe_rate", base / 4),
        ):
            rows.append((channel, metric, value, value * 0.9, value * 1.1))
        rows.append((channel, "revenue_per_recipient", 100 * base, 90 * base, 110 * base))
    return pd.DataFrame(rows, columns=["channel", "metric", "value", "low", "high"])


COMPARISON = pd.DataFrame(
    {"significant": [True, False, True, False]},
    index=["click_rate", "conversion_rate", "revenue_per_recipient", "unsubscribe_rate"],
)


def test_channel_metrics_draws_a_panel_per_metric_with_stars_on_significant_ones():
    fig = channel_metrics(_intervals(), COMPARISON, "last_365_days", 0.05)
    assert fig.get_suptitle() == "Email vs SMS, pooled over last 365 days (* significant at 0.05)"
    assert [ax.get_title() for ax in fig.axes] == [
        "click rate *",
        "conversion rate",
        "revenue per recipient *",
        "unsubscribe rate",
    ]
    click, _, revenue, _ = fig.axes
    assert [p.get_height() for p in click.patches] == pytest.approx([5.0, 10.0])  # percent
    assert [p.get_height() for p in revenue.patches] == pytest.approx([1.0, 2.0])  # currency, unscaled
    assert [to_hex(p.get_facecolor()) for p in click.patches] == [BLUE, ORANGE]
    assert [t.get_text() for t in click.get_xticklabels()] == ["email", "SMS"]
    assert click.get_ylabel() == "click rate (%)" and click.get_xlabel() == "channel"
    # The error bar spans the interval: 90 %–110 % of the SMS click rate, in percent.
    segments = click.collections[0].get_segments()
    assert segments[1][:, 1] == pytest.approx([9.0, 11.0])


PAIRED = pd.DataFrame(
    {
        "campaign": ["flash sale", "vip"],
        "click_rate_email": [0.05, 0.08],
        "click_rate_sms": [0.10, 0.04],
        "conversion_rate_email": [0.01, 0.02],
        "conversion_rate_sms": [0.02, 0.03],
        "revenue_per_recipient_email": [0.5, 0.9],
        "revenue_per_recipient_sms": [0.4, 0.8],
    }
)


def test_paired_campaigns_draws_one_line_per_campaign_orange_when_sms_wins():
    fig = paired_campaigns(PAIRED)
    assert fig.get_suptitle() == "Same campaign, two channels (orange: SMS did better)"
    click, conversion, revenue = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["click rate", "conversion rate", "revenue per recipient"]
    assert [to_hex(line.get_color()) for line in click.lines] == [ORANGE, BLUE]
    assert [to_hex(line.get_color()) for line in conversion.lines] == [ORANGE, ORANGE]
    assert [to_hex(line.get_color()) for line in revenue.lines] == [BLUE, BLUE]
    assert list(click.lines[0].get_ydata()) == pytest.approx([5.0, 10.0])
    assert [t.get_text() for t in click.get_xticklabels()] == ["email", "SMS"]


def test_act_by_persona_has_a_bar_per_persona_and_channel_in_channel_colours():
    scores = pd.DataFrame(
        {
            "persona_id": ["p1", "p1", "p2", "p2"],
            "subject": ["email", "sms", "email", "sms"],
            "act": [40.0, -20.0, 10.0, 60.0],
        }
    )
    fig = act_by_persona(scores, {"p1": "VIP"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["VIP", "p2"]  # unnamed persona shows its id
    assert [p.get_height() for p in ax.patches] == pytest.approx([40.0, 10.0, -20.0, 60.0])
    assert [to_hex(p.get_facecolor()) for p in ax.patches] == [BLUE, BLUE, ORANGE, ORANGE]
    assert ax.get_ylim() == (-100, 100)
    assert ax.get_title() == "Likelihood to act on the best email vs the best SMS"
    assert ax.get_legend().get_title().get_text() == "channel"
