"""Segments defined from profile attributes; membership is evaluated on the profile columns.

The list is designed for the overlap analysis: one redundant pair (two engagement thresholds 0.02 apart),
one nested segment (super fans inside the engaged segments), three tiny segments on rare attributes (two of
them used by a live campaign or flow, see ``messaging``), and
otherwise segments on independent attributes, none above ~50 % of profiles, so unplanned pairs stay far
from the redundancy and nesting thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ids import short_id
from .profiles import COUNTRIES, LOYALTY, SOURCES, Profiles

DAY = 86400


def _prop(name: str, filt: dict) -> dict:
    return {"type": "profile-property", "property": f"properties['{name}']", "filter": filt}


def _num(op: str, value: float) -> dict:
    return {"type": "numeric", "operator": op, "value": value}


def _in(values: list[str]) -> dict:
    return {"type": "string", "operator": "in", "value": values}


def _loc_country(values: list[str]) -> dict:
    return {"type": "profile-property", "property": "location['country']", "filter": _in(values)}


def _consent(channel: str) -> dict:
    status = {"subscription": "subscribed"}
    return {"type": "profile-marketing-consent",
            "consent": {"channel": channel, "can_receive_marketing": True, "consent_status": status}}


def _predictive(dimension: str, op: str, value: float) -> dict:
    return {"type": "profile-predictive-analytics", "dimension": dimension, "filter": _num(op, value)}


@dataclass
class Segment:
    id: str
    name: str
    conditions: list[dict]
    members: np.ndarray  # sorted int32 row indices
    created: int
    updated: int
    starred: bool

    @property
    def definition(self) -> dict:
        return {"condition_groups": [{"conditions": [c]} for c in self.conditions]}


def build_segments(seed: int, p: Profiles, t_end: int) -> list[Segment]:
    rng = np.random.default_rng([seed, 4])
    us = p.country == 0
    country = COUNTRIES[p.country]
    vip_cut = float(np.round(np.quantile(p.total_clv[p.has_pred], 0.9), 2)) if p.has_pred.any() else 0.0
    fav = p.categories
    specs: list[tuple[str, list[dict], np.ndarray, bool]] = [
        ("Engaged 60+", [_prop("engagement_score", _num("greater-than-or-equal", 0.60))], p.engagement >= 0.60, True),
        ("Highly engaged (legacy)", [_prop("engagement_score", _num("greater-than-or-equal", 0.62))],
         p.engagement >= 0.62, True),
        ("Super fans (US)", [_prop("engagement_score", _num("greater-than-or-equal", 0.90)),
                             _loc_country(["United States"])], (p.engagement >= 0.90) & us, True),
        ("SMS subscribers", [_consent("sms")], p.sms_consent, True),
        ("Email subscribers outside North America",
         [_consent("email"), _loc_country([c for c in COUNTRIES if c not in ("United States", "Canada")])],
         p.email_consent & (p.country > 1), True),
        ("US shoppers", [_loc_country(["United States"])], us, False),
        ("UK & Ireland", [_loc_country(["United Kingdom", "Ireland"])], np.isin(country, ["United Kingdom", "Ireland"]), False),
        ("Canada", [_loc_country(["Canada"])], p.country == 1, False),
        ("DACH & Benelux", [_loc_country(["Germany", "Netherlands"])], np.isin(country, ["Germany", "Netherlands"]), False),
        ("VIP (top 10% CLV)", [_predictive("total_clv", "greater-than-or-equal", vip_cut)],
         p.has_pred & (p.total_clv >= vip_cut), True),
        ("At-risk customers", [_predictive("churn_probability", "greater-than-or-equal", 0.75)],
         p.has_pred & (p.churn >= 0.75) & (p.hist_orders > 0), False),
        ("New subscribers (90 days)", [{"type": "profile-property", "property": "created",
                                        "filter": {"type": "date", "operator": "in-the-last", "unit": "day",
                                                   "quantity": 90}}],
         p.created >= t_end - 90 * DAY, False),
        ("Gold & Platinum members", [_prop("loyalty_tier", _in(["gold", "platinum"]))], p.loyalty >= 2, False),
        ("Bronze members", [_prop("loyalty_tier", _in(["bronze"]))], p.loyalty == 0, False),
        ("Quiz takers", [_prop("signup_source", _in(["quiz"]))], SOURCES[p.source] == "quiz", False),
        ("Popup signups", [_prop("signup_source", _in(["popup"]))], SOURCES[p.source] == "popup", False),
        (f"Loves {fav[2]}", [_prop("favorite_category", _in([fav[2]]))], p.favorite == 2, False),
        (f"Loves {fav[3]}", [_prop("favorite_category", _in([fav[3]]))], p.favorite == 3, False),
        (f"Loves {fav[4]}", [_prop("favorite_category", _in([fav[4]]))], p.favorite == 4, False),
        ("Low engagement", [_prop("engagement_score", _num("less-than", 0.25))], p.engagement < 0.25, False),
        ("Beta testers", [_prop("beta_tester", {"type": "boolean", "operator": "equals", "value": True})], p.beta, False),
        ("Iceland pilot", [_loc_country(["Iceland"])], country == "Iceland", False),
        # Appended last: the ids and dates of the segments above stay what they were for every seed.
        ("Wholesale enquiries", [_prop("wholesale_interest", {"type": "boolean", "operator": "equals", "value": True})],
         p.wholesale, False),
    ]
    # 15-25 segments: every seed keeps the planted ones and drops a few ordinary ones.
    optional = [k for k, s in enumerate(specs) if s[0] in ("Popup signups", "Quiz takers", f"Loves {fav[4]}",
                                                            "Low engagement", "DACH & Benelux")]
    drop = set(rng.choice(optional, int(rng.integers(0, 4)), replace=False).tolist())
    out = []
    for k, (name, conds, mask, starred) in enumerate(specs):
        if k in drop:
            continue
        created = int(t_end - int(rng.integers(60, 700)) * DAY)
        out.append(Segment(short_id(seed, "segment", k), name, conds, np.flatnonzero(mask).astype(np.int32),
                           created, int(created + int(rng.integers(1, 50)) * DAY), starred))
    return out


LOYALTY_NAMES = LOYALTY
