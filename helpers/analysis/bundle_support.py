"""Persona support weighted by how many customers each persona stands for (notebooks 04 and 05).

"Both support" used to count personas: two of three tier personas backing a bundle read as a majority even
when the third, the Occasional tier, is 60 % of all customers and scores it 2.4 with NPS −70. Each CLV-tier
persona of job 01 stands for its tier, whose size job 01 records (`tier_counts`), so a subject's support
is also shown as the share of customers whose persona backs it, beside the persona count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from helpers.analysis.focus_groups import SupportRule, directional, verdict_labels

__all__ = ["one_verdict", "persona_customer_shares", "verdicts_by_customers", "weighted_lines", "weighted_support"]


def persona_customer_shares(personas: Mapping[str, str], tier_sizes: Mapping[str, int]) -> dict[str, float]:
    """`{persona id: share of all tiered customers}` from job 01's personas.json and tier counts.

    Why: the weight of a persona is the size of the tier it was written from. `personas` is {tier: persona
    id}, `tier_sizes` {tier: customers} (the recorded `tier_counts`, or `tiers.csv`'s `size`); shares are
    over all tiers in `tier_sizes`, so a tier without a persona still counts in the denominator. A persona
    whose tier has no size is left out. No customers at all → ValueError naming the fix.
    """
    sizes = {str(t): float(n) for t, n in tier_sizes.items() if n is not None and np.isfinite(float(n))}
    total = sum(v for v in sizes.values() if v > 0)
    if total <= 0:
        raise ValueError("No tier sizes to weight personas by: run job 01 first (it records tier_counts) or pass "
                         "tier_sizes as {tier: customers}.")
    return {str(pid): sizes[str(tier)] / total for tier, pid in personas.items() if pid and str(tier) in sizes}


def weighted_support(persona_scores: pd.DataFrame, shares: Mapping[str, float], **rule: Any) -> pd.DataFrame:
    """Per subject: personas backing it (unweighted) and the share of customers whose persona backs it.

    Why: see the module note. `persona_scores` is `focus_groups.scores_by(..., by=["persona_id",
    "subject"])`; a persona backs a subject by `focus_groups.SupportRule` (the rule of `verdict_table`; its
    fields as keywords, e.g. `min_n`). `shares` is `persona_customer_shares(...)`. Columns (one row per subject, first-seen
    order): `personas_supporting`, `personas`, `weighted_support` (share of all customers whose persona backs
    it), `customers_asked` (share of customers the answering personas stand for; personas without a share
    count in the unweighted columns only), `customer_support` (weighted_support is more than half of
    customers_asked: most of the customers represented are behind it). The recorded `weighted_support` is
    `dict(zip(subject, weighted_support))`.
    """
    columns = ["subject", "personas_supporting", "personas", "weighted_support", "customers_asked",
               "customer_support"]
    if persona_scores.empty:
        return pd.DataFrame(columns=columns)
    scores = persona_scores.assign(
        _supports=SupportRule(**rule).supports(persona_scores),
        _share=persona_scores["persona_id"].map(lambda p: shares.get(p, np.nan)).astype(float),
    )
    rows = []
    for subject, group in scores.groupby("subject", sort=False):
        weighted = float(group.loc[group["_supports"], "_share"].sum())
        asked = float(group["_share"].sum())
        rows.append({
            "subject": subject, "personas_supporting": int(group["_supports"].sum()),
            "personas": int(group["persona_id"].nunique()), "weighted_support": weighted,
            "customers_asked": asked, "customer_support": bool(asked > 0 and weighted * 2 > asked),
        })
    return pd.DataFrame(rows, columns=columns)


def verdicts_by_customers(verdicts: pd.DataFrame, weighted: pd.DataFrame) -> pd.DataFrame:
    """`verdict_table` / `bundle_verdicts` rows plus the customer-weighted columns and `customer_verdict`.

    Why: the verdict a reader acts on should weigh personas by customers. `customer_verdict` uses the same
    labels as `verdict` ("both support", "data only", "personas only", "neither") with the persona side
    decided by `customer_support` instead of a majority of personas; `verdict` itself is kept unchanged.
    """
    extra = weighted[["subject", "weighted_support", "customers_asked", "customer_support"]]
    out = verdicts.merge(extra, on="subject", how="left")
    out["weighted_support"] = out["weighted_support"].fillna(0.0)
    out["customers_asked"] = out["customers_asked"].fillna(0.0)
    out["customer_support"] = out["customer_support"].astype("boolean").fillna(False).astype(bool)
    out["customer_verdict"] = verdict_labels(out["data_support"], out["customer_support"])
    return out


def weighted_lines(verdicts: pd.DataFrame) -> list[str]:
    """Markdown bullets: per bundle, the persona count beside the share of customers those personas stand for.

    Why: "2 of 3 personas back it" reads as a majority even when the third persona is 60 % of customers.
    `verdicts` is `verdicts_by_customers(...)` (with the `bundle` label of `bundle_verdicts`); the bullets
    name the part of the label before its parenthesis. A bundle whose customer verdict differs from the
    persona-count verdict says so.
    """
    if not len(verdicts) or not {"customer_verdict", "persona_verdict"} & set(verdicts.columns):
        return []
    # After one_verdict the customer verdict is `verdict` and the persona count's is `persona_verdict`.
    by_customers, by_count = (("verdict", "persona_verdict") if "persona_verdict" in verdicts
                              else ("customer_verdict", "verdict"))
    lines = ["- Weighted by customers (each tier persona counts for its tier's share of customers):"]
    for row in verdicts.to_dict("records"):
        label = str(row.get("bundle", row["subject"])).split(" (", 1)[0]
        note = "" if row[by_customers] == row[by_count] else f"; by persona count it would read “{row[by_count]}”"
        lines.append(f"  - {label}: {row['personas_supporting']} of {row['personas']} personas back it, standing "
                     f"for {row['weighted_support']:.0%} of customers ({row['customers_asked']:.0%} asked) → "
                     f"**{row[by_customers]}**{note}.")
    return lines


_LABELS = {(True, True): "both support", (True, False): "data only", (False, True): "personas only",
           (False, False): "neither"}


def _persona_side(row, weighted: bool) -> str:
    if weighted:
        return (f"personas standing for {row.weighted_support:.0%} of the {row.customers_asked:.0%} of customers "
                f"asked {'back' if row.customer_support else 'do not back'} it")
    return f"{row.personas_supporting} of {row.personas} personas back it"


def one_verdict(verdicts: pd.DataFrame, min_lift: float) -> pd.DataFrame:
    """One verdict per bundle that combines the data and the personas, and ``why`` in one sentence.

    Why: the report showed a persona-count verdict beside a customer-weighted one ("both support" next to
    "data only"), leaving the reader to pick. The persona side is decided by customers when job 01's tiers
    weigh the personas (``verdicts_by_customers``: ``customer_support``), else by a majority of personas
    (``persona_support``); ``verdict`` is then one of "both support", "data only", "personas only",
    "neither", ``agree`` whether the two sides agree, and ``why`` gives the lift against ``min_lift``, the
    persona side and its n per persona (directional). The persona-count verdict stays as ``persona_verdict``
    when it was replaced; ``customer_verdict`` goes (it is ``verdict`` now).
    """
    if not len(verdicts):
        return verdicts.assign(why=pd.Series(dtype=str))
    weighted = "customer_support" in verdicts
    out = verdicts.copy()
    personas = out["customer_support"] if weighted else out["persona_support"]
    if weighted:
        out["persona_verdict"] = out["verdict"]
    out["verdict"] = [_LABELS[(bool(d), bool(p))] for d, p in zip(out["data_support"], personas, strict=True)]
    out["agree"] = out["data_support"].astype(bool) == personas.astype(bool)
    out["why"] = [
        f"Bought together {row.lift:.1f}× as often as chance ({'at least' if row.data_support else 'below'} "
        f"{min_lift:g}×, so the data {'backs' if row.data_support else 'does not back'} it) and "
        f"{_persona_side(row, weighted)} ({directional(int(row.min_answers), 'persona')}): {row.verdict}."
        for row in out.itertuples(index=False)
    ]
    return out.drop(columns=["customer_verdict"], errors="ignore")
