"""Pure analysis functions, one module per job (no HTTP, never the sandbox truth).

stats: shared significance tests · customers: 01 CLV tiers · flows: 02 message tests ·
segments: 03 overlap · affinity: 04 basket pairs · channels: 05 channel comparison · focus_groups: 04/05.
"""
