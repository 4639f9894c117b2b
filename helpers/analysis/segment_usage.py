"""Which campaigns and flows use each segment, so the plan never retires one in use (notebook 03).

Overlap numbers alone would retire "Beta testers" for being tiny even when a live flow is triggered by it
or a scheduled campaign excludes it: retiring it would silently change who that flow or campaign reaches.
Shapes follow revision 2026-07-15: a campaign's `attributes.audiences = {included: [ids], excluded: [ids]}`
(lists and segments share the id space there); a flow's `definition.triggers = [{type: "segment", id}]`,
and its `definition.profile_filter` may require membership (`profile-group-membership` with `group_ids`).
The functions take the client's frames or the raw JSON:API objects, whichever the caller has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = [
    "LIVE_CAMPAIGN_STATUSES",
    "LIVE_FLOW_STATUSES",
    "in_use_text",
    "protect_in_use",
    "segment_usage",
    "segment_uses",
]

# A campaign still to go out (or going out) reads its audience when it sends; a sent or cancelled one
# never will again, so retiring its segment changes nothing.
LIVE_CAMPAIGN_STATUSES = frozenset({
    "draft", "scheduled", "preparing to schedule", "preparing to send", "adding recipients", "sending",
    "sending segments", "queued without recipients",
})
# A manual flow still sends (each message waits for a click); a draft one sends nothing yet.
LIVE_FLOW_STATUSES = frozenset({"live", "manual"})
USE_COLUMNS = ["segment_id", "kind", "id", "name", "status", "how"]


def _records(items) -> list[dict]:
    """A frame, a list of dicts or a list of JSON:API objects → flat dicts (attributes lifted up)."""
    if items is None:
        return []
    rows = items.to_dict("records") if isinstance(items, pd.DataFrame) else list(items)
    out = []
    for row in rows:
        row = dict(row)
        attributes = row.pop("attributes", None)
        if isinstance(attributes, Mapping):
            row = {**attributes, **row}
        out.append(row)
    return out


def _ids(value) -> list[str]:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [str(value["id"])] if value.get("id") else []
    return [str(v["id"]) if isinstance(v, Mapping) else str(v) for v in value if v is not None]


def _campaign_uses(row: dict) -> list[tuple[str, str]]:
    audiences = row.get("audiences")
    if not isinstance(audiences, Mapping):  # the client's frame: audiences_included / audiences_excluded lists
        audiences = {side: row.get(f"audiences_{side}", row.get(side)) for side in ("included", "excluded")}
    return [(s, f"{side} audience") for side in ("included", "excluded") for s in _ids(audiences.get(side))]


def _flow_uses(row: dict) -> list[tuple[str, str]]:
    definition = row.get("definition") if isinstance(row.get("definition"), Mapping) else {}
    triggers = row.get("triggers", definition.get("triggers"))
    uses = [(t["id"], "trigger") for t in (triggers or []) if isinstance(t, Mapping)
            and str(t.get("type", "")).lower() == "segment" and t.get("id")]
    uses += [(s, "trigger") for s in _ids(row.get("trigger_segment_ids"))]
    if str(row.get("trigger_type") or "").lower() in {"segment", "added to segment"}:
        uses += [(s, "trigger") for s in _ids(row.get("trigger_id"))]
    groups = (definition.get("profile_filter") or {}).get("condition_groups") or []
    for group in groups:
        for condition in group.get("conditions") or []:
            if condition.get("type") == "profile-group-membership":
                verb = "profile filter (member)" if condition.get("is_member", True) else "profile filter (not member)"
                uses += [(s, verb) for s in _ids(condition.get("group_ids"))]
    return uses


def segment_uses(
    campaigns: pd.DataFrame | Iterable[Mapping] | None,
    flows: pd.DataFrame | Iterable[Mapping] | None,
    *,
    live_only: bool = True,
    campaign_statuses: Iterable[str] = LIVE_CAMPAIGN_STATUSES,
    flow_statuses: Iterable[str] = LIVE_FLOW_STATUSES,
) -> pd.DataFrame:
    """Every use of a segment id: one row per (segment, campaign or flow, how).

    Why: "in use by …" must name the campaign or flow and how it uses the segment. `campaigns` rows carry
    `campaign_id` (or `id`), `name`, `status` and `audiences` ({included, excluded}) or `audiences_included` /
    `audiences_excluded` (`kc.campaigns(...)`) or `included` / `excluded` columns; `flows` rows `flow_id` (or `id`), `name`, `status`, `archived` and any of
    `definition` (triggers + profile_filter), `triggers`, `trigger_segment_ids` (e.g. from
    /api/segments/{id}/flow-triggers) or `trigger_type` + `trigger_id`. With `live_only`, only campaigns
    whose status is in `campaign_statuses` and unarchived flows in `flow_statuses` count (case-insensitive).
    Columns `segment_id, kind ("campaign"|"flow"), id, name, status, how`; duplicates (one row per
    campaign message) collapse.
    """
    live_campaign = {s.lower() for s in campaign_statuses}
    live_flow = {s.lower() for s in flow_statuses}
    rows = []
    for row in _records(campaigns):
        status = str(row.get("status") or "")
        if live_only and status.lower() not in live_campaign:
            continue
        cid = str(row.get("campaign_id") or row.get("id"))
        rows += [(s, "campaign", cid, row.get("name"), status, how) for s, how in _campaign_uses(row)]
    for row in _records(flows):
        status = str(row.get("status") or "")
        if live_only and (status.lower() not in live_flow or bool(row.get("archived"))):
            continue
        fid = str(row.get("flow_id") or row.get("id"))
        rows += [(s, "flow", fid, row.get("name"), status, how) for s, how in _flow_uses(row)]
    frame = pd.DataFrame(rows, columns=USE_COLUMNS).drop_duplicates(ignore_index=True)
    return frame.sort_values(["segment_id", "kind", "id", "how"], ignore_index=True)


def segment_usage(
    campaigns: pd.DataFrame | Iterable[Mapping] | None,
    flows: pd.DataFrame | Iterable[Mapping] | None,
    **kwargs,
) -> dict[str, list[str]]:
    """`{segment id: [campaign or flow ids]}` for every segment a live campaign or flow uses.

    Why: the plan's guard and the recorded `kept_in_use` need the ids. Audiences count both included and
    excluded (excluding a segment is a use: retire it and the excluded people get the campaign), flows
    count triggers and profile filters. Ids sorted, each once; arguments as `segment_uses`.
    """
    uses = segment_uses(campaigns, flows, **kwargs)
    return {s: sorted(set(group["id"])) for s, group in uses.groupby("segment_id", sort=True)}


def _in_use_text(segment_id: str, uses: pd.DataFrame) -> str:
    mine = uses[uses["segment_id"] == segment_id].drop_duplicates(["kind", "id", "how"])
    parts = []
    for (kind, _id), group in mine.groupby(["kind", "id"], sort=True):
        name = group["name"].iloc[0]
        label = f"{kind} “{name}”" if isinstance(name, str) and name else f"{kind} {_id}"
        parts.append(f"{label} ({', '.join(group['how'])})")
    return "in use by " + "; ".join(parts)


def in_use_text(uses: pd.DataFrame) -> dict[str, str]:
    """`{segment id: "flow “Beta welcome” (trigger); campaign “Spring” (excluded audience)"}` for every segment
    in `uses` (`segment_uses(...)`): what the report and Mave's brief say uses each one."""
    if uses.empty:
        return {}
    return {s: _in_use_text(s, uses).removeprefix("in use by ") for s in dict.fromkeys(uses["segment_id"])}


