"""Notebook charts, one module per job mirroring ``helpers/analysis``.

customers: 01 CLV tiers · flows: 02 message tests · segments: 03 overlap · affinity: 04 basket pairs ·
channels: 05 channel comparison.

Every function takes frames/values and returns a matplotlib ``Figure``: it never shows or saves it.
The notebook saves it with ``job.save_fig(fig, name)`` and then calls ``plt.show()``; the plot style
(rcParams) is set once by ``report.setup``.
"""

# One palette across the workbooks, so a colour means the same thing in every report.
BLUE = "#4c78a8"  # the main series
ORANGE = "#f58518"  # a second series compared with the main one
RED = "#e45756"  # flagged items and thresholds

__all__ = ["BLUE", "ORANGE", "RED"]
