"""Segment overlap (notebook 03): sparse membership matrix, pairwise overlap, redundant/nested/tiny segments.

Membership is a profiles x segments boolean CSR matrix M, so every pairwise intersection is one sparse
product M.T @ M: 200 segments over 1M profiles is a few seconds and a 200 x 200 result, never 40,000 set
intersections in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

__all__ = [
    "Membership",
    "classify_pairs",
    "cluster_order",
    "coverage",
    "describe_definition",
    "jaccard_matrix",
    "mave_brief",
    "membership",
    "overlap_pairs",
    "segment_table",
    "suggest_simplification",
    "summary_lines",
    "tiny_segments",
]


@dataclass(frozen=True)
class Membership:
    """Boolean profiles x segments matrix with its labels."""

    matrix: sparse.csr_matrix  # shape (n_profiles, n_segments), int32 0/1
    segment_ids: list[str]
    profile_ids: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.asarray(self.matrix.sum(axis=0)).ravel()

    def intersections(self) -> np.ndarray:
        """Dense segments x segments matrix of |A ∩ B| (diagonal = sizes)."""
        return (self.matrix.T @ self.matrix).toarray()


def membership(members: Mapping[str, Sequence]) -> Membership:
    """Build the membership matrix from `{segment_id: profile ids}` (duplicates within a segment ignored)."""
    segment_ids = list(members)
    arrays = [np.asarray(members[s]) for s in segment_ids]
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    if lengths.sum() == 0:
        return Membership(sparse.csr_matrix((0, len(segment_ids)), dtype=np.int32), segment_ids, np.array([]))
    codes, profile_ids = pd.factorize(np.concatenate(arrays), sort=True)
    cols = np.repeat(np.arange(len(segment_ids)), lengths)
    matrix = sparse.csr_matrix(
        (np.ones(len(codes), dtype=np.int32), (codes, cols)), shape=(len(profile_ids), len(segment_ids))
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1  # a profile listed twice in one segment is still one member
    return Membership(matrix, segment_ids, np.asarray(profile_ids))


def overlap_pairs(m: Membership) -> pd.DataFrame:
    """One row per unordered pair (a < b): sizes, intersection, union, Jaccard, containment both ways.

    `contain_a_in_b` = |A ∩ B| / |A| (share of A inside B); NaN where the segment is empty.
    """
    inter = m.intersections()
    sizes = np.diag(inter).astype(float)
    ids = np.asarray(m.segment_ids, dtype=object)
    order = np.argsort(ids.astype(str), kind="stable")
    i, j = np.triu_indices(len(ids), k=1)
    i, j = order[i], order[j]  # positions in sorted order, so ids[i] < ids[j]
    n_ab = inter[i, j].astype(float)
    union = sizes[i] + sizes[j] - n_ab
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame({
            "a": ids[i], "b": ids[j], "size_a": sizes[i].astype(int), "size_b": sizes[j].astype(int),
            "intersection": n_ab.astype(int), "union": union.astype(int),
            "jaccard": np.where(union > 0, n_ab / union, np.nan),
            "contain_a_in_b": np.where(sizes[i] > 0, n_ab / sizes[i], np.nan),
            "contain_b_in_a": np.where(sizes[j] > 0, n_ab / sizes[j], np.nan),
        })
    return frame.sort_values(["a", "b"], ignore_index=True)


def classify_pairs(
    pairs: pd.DataFrame, jaccard_min: float = 0.9, containment_min: float = 0.95
) -> tuple[list[list[str]], list[list[str]]]:
    """`(redundant, nested)` from `overlap_pairs`.

    Redundant: Jaccard >= jaccard_min, as `[a, b]` with a < b. Nested: `[inner, outer]` where at least
    `containment_min` of inner's members are in outer and the pair is not already redundant. Both sorted.
    """
    redundant_mask = pairs["jaccard"] >= jaccard_min
    redundant = sorted([a, b] for a, b in pairs.loc[redundant_mask, ["a", "b"]].itertuples(index=False))
    rest = pairs[~redundant_mask]
    nested = [[a, b] for a, b in rest.loc[rest["contain_a_in_b"] >= containment_min, ["a", "b"]].itertuples(index=False)]
    nested += [[b, a] for a, b in rest.loc[rest["contain_b_in_a"] >= containment_min, ["a", "b"]].itertuples(index=False)]
    return redundant, sorted(nested)


def tiny_segments(sizes: Mapping[str, int], profiles_total: int, tiny_share: float = 0.01) -> list[str]:
    """Segments with fewer members than `tiny_share` of all profiles in the account, sorted ids."""
    if profiles_total <= 0:
        raise ValueError("profiles_total must be positive to judge tiny segments.")
    return sorted(s for s, n in sizes.items() if n < tiny_share * profiles_total)


def coverage(m: Membership, profiles_total: int, many_min: int = 3) -> dict:
    """How profiles spread over segments: in none, in exactly one, in `many_min` or more, and the histogram."""
    per_profile = np.asarray(m.matrix.sum(axis=1)).ravel()
    in_any = int((per_profile > 0).sum())
    hist = np.bincount(per_profile, minlength=1) if len(per_profile) else np.zeros(1, dtype=int)
    hist[0] = max(profiles_total - in_any, 0)
    return {
        "profiles_total": int(profiles_total),
        "in_no_segment": int(max(profiles_total - in_any, 0)),
        "in_one_segment": int((per_profile == 1).sum()),
        "in_many_segments": int((per_profile >= many_min).sum()),
        "many_min": many_min,
        "histogram": {int(k): int(v) for k, v in enumerate(hist)},
    }


def segment_table(m: Membership, names: Mapping[str, str] | None = None, profiles_total: int | None = None) -> pd.DataFrame:
    """Per segment: name, size, share of all profiles, unique members (in no other analysed segment)."""
    per_profile = np.asarray(m.matrix.sum(axis=1)).ravel()
    unique = np.asarray(m.matrix[per_profile == 1].sum(axis=0)).ravel()
    sizes = m.sizes
    frame = pd.DataFrame({
        "segment_id": m.segment_ids,
        "name": [(names or {}).get(s, s) for s in m.segment_ids],
        "size": sizes.astype(int),
        "unique": unique.astype(int),
    })
    frame["unique_share"] = np.where(sizes > 0, unique / np.where(sizes > 0, sizes, 1), np.nan)
    if profiles_total:
        frame["share_of_profiles"] = sizes / profiles_total
    return frame


def cluster_order(m: Membership) -> list[str]:
    """Segment ids ordered by average-linkage clustering on 1 - Jaccard, so overlapping segments sit together."""
    n = len(m.segment_ids)
    if n < 3:
        return list(m.segment_ids)
    inter = m.intersections().astype(float)
    sizes = np.diag(inter)
    union = sizes[:, None] + sizes[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = 1 - np.where(union > 0, inter / union, 0.0)
    np.fill_diagonal(dist, 0.0)
    leaves = hierarchy.leaves_list(hierarchy.linkage(squareform(dist, checks=False), method="average"))
    return [m.segment_ids[k] for k in leaves]


def jaccard_matrix(m: Membership, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Segments x segments Jaccard similarity, rows and columns in `order` (default: as in `m`).

    An empty segment has similarity 0 with everything, itself included.
    """
    order = list(m.segment_ids) if order is None else list(order)
    pos = {s: k for k, s in enumerate(m.segment_ids)}
    idx = [pos[s] for s in order]
    inter = m.intersections().astype(float)
    sizes = np.diag(inter)
    union = sizes[:, None] + sizes[None, :] - inter
    jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)[np.ix_(idx, idx)]
    return pd.DataFrame(jac, index=order, columns=order)


