"""Flows, flow messages and campaigns, with per-message daily performance counts.

Counts are stored per message per day (index 0 = yesterday, 364 = a year ago) so any reporting
timeframe sums consistently. Daily counts are expected values rounded through a running total, not
binomial draws: a message's rate is the same over every window to within a count or two, which keeps the
planted under-performers and the normal messages on their side of the thresholds for any 30-365 day window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from .ids import short_id, ulid_like

DAY = 86400
DAYS = 365
STATS = ["recipients", "delivered", "bounced", "failed", "opens", "opens_unique", "clicks", "clicks_unique",
         "conversions", "conversion_uniques", "conversion_value", "unsubscribes", "spam_complaints",
         "message_segment_count_sum"]
S = {name: k for k, name in enumerate(STATS)}
# Channel baselines: unique open, unique click and conversion rates per delivered message, order value.
FLOW_BASE = {"email": {"open": 0.45, "click": 0.035, "conversion": 0.02, "aov": 85.0},
             "sms": {"open": 0.0, "click": 0.08, "conversion": 0.03, "aov": 70.0}}

FLOW_TEMPLATES = [
    ("Welcome Series", "Added to List", 220, ["Welcome to the family", "Our story", "Your first-order perk",
                                              "Customer favourites", "Last chance: 10% off", "Meet the makers"]),
    ("Abandoned Cart", "Metric", 160, ["You left something behind", "Still thinking it over?",
                                       "Your cart expires soon", "A little nudge"]),
    ("Browse Abandonment", "Metric", 140, ["Saw something you liked?", "Back in your feed", "Picked for you"]),
    ("Post-Purchase Thank You", "Metric", 130, ["Thanks for your order", "How to get the most from it",
                                                "Leave a review", "Complete the look"]),
    ("Winback", "Metric", 90, ["We miss you", "Here's what's new", "A gift to come back", "Final call"]),
    ("Birthday", "Date Based", 70, ["Happy birthday!", "Your birthday treat", "Treat still waiting"]),
    ("Back in Stock", "Low Inventory", 80, ["It's back!", "Going fast", "Last few left"]),
    ("Price Drop", "Price Drop", 75, ["Price drop on your pick", "Now even lower", "Ends tonight"]),
    ("VIP Thank You", "Metric", 65, ["You're a VIP", "Early access inside", "Your VIP gift", "VIP preview"]),
    ("Replenishment Reminder", "Metric", 85, ["Running low?", "Time to restock", "Subscribe and save"]),
]
# Flows differ by nature (issue #20): a cart reminder reaches buyers mid-purchase, a winback people who
# stopped buying. Multipliers of the channel baseline's (open, click, conversion, order value) per flow kind,
# so a message is only "weak" against its own flow, never because its flow converts less.
FLOW_KIND_FACTORS = {
    "Welcome Series": (1.15, 1.1, 1.0, 0.9), "Abandoned Cart": (1.1, 1.6, 2.2, 1.15),
    "Browse Abandonment": (1.0, 1.2, 0.8, 1.0), "Post-Purchase Thank You": (1.05, 0.7, 0.45, 0.8),
    "Winback": (0.6, 0.45, 0.3, 1.05), "Birthday": (1.0, 1.0, 0.7, 0.95), "Back in Stock": (1.25, 1.8, 1.9, 1.1),
    "Price Drop": (1.1, 1.5, 1.4, 0.95), "VIP Thank You": (1.2, 1.1, 0.9, 1.3),
    "Replenishment Reminder": (0.95, 1.0, 1.2, 0.85),
}
# Spread of a campaign's rates around its channel's (log-sd): creative, offer and audience differ.
CAMPAIGN_SPREAD = 0.25
# The declined message's rate per day (index 0 = yesterday) as a share of its flow's: 1.25 until 90 days ago,
# 0.85 since — a 32 % drop against its own past, while over any 30-90 day report it stays above 0.75 of its
# flow-mates (inside the funnel limits; 1.15 over a year).
RECENT_DAYS = 90
DECLINE = np.where(np.arange(DAYS) < RECENT_DAYS, 0.85, 1.25)
SMS_BODIES = ["{brand}: {subject}. Tap to shop: https://sbx.example/s/{code} Reply STOP to opt out.",
              "{brand}: {subject}! Use code SAVE10 at checkout https://sbx.example/s/{code} STOP to end"]


@dataclass
class FlowMessage:
    id: str
    action_id: str
    flow_index: int
    name: str
    channel: str
    subject: str
    preview: str
    body: str
    created: int
    updated: int
    row: int  # index into Messaging.flow_daily


@dataclass
class FlowAction:
    id: str
    flow_index: int
    kind: str  # "send-email" | "send-sms" | "time-delay"
    delay_hours: int
    created: int
    updated: int
    message: FlowMessage | None = None


@dataclass
class Flow:
    id: str
    name: str
    trigger_type: str
    status: str
    created: int
    updated: int
    actions: list[FlowAction] = field(default_factory=list)
    # definition.triggers[0] when it names a segment ({"type": "segment", "id": ...}); None: derived from
    # trigger_type when rendered (list, metric, date, price drop, low inventory).
    trigger: dict | None = None
    profile_filter: dict | None = None  # definition.profile_filter, e.g. segment membership


@dataclass
class Campaign:
    id: str
    message_id: str
    name: str
    channel: str
    audience: str  # segment id (audiences.included)
    send_time: int
    created: int
    updated: int
    subject: str
    preview: str
    body: str
    row: int  # index into Messaging.campaign_daily; -1 for campaigns that never sent
    status: str = "Sent"
    excluded: tuple[str, ...] = ()  # audiences.excluded
    offer: str = ""  # the name without its channel suffix: same offer = same campaign on both channels


def _decline(rates: dict, metric: str | None) -> None:
    """The declined message's rate on ``metric`` becomes a rate per day (``DECLINE``); others stay as they are."""
    if metric:
        key = metric.removesuffix("_rate")
        rates[key] = rates[key] * DECLINE


