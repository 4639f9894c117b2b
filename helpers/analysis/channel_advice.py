"""What to do about the channels (notebook 05): the data's verdict combined with the personas' answers.

The tests themselves are in :mod:`helpers.analysis.channels`; this module turns their result, and the
focus group's directional answers, into the recommendations the report ends with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.analysis.channels import CHANNELS, channel_name, data_channel, text_of
from helpers.analysis.focus_groups import MIN_ANSWERS, note_line


def channel_recommendations(
    persona_scores: pd.DataFrame,
    preferences: pd.DataFrame,
    comparison: pd.DataFrame,
    act: str = "act",
    min_n: int = MIN_ANSWERS,
) -> pd.DataFrame:
    """The pooled data's channel and each persona's channel side by side, combined by a stated rule.

    `persona_scores`: `focus_groups.scores_by(..., by=["persona_id", "subject"])` where subject is the
    channel ("email"/"sms"), `act` the NPS-scale likelihood to act and `n` the respondents. `preferences`:
    `choice_shares` by persona, columns = options (those naming a channel count for it). A persona
    `prefers` the channel its respondents picked most; on a tie or a "both"/"either" answer, the channel
    with the higher likelihood to act. Its preference counts only with at least `min_n` respondents.

    `data_favours` is the pooled audience's channel (`data_channel`: a significant winner, else None).
    The rule, spelled out in `basis`: both point the same way → that channel; only one has a signal →
    that one (a persona-only call is directional); they disagree → "test both" (the pooled data speaks
    for the average recipient, the persona for its segment, so an A/B test on that segment decides);
    neither → "either (no clear signal)". `agree` is None when either side has no signal.
    """
    favoured = data_channel(comparison)
    act_by = persona_scores.pivot_table(index="persona_id", columns="subject", values=act, aggfunc="first")
    counts = (
        persona_scores.groupby("persona_id")["n"].max() if "n" in persona_scores else pd.Series(dtype=float)
    )
    rows = []
    for persona_id in act_by.index.union(preferences.index):
        shares = {c: 0.0 for c in CHANNELS}
        if persona_id in preferences.index:
            for option, share in preferences.loc[persona_id].items():
                channel = option_channel(option)
                if channel:
                    shares[channel] += float(share)
        acts = {
            c: float(act_by.loc[persona_id, c]) if persona_id in act_by.index and c in act_by else np.nan
            for c in CHANNELS
        }
        if shares["email"] != shares["sms"]:
            prefers = max(CHANNELS, key=shares.get)
        elif not np.isnan(acts["email"]) and not np.isnan(acts["sms"]) and acts["email"] != acts["sms"]:
            prefers = max(CHANNELS, key=acts.get)
        else:
            prefers = None
        n = int(counts.get(persona_id, 0) or 0)
        persona = prefers if n >= min_n else None
        recommendation, basis = _combine(favoured, prefers, persona, n, min_n)
        rows.append(
            {
                "persona_id": persona_id,
                "n": n,
                "prefers": prefers,
                "email_share": shares["email"],
                "sms_share": shares["sms"],
                "act_nps_email": acts["email"],
                "act_nps_sms": acts["sms"],
                "data_favours": favoured,
                "recommendation": recommendation,
                "basis": basis,
                "agree": None if favoured is None or persona is None else favoured == persona,
            }
        )
    return pd.DataFrame(rows)


def _combine(
    data: str | None, prefers: str | None, persona: str | None, n: int, min_n: int
) -> tuple[str, str]:
    """(recommendation, basis) from the data's channel and the persona's (counted) channel."""
    if prefers and persona is None:
        quiet = f"the persona leans {channel_name(prefers)} on only {n} answers (fewer than {min_n})"
    else:
        quiet = "the persona shows no preference"
    if data and persona:
        if data == persona:
            return data, "pooled data and persona agree"
        return "test both", (
            f"pooled data favours {channel_name(data)}, the persona prefers {channel_name(persona)}: "
            "A/B test this segment"
        )
    if data:
        return data, f"pooled data only ({quiet})"
    if persona:
        return persona, "persona preference only (directional: the pooled data shows no significant winner)"
    return "either (no clear signal)", f"no significant winner in the data and {quiet}"


def option_channel(option: str) -> str | None:
    text = str(option).lower()
    has_email, has_sms = "email" in text or "e-mail" in text, "sms" in text or "text" in text
    if has_email != has_sms:
        return "email" if has_email else "sms"
    return None


def best_creative(
    table: pd.DataFrame, channel: str, metric: str = "conversion_rate", min_delivered: int = 500
) -> pd.Series:
    """The channel's campaign with the best `metric` among those delivered to at least `min_delivered`.

    Ties go to the larger audience. Raises ValueError (one sentence) when no campaign qualifies.
    """
    pool = table[(table["channel"] == channel) & (table["delivered"] >= min_delivered)]
    if pool.empty:
        raise ValueError(f"No {channel} campaign reached {min_delivered} deliveries; lower min_delivered.")
    return pool.sort_values([metric, "delivered"], ascending=[False, False]).iloc[0]


def creative_context(best_email: pd.Series, best_sms: pd.Series) -> str:
    """The focus-group stimulus: the best email's subject and preview and the best SMS's body, verbatim."""
    return (
        "Two real messages from our shop.\n"
        f"EMAIL (campaign '{best_email['name']}'): subject \"{text_of(best_email['subject'])}\"; "
        f'preview "{text_of(best_email["preview_text"])}".\n'
        f"SMS (campaign '{best_sms['name']}'): \"{text_of(best_sms['body'])}\""
    )


def recommendation_table(
    scores: pd.DataFrame,
    shares: pd.DataFrame,
    comparison: pd.DataFrame,
    names: dict[str, str],
    min_n: int = MIN_ANSWERS,
) -> pd.DataFrame:
    """`channel_recommendations` with each persona's name and mean `relevance_<channel>`/`intrusiveness_<channel>`.

    `scores` is `focus_groups.scores_by(..., by=["persona_id", "subject"])` (subject = channel) with `act`,
    `relevance` and `intrusiveness` measures; `shares` the `choice_shares` by persona.
    """
    recommendations = channel_recommendations(scores, shares, comparison, act="act", min_n=min_n)
    feel = scores.pivot_table(index="persona_id", columns="subject", values=["relevance", "intrusiveness"])
    feel.columns = [f"{m}_{c}" for m, c in feel.columns]
    recommendations = recommendations.merge(feel, left_on="persona_id", right_index=True, how="left")
    recommendations.insert(1, "persona", recommendations["persona_id"].map(names))
    return recommendations


def recommendation_lines(recommendations: pd.DataFrame, mavera_note: str | None = None) -> list[str]:
    """Markdown bullets on the per-persona recommendations and where personas and data disagree.

    `recommendations` is `recommendation_table(...)`; without rows the bullet is `mavera_note` (why the
    focus group has no answers), or nothing.
    """
    if not len(recommendations):
        return [note_line(mavera_note)] if mavera_note else []
    # `agree` is None where either side has no preference: that is not a disagreement.
    disagree = recommendations[recommendations["agree"].isin([False])]
    return [
        "- Recommendation per persona (persona answers are directional): "
        + "; ".join(
            f"{r.persona}: **{channel_name(r.recommendation)}** ({r.basis}, n = {r.n})"
            for r in recommendations.itertuples()
        )
        + ".",
        f"- Personas and data disagree for {len(disagree)} of {len(recommendations)} personas"
        + (": " + ", ".join(disagree["persona"]) + "." if len(disagree) else "."),
    ]