def suggest_simplification(
    table: pd.DataFrame, redundant: list[list[str]], nested: list[list[str]], tiny: list[str]
) -> pd.DataFrame:
    """A deterministic plan from the numbers: merge redundant pairs, fold nested ones, retire tiny ones.

    For a redundant pair the larger segment is kept (ties: the smaller id). Each segment gets at most one
    suggestion, in priority merge > retire > fold, so the plan never contradicts itself. Columns `action,
    segment_id, name, into, reason, into_name` (empty for a retirement), `size`.
    """
    size = dict(zip(table["segment_id"], table["size"], strict=True))
    name = dict(zip(table["segment_id"], table["name"], strict=True))
    rows, done = [], set()
    for a, b in redundant:
        keep, drop = sorted((a, b), key=lambda s: (-size.get(s, 0), s))
        if drop in done:
            continue
        rows.append(("merge", drop, keep, f"near-identical membership to {name.get(keep, keep)}; keep the larger"))
        done.add(drop)
    for s in tiny:
        if s not in done:
            rows.append(("retire", s, None, f"{size.get(s, 0)} members, too few to target on its own"))
            done.add(s)
    for inner, outer in nested:
        if inner not in done:
            rows.append(("fold", inner, outer, f"almost entirely inside {name.get(outer, outer)}; use it as a filter there"))
            done.add(inner)
    plan = pd.DataFrame(rows, columns=["action", "segment_id", "into", "reason"])
    plan.insert(2, "name", plan["segment_id"].map(name))
    plan["into_name"] = plan["into"].map(name).fillna("")  # a retired segment goes into nothing: blank, not NaN
    plan["size"] = plan["segment_id"].map(size).astype("Int64")
    return plan