def _daily_counts(expected: np.ndarray) -> np.ndarray:
    """Round a series of expected counts through its running total: any window is within 1 of exact."""
    total = np.round(np.cumsum(expected))
    return np.diff(np.concatenate([[0.0], total]))


GOLDEN = (5 ** 0.5 - 1) / 2
FLOW_ORDER_SIGMA = 0.45  # spread of a flow order's value around the message's AOV (lognormal, cv ~0.46)
CAMPAIGN_ORDER_SIGMA = 0.6


def flow_order_values(u0: float, aov: float) -> Callable[[int], np.ndarray]:
    """Order values of a flow message's conversions, oldest first: lognormal around ``aov``, drawn on a
    golden-ratio sequence (low discrepancy), so any run of consecutive orders averages close to ``aov`` and
    every 30-365 day window keeps the message's planted revenue per recipient (i.i.d. draws would not)."""
    def draw(n: int) -> np.ndarray:
        u = np.clip(np.mod(u0 + GOLDEN * np.arange(n), 1.0), 0.005, 0.995)
        return np.round(aov * np.exp(FLOW_ORDER_SIGMA * norm.ppf(u) - FLOW_ORDER_SIGMA ** 2 / 2), 2)
    return draw


def campaign_order_values(rng: np.random.Generator, aov: float) -> Callable[[int], np.ndarray]:
    """Order values of a campaign's conversions: i.i.d. lognormal with mean ``aov``."""
    return lambda n: np.round(aov * rng.lognormal(-CAMPAIGN_ORDER_SIGMA ** 2 / 2, CAMPAIGN_ORDER_SIGMA, n), 2)


def _values_by_day(conv: np.ndarray, draw: Callable[[int], np.ndarray]) -> np.ndarray:
    """Summed order value per day (index 0 = yesterday) for these daily conversions, one draw per order in
    time order."""
    chron = conv[::-1].astype(np.int64)
    values = draw(int(chron.sum()))
    cum = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.cumsum(chron)
    return np.round(cum[ends] - cum[ends - chron], 2)[::-1]


