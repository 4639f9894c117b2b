"""Notebook 03 charts built from small hand-made frames: what each figure shows, checked on its artists."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from helpers.charts import RED, segments


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_overlap_heatmap_keeps_the_given_order_and_labels_by_name():
    ids = ["s2", "s1", "s3"]
    jac = pd.DataFrame([[1.0, 0.9, 0.0], [0.9, 1.0, 0.1], [0.0, 0.1, 1.0]], index=ids, columns=ids)
    names = {"s1": "VIP", "s2": "A very long segment name that will be cut short"}
    fig = segments.overlap_heatmap(jac, names)
    ax, colorbar = fig.axes
    assert ax.get_title() == "Segment overlap (Jaccard), clustered"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["A very long segment name tha", "VIP", "s3"]  # 28 characters; unnamed ids as is
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    np.testing.assert_array_equal(ax.images[0].get_array(), jac.to_numpy())
    assert ax.images[0].get_clim() == (0, 1) and colorbar.get_ylabel() == "Jaccard similarity"


def test_overlap_heatmap_drops_tick_labels_when_too_many_segments():
    ids = [f"s{i}" for i in range(61)]
    fig = segments.overlap_heatmap(pd.DataFrame(np.eye(61), index=ids, columns=ids), {s: f"Seg {s}" for s in ids})
    assert not any("Seg" in t.get_text() for t in fig.axes[0].get_xticklabels() + fig.axes[0].get_yticklabels())
    assert tuple(fig.get_size_inches()) == (14, 13)  # capped


def test_segment_sizes_stacks_unique_members_and_draws_the_tiny_threshold():
    table = pd.DataFrame({"segment_id": ["a", "b", "c"], "name": ["Big", "Small", "Medium"],
                          "size": [900, 40, 300], "unique": [100, 40, 0]})
    fig = segments.segment_sizes(table, tiny_share=0.05, profiles_total=1000)
    ax = fig.axes[0]
    assert ax.get_title() == "Segment sizes and their unique members"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("profiles", "segment")
    assert len(ax.patches) == 6  # total and unique bar per segment
    totals, unique = ax.containers
    assert [p.get_width() for p in totals] == [40, 300, 900]  # smallest first, i.e. at the bottom
    assert [p.get_width() for p in unique] == [40, 0, 100]
    threshold = ax.lines[0]
    assert threshold.get_xdata()[0] == pytest.approx(50) and to_hex(threshold.get_color()) == RED
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "tiny threshold (5% of profiles)", "shared with other segments", "only in this segment"]
