"""Pure analysis functions, grouped by job (no HTTP, never the sandbox truth).

stats: shared significance tests · markdown: free text made safe for report Markdown ·
01 customers: CLV tiers · tier_actions: labelled tier table, per-tier actions and notes ·
02 flows: message tests · rewrite_display: rewrites as the channel shows them ·
03 segments: overlap · segment_usage: segments used by live campaigns/flows · mave_review: Mave vs the plan ·
04 affinity: basket pairs · affinity_significance: exact tests with Benjamini–Hochberg ·
bundle_support: customer-weighted persona support · focus_groups (04/05): scores, verdicts, quotes ·
05 channels: channel comparison · channel_revenue: conversion × AOV, verdict · channel_pairs: name + time
pairing · channel_personas: advice checked against each persona's answers.
"""
