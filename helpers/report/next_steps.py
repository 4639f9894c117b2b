"""The recommended next step each report's findings end with: one Markdown line, naming what to act on.

Pure functions over frames the notebooks already hold (no HTTP); the analysis behind each step lives in
``helpers/analysis``, this only says what to do with its result, by name.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

MAX_NAMES = 4
DATA, PERSONAS = "data", "personas"  # what a next step rests on: the account's data, or synthetic personas


class NextStep(str):
    """A next step's Markdown line that also says what it rests on (``evidence``: :data:`DATA` or
    :data:`PERSONAS`, directional), for the index and the mail to say how far to trust it."""

    evidence: str

    def __new__(cls, text: str, evidence: str = DATA) -> NextStep:
        step = super().__new__(cls, text)
        step.evidence = evidence
        return step


def _list(names: list[str]) -> str:
    shown = names[:MAX_NAMES]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def tiers(actions: pd.DataFrame) -> str:
    """From ``tier_actions.tier_actions``: each tier's action, highest tier first."""
    if actions is None or actions.empty or "action" not in actions.columns:
        return "**Next step:** review the tier table; no action could be derived from its numbers."
    parts = [f"{tier}: {action}" for tier, action in reversed(list(actions["action"].items()))]
    return "**Next step:** " + "; ".join(parts) + " (why: the tier section)."


def rewrites(rewrites_df: pd.DataFrame, flagged: pd.DataFrame, watch: pd.DataFrame) -> str:
    """Paste the rewrites in, rerun the step that did not run, or say there is nothing to change."""
    names = lambda frame: [f"'{n}'" for n in frame["message_name"].drop_duplicates()]  # noqa: E731
    if rewrites_df is not None and not rewrites_df.empty:
        checks = rewrites_df["checks"] if "checks" in rewrites_df.columns else pd.Series("ok", index=rewrites_df.index)
        ready, editing = rewrites_df[checks == "ok"], rewrites_df[checks != "ok"]
        edit = (f"; edit the {len(editing)} marked “needs editing” first (section 4 says why)" if len(editing) else "")
        if ready.empty:
            return (f"**Next step:** edit the {len(editing)} rewrites of {_list(names(editing))} marked “needs "
                    "editing” (section 4 says why) before pasting them into Klaviyo.")
        return (f"**Next step:** paste the {len(ready)} ready rewrites of {_list(names(ready))} into those "
                f"flow messages in Klaviyo (section 4; all in `rewrites.csv`){edit}, then compare over the next "
                "30–90 days.")
    if flagged is not None and not flagged.empty:
        return (f"**Next step:** rerun the rewrite step for {_list(names(flagged))}: Mavera made no rewrites in "
                "this run (section 4 says why).")
    if watch is not None and not watch.empty:
        return (f"**Next step:** no rewrite yet; look again over a longer timeframe at {_list(names(watch))} "
                "(lower, not confirmed).")
    return "**Next step:** none: no live flow message lags its peers enough to rewrite."


_VERBS = {"merge": "merge", "retire": "retire", "fold": "fold"}


def segment_plan(plan: pd.DataFrame) -> str:
    """The plan's merges, retirements and folds, by segment name."""
    if plan is None or plan.empty or "action" not in plan.columns:
        return "**Next step:** none: no segment duplicates, nests in or is too small beside another."
    steps = []
    for action in ("merge", "fold", "retire"):
        rows = plan[plan["action"] == action]
        if rows.empty:
            continue
        if action == "retire":
            steps.append("retire " + _list([f"'{n}'" for n in rows["name"]]))
        else:
            into = rows["into_name"] if "into_name" in rows.columns else rows.get("into", "")
            steps.append(f"{action} " + _list([f"'{n}' into '{t}'" for n, t in zip(rows["name"], into, strict=True)]))
    if not steps:
        return "**Next step:** none: the plan keeps every segment."
    return "**Next step:** " + "; ".join(steps) + " (the plan in section 4)."


def bundles(verdicts: pd.DataFrame) -> str:
    """Launch the bundles both the data and the personas back; test the ones they disagree on."""
    if verdicts is None or verdicts.empty or "verdict" not in verdicts.columns:
        return ("**Next step:** run the focus group again: without persona answers only the data speaks for the "
                "bundles (section 4 says why).")
    backed = verdicts[verdicts["verdict"] == "both support"]["bundle"].tolist()
    agree = verdicts["agree"].astype(bool) if "agree" in verdicts.columns else pd.Series(True, index=verdicts.index)
    mixed = verdicts[~agree]
    parts = []
    if backed:
        parts.append("offer " + _list(backed) + " as bundles")
    if not mixed.empty:
        parts.append("test " + _list(mixed["bundle"].tolist()) + " with a small audience first (data and personas disagree)")
    if not parts:
        return "**Next step:** none of the tested bundles is backed; keep the products apart."
    return NextStep("**Next step:** " + "; ".join(parts) + f". Persona answers are {_directional(verdicts, 'min_answers')}.",
                    PERSONAS)


def _directional(frame: pd.DataFrame, column: str) -> str:
    """The persona caveat with the smallest n per persona in ``column`` (a finding reaching the index keeps it)."""
    from helpers.analysis.focus_groups import directional

    counts = pd.to_numeric(frame[column], errors="coerce").dropna() if column in frame.columns else pd.Series()
    return directional(int(counts.min()) if len(counts) else None)


def channels(recommendations: pd.DataFrame, winner_by_metric: Mapping[str, str], significant: Mapping[str, bool]) -> str:
    """Per recommended channel, the personas to reach on it; without personas, the pooled winner."""
    names = {"email": "email", "sms": "SMS", "either": "either channel"}
    if recommendations is not None and not recommendations.empty and "recommendation" in recommendations.columns:
        groups = []
        for choice, rows in recommendations.groupby("recommendation", sort=False):
            who = _list(rows["persona"].astype(str).tolist()) if "persona" in rows.columns else f"{len(rows)} personas"
            verb = "A/B test email against SMS for" if choice == "test both" else f"reach {who} on"
            groups.append(f"{verb} {who}" if choice == "test both" else f"{verb} {names.get(choice, choice)}")
        return NextStep("**Next step:** " + "; ".join(groups) + f". Persona answers are {_directional(recommendations, 'n')}.",
                        PERSONAS)
    sig = [m for m, s in significant.items() if s and m in winner_by_metric]
    if "revenue_per_recipient" in sig:
        return (f"**Next step:** lead with {names.get(winner_by_metric['revenue_per_recipient'], '?')}, which earns "
                "more revenue per recipient (significant).")
    if sig:
        metric = sig[0]
        return (f"**Next step:** favour {names.get(winner_by_metric[metric], '?')} for {metric.replace('_', ' ')} "
                "(significant); revenue per recipient does not decide.")
    return "**Next step:** either channel: no difference is significant; test on one segment before moving budget."