def mave_brief(
    table: pd.DataFrame,
    pairs: pd.DataFrame,
    redundant: list[list[str]],
    nested: list[list[str]],
    tiny: list[str],
    cov: dict,
    definitions: Mapping[str, str] | None = None,
    max_segments: int = 40,
    in_use: Mapping[str, str] | None = None,
) -> str:
    """A compact, numbers-first brief for the Mave agent asking for a simpler segmentation.

    Lists the largest `max_segments` segments (name, size, unique share, plain-language definition when
    given) and every flagged pair with its overlap numbers. `in_use` ({segment id: "flow “Beta welcome”
    (trigger)"}) adds which segments live campaigns or flows depend on, so the agent can keep them.
    Aggregates only: no profile data.
    """
    name = dict(zip(table["segment_id"], table["name"], strict=True))
    lines = [
        f"We run {len(table)} Klaviyo segments over {cov['profiles_total']:,} profiles "
        f"({cov['in_no_segment']:,} in no segment, {cov['in_many_segments']:,} in {cov['many_min']}+ segments).",
        "Segments (name: size, share of profiles only in this segment[, definition]):",
    ]
    for row in table.sort_values("size", ascending=False).head(max_segments).itertuples():
        extra = f"; {definitions[row.segment_id]}" if definitions and definitions.get(row.segment_id) else ""
        lines.append(f"- {row.name}: {row.size:,}, {row.unique_share:.0%} unique{extra}")
    keyed = pairs.set_index(["a", "b"])
    if redundant:
        lines.append("Near-duplicate pairs (Jaccard):")
        for a, b in redundant:
            lines.append(f"- {name[a]} ~ {name[b]}: {keyed.loc[(a, b), 'jaccard']:.2f}")
    if nested:
        lines.append("Nested pairs (share of inner inside outer):")
        for inner, outer in nested:
            a, b = sorted((inner, outer))
            share = keyed.loc[(a, b), "contain_a_in_b" if inner == a else "contain_b_in_a"]
            lines.append(f"- {name[inner]} inside {name[outer]}: {share:.0%}")
    if tiny:
        lines.append("Tiny segments: " + ", ".join(f"{name[s]} ({int(table.set_index('segment_id').at[s, 'size'])})" for s in tiny))
    if in_use:
        lines.append("Used by live campaigns or flows (changing them changes whom those reach): "
                     + "; ".join(f"{name.get(s, s)}: {how}" for s, how in in_use.items()) + ".")
    lines.append(
        "Propose a simpler segmentation for an e-commerce email/SMS programme: which segments to merge, "
        "retire or redefine, and what the resulting set should be, with a one-line reason for each change."
    )
    return "\n".join(lines)


def summary_lines(
    table: pd.DataFrame, pairs: pd.DataFrame, plan: pd.DataFrame, redundant: list[list[str]],
    nested: list[list[str]], tiny: list[str], cov: Mapping, profiles_total: int,
) -> list[str]:
    """The notebook's closing bullets (markdown): counts found, what the plan does, coverage, the most similar pair.

    Inputs are the outputs of `segment_table`, `overlap_pairs`, `suggest_simplification`, `classify_pairs`,
    `tiny_segments` and `coverage`; one segment per row of `table`.
    """
    n = len(table)
    name = dict(zip(table["segment_id"], table["name"], strict=True))
    counts = plan["action"].value_counts()
    lines = [
        f"- {n} segments over {profiles_total:,} profiles: redundant pairs {len(redundant)}, "
        f"nested pairs {len(nested)}, tiny segments {len(tiny)}.",
        f"- The plan merges {counts.get('merge', 0)}, retires {counts.get('retire', 0)} and folds {counts.get('fold', 0)} "
        f"segments, leaving {n - len(plan)} of {n}.",
        f"- {cov['in_no_segment']:,} profiles are in no analysed segment and {cov['in_many_segments']:,} in "
        f"{cov['many_min']}+.",
    ]
    if len(pairs):
        top = pairs.sort_values("jaccard", ascending=False).iloc[0]
        lines.append(f"- Most similar pair: {name[top['a']]} and {name[top['b']]} (Jaccard {top['jaccard']:.2f}).")
    return lines


def _condition_text(c: Mapping) -> str:
    kind = c.get("type", "")
    f = c.get("filter") or {}
    op, value = str(f.get("operator", "")).replace("-", " "), f.get("value")
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    if kind == "profile-marketing-consent":
        return f"subscribed to {(c.get('consent') or {}).get('channel', '?')} marketing"
    if kind == "profile-predictive-analytics":
        return f"{c.get('dimension', '?')} {op} {value}"
    if kind == "profile-property":
        prop = str(c.get("property", "?")).replace("properties['", "").replace("location['", "").rstrip("']")
        if f.get("type") == "date":
            return f"{prop} {op} {f.get('quantity', '')} {f.get('unit', '')}s".strip()
        return f"{prop} {op} {value}"
    return kind.replace("-", " ") or "custom condition"


def describe_definition(definition: Mapping | None, max_chars: int = 160) -> str:
    """A short plain-language reading of a Klaviyo segment definition (groups are AND-ed, conditions OR-ed)."""
    groups = (definition or {}).get("condition_groups") or []
    parts = []
    for g in groups:
        conds = [_condition_text(c) for c in g.get("conditions") or []]
        parts.append(" or ".join(conds) if len(conds) < 2 else "(" + " or ".join(conds) + ")")
    text = " and ".join(p for p in parts if p)
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"