def _fill(counts: np.ndarray, recipients: np.ndarray, channel: str, rates: dict,
          values: Callable[[int], np.ndarray]) -> None:
    """Write every statistic for one message (counts: days x stats) from recipients, rates and its order values."""
    counts[:, S["recipients"]] = recipients
    delivered = _daily_counts(recipients * (0.985 if channel == "email" else 0.99))
    counts[:, S["delivered"]] = delivered
    counts[:, S["bounced"]] = recipients - delivered if channel == "email" else 0
    counts[:, S["failed"]] = recipients - delivered if channel == "sms" else 0
    opens_u = _daily_counts(delivered * rates["open"])
    counts[:, S["opens_unique"]] = opens_u
    counts[:, S["opens"]] = _daily_counts(opens_u * 1.55)
    clicks_u = _daily_counts(delivered * rates["click"])
    counts[:, S["clicks_unique"]] = clicks_u
    counts[:, S["clicks"]] = _daily_counts(clicks_u * 1.3)
    conv = _daily_counts(delivered * rates["conversion"])
    counts[:, S["conversions"]] = conv
    counts[:, S["conversion_uniques"]] = conv
    counts[:, S["conversion_value"]] = _values_by_day(conv, values)
    counts[:, S["unsubscribes"]] = _daily_counts(delivered * (0.003 if channel == "email" else 0.006))
    counts[:, S["spam_complaints"]] = _daily_counts(delivered * 0.0002) if channel == "email" else 0
    counts[:, S["message_segment_count_sum"]] = recipients * (1.4 if channel == "sms" else 0)


