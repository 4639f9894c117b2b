"""What hangs off the shop's flows, campaigns, segments and catalog: tags, tag groups, email templates,
MMS images, catalog variants and each flow's trigger.

All of it is derived from names and indices (hashes, never the store's random streams), so adding it
changed none of the planted data. Small lists of plain objects: a few hundred at most, whatever the
number of profiles.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

from .ids import short_id

DAY = 86400

# Tag groups and the tags in them, as a shop's marketing team files its work.
TAG_GROUPS = [("Lifecycle", True, ["Onboarding", "Retention", "Winback", "Post-purchase"]),
              ("Promotion", False, ["Sale", "Holiday", "Product launch", "Newsletter"]),
              ("Audience", False, ["Engagement", "Geography", "Loyalty", "Consent", "Predictive"])]
FLOW_TAGS = {"Welcome Series": ["Onboarding"], "Abandoned Cart": ["Retention"], "Browse Abandonment": ["Retention"],
             "Post-Purchase Thank You": ["Post-purchase"], "Winback": ["Winback"], "Birthday": ["Retention"],
             "Back in Stock": ["Retention", "Product launch"], "Price Drop": ["Retention", "Sale"],
             "VIP Thank You": ["Post-purchase", "Loyalty"], "Replenishment Reminder": ["Post-purchase"]}
HOLIDAYS = ("Black Friday", "Cyber Monday", "Holiday", "Valentine", "Mother", "Father", "Fourth of July", "Halloween",
            "Thanksgiving", "Boxing Day", "Labor Day", "Memorial Day", "New Year", "Earth Day")
# (flow name -> metric name) for flows triggered by a metric; the others by list, date, price or inventory.
METRIC_TRIGGERS = {"Abandoned Cart": "Checkout Started", "Browse Abandonment": "Viewed Product",
                   "Post-Purchase Thank You": "Placed Order", "Winback": "Placed Order",
                   "VIP Thank You": "Placed Order", "Replenishment Reminder": "Ordered Product"}
SIZES = ["S", "M", "L"]
COLOURS = ["Charcoal", "Sand", "Forest"]


@dataclass
class TagGroup:
    id: str
    name: str
    exclusive: bool
    default: bool
    tags: list = field(default_factory=list)


@dataclass
class Tag:
    id: str
    name: str
    group: TagGroup
    flows: list = field(default_factory=list)
    campaigns: list = field(default_factory=list)
    segments: list = field(default_factory=list)


@dataclass
class Template:
    id: str
    name: str
    subject: str
    preview: str
    created: int
    updated: int


@dataclass
class Image:
    id: str
    name: str
    url: str
    size: int
    updated: int


@dataclass
class Variant:
    id: str
    item: int  # catalog row
    external_id: str
    label: str
    price: float
    inventory: int
    policy: int


def _hash(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


class Assets:
    def __init__(self, seed: int, t_end: int, messaging, segments: list, catalog, metric_by_name: dict[str, str]):
        self.seed = seed
        self._tags(seed, messaging, segments)
        self._templates(seed, messaging)
        self._images(seed, messaging, t_end)
        self._variants(catalog)
        # Flow id -> (trigger type, id of the list, segment or metric, or None). Segment-triggered flows
        # appear in their segment's flow-triggers; metric-triggered ones in their metric's.
        self.triggers: dict[str, tuple[str, str | None]] = {}
        for f in messaging.flows:
            if f.trigger is not None:  # its own trigger (the beta flow's segment, messaging._plant_segment_uses)
                self.triggers[f.id] = (f.trigger["type"], f.trigger["id"])
            elif f.name in METRIC_TRIGGERS and METRIC_TRIGGERS[f.name] in metric_by_name:
                self.triggers[f.id] = ("metric", metric_by_name[METRIC_TRIGGERS[f.name]])
            elif f.trigger_type == "Added to List":
                self.triggers[f.id] = ("list", short_id(seed, "list", 0))
            elif f.trigger_type == "Date Based":
                self.triggers[f.id] = ("date", None)
            elif f.trigger_type == "Price Drop":
                self.triggers[f.id] = ("price-drop", None)
            elif f.trigger_type == "Low Inventory":
                self.triggers[f.id] = ("low-inventory", None)

    # --- tags --------------------------------------------------------------------------------------
    def _tags(self, seed: int, messaging, segments: list) -> None:
        self.tag_groups: list[TagGroup] = []
        by_name: dict[str, Tag] = {}
        for g, (name, exclusive, tags) in enumerate(TAG_GROUPS):
            group = TagGroup(str(200_000 + seed % 1000 * 100 + g), name, exclusive, False)
            for t in tags:
                tag = Tag(str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox:{seed}:tag:{t}")), t, group)
                group.tags.append(tag)
                by_name[t] = tag
            self.tag_groups.append(group)
        for f in messaging.flows:
            for t in FLOW_TAGS.get(f.name, []):
                by_name[t].flows.append(f)
        for c in messaging.campaigns:
            name = c.name
            tag = ("Holiday" if any(h in name for h in HOLIDAYS) else "Sale" if "Sale" in name or "Deal" in name
                   else "Product launch" if any(w in name for w in ("Launch", "New Arrivals", "Sneak Peek", "Back in Stock"))
                   else "Newsletter")
            by_name[tag].campaigns.append(c)
        for s in segments:
            kinds = {c["type"] for c in s.conditions}
            props = " ".join(str(c.get("property", "")) for c in s.conditions)
            names = (["Consent"] if "profile-marketing-consent" in kinds else []) + \
                    (["Predictive"] if "profile-predictive-analytics" in kinds else []) + \
                    (["Geography"] if "location" in props else []) + \
                    (["Engagement"] if "engagement_score" in props else []) + \
                    (["Loyalty"] if "loyalty_tier" in props else [])
            for t in names:
                by_name[t].segments.append(s)
        self.tags = [t for g in self.tag_groups for t in g.tags]
        self.tag_by_id = {t.id: t for t in self.tags}
        self.tag_group_by_id = {g.id: g for g in self.tag_groups}
        self.tags_of: dict[str, list[Tag]] = {}
        for t in self.tags:
            for obj in (*t.flows, *t.campaigns, *t.segments):
                self.tags_of.setdefault(obj.id, []).append(t)

    # --- templates and images ----------------------------------------------------------------------
    def _templates(self, seed: int, messaging) -> None:
        """One template per email message (flow or campaign), as Klaviyo keeps one per message."""
        self.templates: list[Template] = []
        self.template_of: dict[str, Template] = {}
        emails = [(m.id, m.name, m.subject, m.preview, m.created, m.updated) for m in messaging.flow_messages
                  if m.channel == "email"]
        emails += [(c.message_id, c.name, c.subject, c.preview, c.created, c.updated) for c in messaging.campaigns
                   if c.channel == "email"]
        for k, (mid, name, subject, preview, created, updated) in enumerate(emails):
            t = Template(short_id(seed, "template", k), f"{name} - template", subject, preview, created, updated)
            self.templates.append(t)
            self.template_of[mid] = t
        self.template_by_id = {t.id: t for t in self.templates}

    def _images(self, seed: int, messaging, t_end: int) -> None:
        """Every third SMS campaign is an MMS with an image, the way shops send product shots."""
        self.image_of: dict[str, Image] = {}
        sms = [c for c in messaging.campaigns if c.channel == "sms"]
        for k, c in enumerate(sms):
            if k % 3:
                continue
            iid = str(90_000_000 + seed % 1000 * 1000 + k)
            self.image_of[c.message_id] = Image(iid, f"{c.name} (MMS).jpg",
                                                f"https://sandbox-goods.example/images/mms/{iid}.jpg",
                                                48_000 + _hash(seed, "image", k) % 200_000, c.created)
        self.image_by_id = {im.id: im for im in self.image_of.values()}

    # --- catalog variants --------------------------------------------------------------------------
    def _variants(self, catalog) -> None:
        """One to three variants per item (sizes for apparel and footwear, colours otherwise)."""
        self.variants: list[Variant] = []
        self.variants_of: list[list[Variant]] = []
        for k in range(catalog.n):
            sized = catalog.categories[catalog.primary[k]] in ("Apparel", "Footwear")
            labels = (SIZES if sized else COLOURS)[: 1 + k % 3]
            own = []
            for j, label in enumerate(labels):
                ext = f"{catalog.external_ids[k]}-{label[:3].upper()}"
                h = _hash(self.seed, "variant", k, j)
                own.append(Variant(f"$custom:::$default:::{ext}", k, ext, label,
                                   round(float(catalog.price[k]) + (2.0 if sized and label == "L" else 0.0), 2),
                                   int(h % 120), int(h >> 20) % 2))
            self.variants += own
            self.variants_of.append(own)
        self.variant_by_id = {v.id: v for v in self.variants}