def protect_in_use(plan: pd.DataFrame, uses: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """`(plan, kept_in_use)`: retirements of segments in use become "keep" with "in use by …".

    Why: a tiny segment a live flow is triggered by is not clutter; retiring it would stop that flow. `plan`
    is `segments.suggest_simplification(...)`, `uses` is `segment_uses(...)`. A "retire" row whose segment
    is in use becomes action "keep", its reason "in use by flow “Beta welcome” (trigger); …" followed by
    the reason it was flagged. Merges and folds of a segment in use stay (its people stay reachable
    through the segment kept), with "; in use by … — point those at <into> first" added to the reason.
    Adds an `in_use_by` column (ids, empty when unused). `kept_in_use` = {segment id: [campaign or flow
    ids]} for the retirements kept — the recorded metric; `plan[action == "retire"]` gives
    `retired_segments`.
    """
    usage = {s: sorted(set(g["id"])) for s, g in uses.groupby("segment_id")} if len(uses) else {}
    out = plan.copy()
    out["in_use_by"] = [list(usage.get(s, [])) for s in out["segment_id"]]
    kept: dict[str, list[str]] = {}
    for idx, row in out.iterrows():
        if row["segment_id"] not in usage:
            continue
        text = _in_use_text(row["segment_id"], uses)
        if row["action"] == "retire":
            out.at[idx, "action"] = "keep"
            out.at[idx, "reason"] = f"{text}; flagged because {row['reason']}"
            kept[row["segment_id"]] = usage[row["segment_id"]]
        else:
            target = row.get("into_name") or row.get("into")
            out.at[idx, "reason"] = f"{row['reason']}; {text} — point those at {target} first"
    return out, dict(sorted(kept.items()))