class Messaging:
    def __init__(self, seed: int, t_end: int, segments: list, sms_segment_ids: list[str],
                 email_segment_ids: list[str], segment_sizes: dict[str, tuple[int, int]]):
        rng = np.random.default_rng([seed, 5])
        self.t_end = t_end
        self._build_flows(seed, rng, t_end)
        self._build_campaigns(seed, rng, t_end, sms_segment_ids, email_segment_ids, segment_sizes)
        self._plant_segment_uses(seed, t_end, {s.name: s.id for s in segments})

    @property
    def all_campaigns(self) -> list[Campaign]:
        """Every campaign the API lists: the sent ones (in the reports) and those that never sent."""
        return self.campaigns + self.unsent

    # --- flows -----------------------------------------------------------------------------------
    def _build_flows(self, seed: int, rng: np.random.Generator, t_end: int) -> None:
        n_flows = int(rng.integers(6, 11))
        chosen = sorted(rng.choice(len(FLOW_TEMPLATES), n_flows, replace=False).tolist())
        self.flows: list[Flow] = []
        self.flow_messages: list[FlowMessage] = []
        action_counter = 0
        for fi, t in enumerate(chosen):
            name, trigger, volume, subjects = FLOW_TEMPLATES[t]
            created = t_end - int(rng.integers(380, 900)) * DAY
            flow = Flow(short_id(seed, "flow", fi), name, trigger, "live", created,
                        created + int(rng.integers(10, 300)) * DAY)
            n_msgs = int(rng.integers(3, min(6, len(subjects)) + 1))
            for pos in range(n_msgs):
                if pos:
                    action_counter += 1
                    flow.actions.append(FlowAction(str(70_000_000 + seed % 1000 * 10_000 + action_counter), fi,
                                                   "time-delay", int(rng.choice([4, 24, 48, 72])), created, created))
                channel = "sms" if (pos > 0 and rng.random() < 0.3) else "email"
                action_counter += 1
                action_id = str(70_000_000 + seed % 1000 * 10_000 + action_counter)
                subject = subjects[pos]
                code = short_id(seed, "link", len(self.flow_messages), 5)
                msg = FlowMessage(
                    short_id(seed, "flow-message", len(self.flow_messages)), action_id, fi,
                    f"{name} #{pos + 1} ({channel.upper()})", channel, subject,
                    f"{subject} - inside: picks we think you'll love" if channel == "email" else "",
                    SMS_BODIES[pos % 2].format(brand="Sandbox Goods", subject=subject, code=code)
                    if channel == "sms" else "",
                    created, flow.updated, len(self.flow_messages))
                flow.actions.append(FlowAction(action_id, fi, f"send-{channel}", 0, created, flow.updated, msg))
                self.flow_messages.append(msg)
                # Later steps reach fewer people; every ordinary message stays well above 500 a month.
                msg_volume = max(volume * 0.82 ** pos * (0.6 if channel == "sms" else 1.0), 60.0)
                msg.volume = msg_volume  # type: ignore[attr-defined]
            self.flows.append(flow)

        self.flow_daily = np.zeros((len(self.flow_messages), DAYS, len(STATS)))
        under, decoys = self._pick_planted(rng)
        self.planted_under: dict[str, str] = {}
        self.planted_decoys: list[str] = sorted(decoys)
        self.planted_declined: dict[str, str] = self._pick_declined(seed, under, decoys)
        day_wave = 1 + 0.18 * np.sin(np.arange(DAYS) * 2 * np.pi / 7 + rng.random() * 6)
        for m in self.flow_messages:
            base = dict(FLOW_BASE[m.channel])
            kind = FLOW_KIND_FACTORS.get(self.flows[m.flow_index].name, (1.0, 1.0, 1.0, 1.0))
            for key, factor in zip(("open", "click", "conversion", "aov"), kind, strict=True):
                base[key] *= factor
            for key in ("open", "click", "conversion", "aov"):
                # Half the drawn spread on aov: per-order values add their own (flow_order_values).
                base[key] *= 1 + rng.uniform(-0.04, 0.04) * (0.5 if key == "aov" else 1.0)
            volume = m.volume  # type: ignore[attr-defined]
            if m.id in under:
                metrics = ["open", "click", "conversion", "revenue"] if m.channel == "email" else ["click", "conversion", "revenue"]
                metric = str(rng.choice(metrics))
                self.planted_under[m.id] = {"revenue": "revenue_per_recipient", "open": "open_rate",
                                            "click": "click_rate", "conversion": "conversion_rate"}[metric]
                base["aov" if metric == "revenue" else metric] *= 0.5
            if m.id in decoys:
                volume = 0.9  # about 330 recipients a year: never 500 in any window
                for key in ("open", "click", "conversion"):
                    base[key] *= 0.45
            recipients = _daily_counts(volume * day_wave * rng.uniform(0.9, 1.1, DAYS))
            _decline(base, self.planted_declined.get(m.id))
            u0 = int.from_bytes(short_id(seed, "order-values", m.row, 8).encode(), "big") % 10_007 / 10_007
            _fill(self.flow_daily[m.row], recipients, m.channel, base, flow_order_values(u0, base["aov"]))
        self.flow_message_by_id = {m.id: m for m in self.flow_messages}
        self.flow_by_id = {f.id: f for f in self.flows}
        self.action_by_id = {a.id: a for f in self.flows for a in f.actions}

    def _pick_planted(self, rng: np.random.Generator) -> tuple[list[str], list[str]]:
        """(under-performers, decoys). Planted: 3 email and 1 SMS under-performers (one metric at about half
        their own flow's), and two low-volume decoys that look even worse. A message is weak only against
        messages of its own flow, so both are picked among messages with two flow-mates on their channel."""
        email = [m for m in self.flow_messages if m.channel == "email"]
        sms = [m for m in self.flow_messages if m.channel == "sms"]

        def mates(m: FlowMessage) -> int:
            return sum(o.flow_index == m.flow_index and o.channel == m.channel and o.id != m.id
                       for o in self.flow_messages)
        email_ids = [m.id for m in email if mates(m) >= 2] or [m.id for m in email]
        sms_ids = [m.id for m in sms if mates(m) >= 1]
        n_sms_under = 1 if len(sms_ids) >= 3 else 0
        under = list(rng.choice(email_ids, 3, replace=False)) + list(rng.choice(sms_ids, n_sms_under, replace=False))
        rest_email = [i for i in email_ids if i not in under]
        rest_sms = [i for i in sms_ids if i not in under]
        decoys = [str(rng.choice(rest_email))]
        if len(rest_sms) >= 2:
            decoys.append(str(rng.choice(rest_sms)))
        else:
            decoys.append(str(rng.choice([i for i in rest_email if i not in decoys])))
        return under, decoys

    def _pick_declined(self, seed: int, under: list[str], decoys: list[str]) -> dict[str, str]:
        """{message id: metric} of the one email message that declined against its own earlier period (issue
        #20): it used to beat its flow-mates on that metric and over the last 90 days sits a little below them,
        inside its flow's funnel limits, so only the flow-series history shows the drop. Picked from its own
        generator, in a flow with no other planted message, so every other planted fact stays as it was."""
        rng = np.random.default_rng([seed, 16])
        planted = set(under) | set(decoys)
        by_id = {m.id: m for m in self.flow_messages}
        busy = {by_id[i].flow_index for i in planted}
        candidates = [m.id for m in self.flow_messages if m.channel == "email" and m.id not in planted
                      and m.flow_index not in busy and m.volume >= 100  # type: ignore[attr-defined]
                      and sum(o.flow_index == m.flow_index and o.channel == "email" and o.id != m.id
                              for o in self.flow_messages) >= 2]
        if not candidates:
            return {}
        return {str(rng.choice(candidates)): str(rng.choice(["open_rate", "click_rate", "conversion_rate"]))}

    # --- campaigns -------------------------------------------------------------------------------
    def _build_campaigns(self, seed, rng, t_end, sms_segment_ids, email_segment_ids, segment_sizes) -> None:
        # Seed picks the winner per metric; SMS usually wins clicks, as in real programmes.
        self.winner = {
            "click_rate": "sms" if rng.random() < 0.85 else "email",
            "conversion_rate": str(rng.choice(["email", "sms"])),
            "revenue_per_recipient": str(rng.choice(["email", "sms"])),
        }
        click = {"email": 0.024, "sms": 0.024}
        click[self.winner["click_rate"]] = 0.024 / 0.6 if self.winner["click_rate"] == "sms" else 0.032
        if self.winner["click_rate"] == "email":
            click["sms"] = 0.032 * 0.65
        # Planted gaps are wide enough that the truth's campaign-level, Holm-adjusted tests stay below 0.05
        # despite the campaign-to-campaign spread (CAMPAIGN_SPREAD).
        conv = {"email": 0.0042, "sms": 0.0042}
        conv[self.winner["conversion_rate"]] = 0.0066
        rpr = {"email": 0.40, "sms": 0.40}
        rpr[self.winner["revenue_per_recipient"]] = 0.70
        self.campaign_rates = {
            ch: {"open": 0.38 if ch == "email" else 0.0, "click": click[ch], "conversion": conv[ch],
                 "aov": rpr[ch] / conv[ch]} for ch in ("email", "sms")}
        names = ["Spring Sale", "New Arrivals", "Weekend Flash Sale", "Free Shipping Weekend", "Black Friday Early Access",
                 "Cyber Monday", "Holiday Gift Guide", "Last Shipping Day", "New Year Reset", "Valentine's Picks",
                 "Summer Kickoff", "Back to School", "Members Week", "Outdoor Essentials", "Kitchen Refresh",
                 "Beauty Restock", "Fitness Challenge", "Pet Lovers Day", "Bestsellers Roundup", "End of Season Sale",
                 "Earth Day Edit", "Mother's Day Gifts", "Father's Day Gifts", "Anniversary Sale", "Staff Picks",
                 "Rainy Day Edit", "Cozy Season", "Gift Cards", "Loyalty Double Points", "Product Launch: Trail Line",
                 "Customer Stories", "Behind the Seams", "How-To: Care Guide", "Flash Sale 24h", "Sneak Peek",
                 "Labor Day Sale", "Memorial Day Deals", "Fourth of July", "Halloween Treats", "Thanksgiving Thanks",
                 "Winter Warmers", "Boxing Day", "Clearance Finds", "Back in Stock Heroes"]
        n_email = int(rng.integers(38, 43))
        n_sms = int(rng.integers(18, 23))
        email_names = list(rng.choice(names, n_email, replace=False))
        shared = list(rng.choice(email_names, 8, replace=False))  # same campaign sent on both channels
        sms_only = [n for n in names if n not in email_names]
        sms_names = shared + list(rng.choice(sms_only, min(n_sms - len(shared), len(sms_only)), replace=False))
        if len(sms_names) < n_sms:
            sms_names += [f"{n} (SMS)" for n in email_names[: n_sms - len(sms_names)] if n not in shared]
        self.campaigns: list[Campaign] = []
        values_rng = np.random.default_rng([seed, 8])  # its own stream: the campaigns' draws stay as they were
        days_email = np.sort(rng.choice(np.arange(2, 362), len(email_names), replace=False))[::-1]
        email_day = dict(zip(email_names, days_email, strict=True))
        offsets = _pair_offsets(seed, [str(n) for n in shared])
        email_send: dict[str, int] = {}
        self.campaign_daily = np.zeros((len(email_names) + len(sms_names), DAYS, len(STATS)))
        for channel, cnames in (("email", email_names), ("sms", sms_names)):
            for name in cnames:
                k = len(self.campaigns)
                day = int(email_day[name]) if (channel == "sms" and name in email_day) else int(rng.integers(2, 362))
                send = t_end - day * DAY + int(rng.integers(14, 20)) * 3600 - DAY
                if channel == "email":
                    email_send[str(name)] = send
                elif str(name) in offsets:  # the same offer on SMS: its send time relative to the email's
                    send = _shifted(email_send[str(name)], offsets[str(name)], t_end)
                audience = str(rng.choice(sms_segment_ids if channel == "sms" else email_segment_ids))
                members_email, members_sms = segment_sizes[audience]
                size = members_sms if channel == "sms" else members_email
                subject = f"{name}: {'up to 30% off' if 'Sale' in name else 'just for you'}"
                c = Campaign(ulid_like(seed, "campaign", k, (send - 7 * DAY) * 1000),
                             ulid_like(seed, "campaign-message", k, (send - 7 * DAY) * 1000), name, channel,
                             audience, send, send - 7 * DAY, send + 3600, subject,
                             f"{name} starts now" if channel == "email" else "",
                             SMS_BODIES[k % 2].format(brand="Sandbox Goods", subject=subject, code=short_id(seed, "c", k, 5))
                             if channel == "sms" else "", k, offer=str(name).removesuffix(" (SMS)"))
                rates = dict(self.campaign_rates[channel])
                for key in ("open", "click", "conversion"):
                    rates[key] *= rng.lognormal(-CAMPAIGN_SPREAD**2 / 2, CAMPAIGN_SPREAD)
                recipients = np.zeros(DAYS)
                recipients[(t_end - send) // DAY] = size
                _fill(self.campaign_daily[k], recipients, channel, rates, campaign_order_values(values_rng, rates["aov"]))
                self.campaigns.append(c)
        self.campaign_by_id = {c.id: c for c in self.campaigns}
        self.campaign_by_message = {c.message_id: c for c in self.campaigns}

    # --- planted segment uses (notebook 03) -------------------------------------------------------
    def _plant_segment_uses(self, seed: int, t_end: int, segment_ids: dict[str, str]) -> None:
        """Tiny segments a live flow or a campaign still to send depends on, and one only a cancelled campaign
        named: retiring "Beta testers" would stop a live flow, retiring "Iceland pilot" would send the scheduled
        push to the people it excludes; "Wholesale enquiries" can go (a cancelled campaign never sends).

        Built from their own generator after everything else, so the flows, messages and campaigns above stay
        what they were for the seed. The beta flow's messages sent nothing in the last year (the beta group
        closed long ago): they are listed, never reported.
        """
        rng = np.random.default_rng([seed, 14])
        beta, iceland, wholesale = (segment_ids[n] for n in ("Beta testers", "Iceland pilot", "Wholesale enquiries"))
        created = t_end - int(rng.integers(500, 700)) * DAY
        flow = Flow(short_id(seed, "flow", len(self.flows)), "Beta Program Welcome", "Added to List", "live", created,
                    created + int(rng.integers(10, 60)) * DAY, trigger={"type": "segment", "id": beta})
        fi = len(self.flows)
        counter = 9000 + len(self.action_by_id)
        for pos, subject in enumerate(["Welcome to the beta", "How is the beta going?", "Thanks for testing"]):
            if pos:
                counter += 1
                flow.actions.append(FlowAction(str(70_000_000 + seed % 1000 * 10_000 + counter), fi, "time-delay",
                                               168, created, created))
            counter += 1
            action_id = str(70_000_000 + seed % 1000 * 10_000 + counter)
            msg = FlowMessage(short_id(seed, "flow-message", len(self.flow_messages)), action_id, fi,
                              f"Beta Program Welcome #{pos + 1} (EMAIL)", "email", subject,
                              f"{subject} - a note from the product team", "", created, flow.updated,
                              len(self.flow_messages))
            flow.actions.append(FlowAction(action_id, fi, "send-email", 0, created, flow.updated, msg))
            self.flow_messages.append(msg)
        self.flows.append(flow)
        self.flow_daily = np.concatenate([self.flow_daily, np.zeros((3, DAYS, len(STATS)))])
        vip = segment_ids.get("VIP (top 10% CLV)")
        for f in self.flows:  # a live flow that only VIPs enter: a use of a segment nobody would retire
            if f.name == "VIP Thank You" and vip:
                f.profile_filter = {"condition_groups": [{"conditions": [
                    {"type": "profile-group-membership", "is_member": True, "group_ids": [vip]}]}]}
        self.flow_message_by_id = {m.id: m for m in self.flow_messages}
        self.flow_by_id = {f.id: f for f in self.flows}
        self.action_by_id = {a.id: a for f in self.flows for a in f.actions}

        # Push campaigns: the API lists them, the email/SMS reports never hold them (they did not send).
        k0 = len(self.campaigns)
        plans = [("Nordic launch preview (app)", "Scheduled", t_end + 3 * DAY + 15 * 3600,
                  segment_ids["Email subscribers outside North America"], (iceland,)),
                 ("Wholesale catalogue (app)", "Cancelled", t_end - 20 * DAY + 10 * 3600, wholesale, ())]
        self.unsent: list[Campaign] = []
        for j, (name, status, send, included, excluded) in enumerate(plans):
            k = k0 + j
            made = send - int(rng.integers(5, 15)) * DAY
            self.unsent.append(Campaign(
                ulid_like(seed, "campaign", k, made * 1000), ulid_like(seed, "campaign-message", k, made * 1000), name,
                "mobile_push", included, send, made, made + 3600, name.removesuffix(" (app)"),
                "", f"Sandbox Goods: {name.removesuffix(' (app)')} - tap to see it first", -1, status=status,
                excluded=excluded, offer=name))
        self.campaign_by_id.update({c.id: c for c in self.unsent})
        self.campaign_by_message.update({c.message_id: c for c in self.unsent})


# Send-time gaps (days, SMS minus email) of the offers sent on both channels: within a week they are one
# campaign on two channels (notebook 05 pairs them), beyond it they are two moments, even under one name.
_WITHIN = (0.0, 0.25, -1.0, 2.5, -4.0, 6.5)
_OUTSIDE = (-9.0,)


def _pair_offsets(seed: int, shared: list[str]) -> dict[str, float]:
    """Each shared offer's SMS send-time offset: six within a week, one just outside, the rest far apart."""
    rng = np.random.default_rng([seed, 15])
    gaps = list(_WITHIN + _OUTSIDE)
    gaps += [float(rng.choice([-1, 1]) * rng.integers(45, 200)) for _ in range(max(0, len(shared) - len(gaps)))]
    order = rng.permutation(len(shared))
    return {shared[i]: gaps[k] for k, i in enumerate(order)}


def _shifted(send: int, days: float, t_end: int) -> int:
    """``send`` moved by ``days`` (whole hours), mirrored when that would leave the year of reports."""
    delta = int(round(days * 24)) * 3600
    low, high = t_end - 362 * DAY, t_end - 2 * DAY
    moved = send + delta
    if not low <= moved <= high:
        moved = send - delta
    return min(max(moved, low), high)  # only a far gap can need this, and it stays far
