"""The seeded shop behind the Klaviyo emulator: profiles, catalog, orders, segments, flows, campaigns.

Everything derives from the seed and from ``t_end``, the start of the current UTC day, so the data looks
recent whenever the sandbox starts and two stores with the same seed on the same day are identical.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .assets import Assets
from .commerce import Catalog, Orders
from .engagement import Engagement
from .events import Event, Source, find_event
from .ids import decode_profile_index, short_id
from .messaging import Messaging
from .orders import order_sources
from .profiles import Profiles
from .segments import build_segments

DAY = 86400
SHOPIFY = {"object": "integration", "id": "0eMvjm", "key": "shopify", "name": "Shopify", "category": "eCommerce"}
API = {"object": "integration", "id": "7FtS4J", "key": "api", "name": "API", "category": "API"}
KLAVIYO = {"object": "integration", "id": "0rG4eQ", "key": "klaviyo", "name": "Klaviyo", "category": "Internal"}


@dataclass
class Metric:
    id: str
    name: str
    integration: dict
    created: int
    updated: int
    event_kind: str | None  # the letter of its event source (events.py), None: no events served


def day_start(t: float | None = None) -> int:
    t = time.time() if t is None else t
    return int(t // DAY * DAY)


class Store:
    def __init__(self, seed: int = 7, profiles: int = 5000, t_end: int | None = None, predictions: bool = True):
        if profiles < 100:
            raise ValueError(f"profiles must be at least 100 (got {profiles}); the shop needs a customer base")
        self.seed = seed
        self.t_end = day_start() if t_end is None else t_end
        self.catalog = Catalog(seed, self.t_end)
        self.profiles = Profiles(seed, profiles, self.t_end, self.catalog.categories)
        self.orders = Orders(seed, self.catalog, self.profiles.created, self.t_end)
        self.profiles.set_orders(self.orders.per_profile, self.orders.last_order, self.t_end)
        # An account without predictive analytics (not eligible, or a plan without them): every profile's
        # predictive_analytics is null, as Klaviyo serves it then; segments on predictive fields are empty.
        self.predictions = predictions
        if not predictions:
            self.profiles.has_pred[:] = False
        self.segments = build_segments(seed, self.profiles, self.t_end)
        self.segment_by_id = {s.id: s for s in self.segments}
        p = self.profiles
        sizes = {s.id: (int(p.email_consent[s.members].sum()), int(p.sms_consent[s.members].sum()))
                 for s in self.segments}
        by_name = {s.name: s.id for s in self.segments}
        sms_ids = [by_name["SMS subscribers"], by_name["SMS subscribers"], by_name["US shoppers"]]
        email_ids = [by_name[n] for n in ("Engaged 60+", "Email subscribers outside North America", "US shoppers",
                                          "VIP (top 10% CLV)", "Gold & Platinum members", "Bronze members")]
        self.messaging = Messaging(seed, self.t_end, self.segments, sms_ids, email_ids, sizes)
        self.metrics = self._metrics(seed)
        self.metric_by_id = {m.id: m for m in self.metrics}
        self.placed_order = next(m for m in self.metrics if m.event_kind == "P")
        self.ordered_product = next(m for m in self.metrics if m.event_kind == "L")
        served = {m.name: m.id for m in self.metrics if m.event_kind}
        self.assets = Assets(seed, self.t_end, self.messaging, self.segments, self.catalog, served)
        self.engagement = Engagement(seed, self.t_end, self.profiles, self.messaging, self.segment_by_id)
        sources: list[Source] = order_sources(self, served) + self.engagement.sources(served)
        self.sources = {s.letter: s for s in sources}
        self.source_of_metric = {s.metric_id: s for s in sources}
        # Profiles without predictions: null predictive_analytics, or (seeds 2, 5, 8, 11, ... : seed % 3 == 2)
        # an object whose every field is null. Klaviyo's spec allows both; the client must read them alike.
        self.unscored_as_object = seed % 3 == 2

    def _metrics(self, seed: int) -> list[Metric]:
        t = self.t_end
        spec = [("Placed Order", SHOPIFY, 900, 1, "P"), ("Ordered Product", SHOPIFY, 900, 1, "L"),
                ("Placed Order", API, 1300, 1000, None),  # stale duplicate from an old custom integration
                ("Fulfilled Order", SHOPIFY, 900, 2, "F"), ("Checkout Started", SHOPIFY, 900, 1, "X"),
                ("Received Email", KLAVIYO, 1100, 1, "R"), ("Opened Email", KLAVIYO, 1100, 1, "O"),
                ("Clicked Email", KLAVIYO, 1100, 1, "C"), ("Unsubscribed from Email Marketing", KLAVIYO, 1100, 3, "U"),
                ("Received SMS", KLAVIYO, 800, 1, "S"), ("Clicked SMS", KLAVIYO, 800, 1, "K"),
                # Added later, so the ids above (by position) stay as they were.
                ("Unsubscribed from SMS Marketing", KLAVIYO, 800, 3, "V"), ("Viewed Product", SHOPIFY, 900, 1, "W")]
        return [Metric(short_id(seed, "metric", k), name, integ, t - created * DAY, t - updated * DAY, kind)
                for k, (name, integ, created, updated, kind) in enumerate(spec)]

    def event(self, event_id: str) -> Event | None:
        return find_event(self.seed, self.sources, event_id)

    def profile_index(self, profile_id: str) -> int | None:
        i = decode_profile_index(profile_id)
        if i is None or i >= self.profiles.n or self.profiles.ids[i].decode() != profile_id:
            return None
        return i
