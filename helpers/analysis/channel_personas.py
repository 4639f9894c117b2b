"""Per-persona channel advice that never contradicts the persona's own answers silently (notebook 05).

`channel_advice.channel_recommendations` combines the pooled data with each persona's stated preference. A
persona's answers hold more than its preference, though: a likelihood to act of NPS −80 on SMS means
"do not text me", whatever the pooled audience does. This module checks the recommendation against those
answers: a channel the persona rejects is not advised, or is advised "despite …" when both are rejected,
and the channel shares are spelled out so that 40 % email + 40 % SMS reads as "20 % no preference", not
as missing answers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from helpers.analysis.channel_advice import option_channel
from helpers.analysis.channels import CHANNELS, channel_name

__all__ = ["REJECT_NPS", "persona_channel_advice", "share_explanation"]

# A likelihood-to-act NPS at or below this is a rejection: at −50, with no promoters, three quarters of the
# respondents score 0–6; a recommendation of that channel has to say so.
REJECT_NPS = -50.0
_NO_PREFERENCE = ("either", "both", "no preference", "any", "don't mind", "do not mind", "doesn't matter")


def _option_kind(option: str) -> str:
    channel = option_channel(option)
    if channel:
        return channel
    text = str(option).lower()
    if "neither" in text or "none" in text:
        return "neither"
    return "no preference" if any(w in text for w in _NO_PREFERENCE) else "other"


def share_explanation(shares: Mapping[str, float] | pd.Series) -> str:
    """The persona's channel choice as shares that add up to 100 %, each part named.

    Why: per-persona email and SMS shares that sum to 80 % look like lost answers; the remainder is
    usually "Either is fine". `shares` is one row of `focus_groups.choice_shares` ({option: share}).
    Options are grouped as email, SMS, no preference (either/both), neither, or shown by their own text;
    a remainder below 100 % is "no answer". E.g. "email 40 %, SMS 40 %, no preference 20 % (“Either is
    fine”)". No shares → "no channel answers".
    """
    items = {str(k): float(v) for k, v in dict(shares).items() if pd.notna(v) and float(v) > 0}
    if not items:
        return "no channel answers"
    groups: dict[str, list[tuple[str, float]]] = {}
    for option, share in items.items():
        groups.setdefault(_option_kind(option), []).append((option, share))
    parts = []
    for kind in ("email", "sms", "no preference", "neither"):
        if kind in groups:
            total = sum(s for _, s in groups[kind])
            label = channel_name(kind) if kind in CHANNELS else kind
            quoted = "" if kind in CHANNELS else " (" + ", ".join(f"“{o}”" for o, _ in groups[kind]) + ")"
            parts.append(f"{label} {total:.0%}{quoted}")
    parts += [f"“{o}” {s:.0%}" for o, s in groups.get("other", [])]
    rest = 1.0 - sum(items.values())
    if rest > 0.005:
        parts.append(f"no answer {rest:.0%}")
    return ", ".join(parts)


def _nps(x) -> str:
    return f"{x:+.0f}"


def persona_channel_advice(
    recommendations: pd.DataFrame,
    shares: pd.DataFrame | None = None,
    reject_nps: float = REJECT_NPS,
) -> pd.DataFrame:
    """`recommendations` plus `advice`, `advice_reason` (one sentence), `contradicts_answers`, `shares_note`.

    Why: a recommendation must follow from the persona's own answers or say where it does not.
    `recommendations` is `channel_advice.channel_recommendations` / `recommendation_table` output (`persona_id,
    recommendation, basis, act_nps_email, act_nps_sms, email_share, sms_share, prefers, n`); `shares`
    the `choice_shares` by persona for `shares_note` (`share_explanation`).

    A channel is *rejected* by a persona when its act-NPS is at most `reject_nps`. Rules: a recommended
    channel the persona rejects is replaced by the other channel when that one is not rejected ("not
    SMS: …"); when both are rejected the recommendation stands, "despite" both scores. "test both" or
    "either" with one rejected channel becomes the other channel. Whatever the advice, when it is a
    channel the persona rejects or picks less often than the other, `advice_reason` says "despite …" and
    `contradicts_answers` is True; otherwise it is False.
    """
    out = recommendations.copy()
    advice, reasons, contradicts, notes = [], [], [], []
    for row in out.itertuples(index=False):
        acts = {c: float(getattr(row, f"act_nps_{c}", np.nan)) for c in CHANNELS}
        picks = {c: float(getattr(row, f"{c}_share", 0.0) or 0.0) for c in CHANNELS}
        rejected = [c for c in CHANNELS if np.isfinite(acts[c]) and acts[c] <= reject_nps]
        rec = str(row.recommendation)
        basis = str(getattr(row, "basis", "") or "")
        channel = rec if rec in CHANNELS else None
        if channel and channel in rejected:
            other = next(c for c in CHANNELS if c != channel)
            if other not in rejected:
                choice = other
                reason = (f"not {channel_name(channel)}: this persona's likelihood to act on it is NPS "
                          f"{_nps(acts[channel])} (at or below {_nps(reject_nps)}) against {_nps(acts[other])} "
                          f"for {channel_name(other)}, although the combined rule pointed to "
                          f"{channel_name(channel)}" + (f" ({basis})" if basis else ""))
            else:
                choice = channel
                reason = basis or f"{channel_name(channel)} recommended"
        elif channel is None and len(rejected) == 1:
            choice = next(c for c in CHANNELS if c not in rejected)
            reason = (f"{channel_name(choice)} rather than \"{rec}\": this persona's likelihood to act on "
                      f"{channel_name(rejected[0])} is NPS {_nps(acts[rejected[0]])}" + (f" ({basis})" if basis else ""))
        else:
            choice, reason = rec, basis or rec
        despite = []
        if choice in CHANNELS:
            other = next(c for c in CHANNELS if c != choice)
            if choice in rejected:
                worse = f"; {channel_name(other)} is no better at {_nps(acts[other])}" if other in rejected else ""
                despite.append(f"an act-NPS of {_nps(acts[choice])} for {channel_name(choice)}{worse}")
            if picks[other] > picks[choice]:
                despite.append(f"the persona picking {channel_name(other)} more often ({picks[other]:.0%} vs "
                               f"{picks[choice]:.0%})")
        elif choice == "test both" and rejected:
            despite.append(" and ".join(f"an act-NPS of {_nps(acts[c])} for {channel_name(c)}" for c in rejected))
        if despite:
            reason = f"{reason}; recommended despite " + " and ".join(despite)
        advice.append(choice)
        reasons.append(reason[:1].upper() + reason[1:] + ".")
        contradicts.append(bool(despite))
        persona = row.persona_id
        row_shares = shares.loc[persona] if shares is not None and persona in shares.index else {
            "email": picks["email"], "sms": picks["sms"]}
        notes.append(share_explanation(row_shares))
    out["advice"] = advice
    out["advice_reason"] = reasons
    out["contradicts_answers"] = contradicts
    out["shares_note"] = notes
    return out
