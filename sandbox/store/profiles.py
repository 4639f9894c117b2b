"""Profiles as numpy columns: identity, location, consent, custom properties and predictive analytics.

Nothing here holds one Python object per profile; pages are rendered from the columns on request, so a
million profiles cost a few tens of megabytes.
"""

from __future__ import annotations

import numpy as np

from .ids import profile_ids

DAY = 86400

FIRST_NAMES = np.array(
    "Ava Liam Mia Noah Emma Oliver Sophia Elijah Isabella Lucas Amelia Mason Harper Ethan Evelyn Logan "
    "Abigail James Emily Aiden Ella Jacob Chloe Leo Grace Henry Zoe Owen Nora Caleb Lily Ryan Hannah Nathan "
    "Aria Dylan Layla Isaac Riley Gabriel".split()
)
LAST_NAMES = np.array(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson Anderson "
    "Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Robinson Walker Young Allen King "
    "Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Carter".split()
)
# (country, weight, [(region, city, timezone)]). Iceland is rare on purpose: a tiny segment uses it.
LOCATIONS = [
    ("United States", 0.45, [("California", "Los Angeles", "America/Los_Angeles"),
                             ("New York", "New York", "America/New_York"),
                             ("Texas", "Austin", "America/Chicago"),
                             ("Illinois", "Chicago", "America/Chicago"),
                             ("Washington", "Seattle", "America/Los_Angeles"),
                             ("Florida", "Miami", "America/New_York")]),
    ("Canada", 0.10, [("Ontario", "Toronto", "America/Toronto"),
                      ("British Columbia", "Vancouver", "America/Vancouver")]),
    ("United Kingdom", 0.15, [("England", "London", "Europe/London"),
                              ("England", "Manchester", "Europe/London"),
                              ("Scotland", "Edinburgh", "Europe/London")]),
    ("Ireland", 0.025, [("Leinster", "Dublin", "Europe/Dublin")]),
    ("Australia", 0.08, [("New South Wales", "Sydney", "Australia/Sydney"),
                         ("Victoria", "Melbourne", "Australia/Melbourne")]),
    ("Germany", 0.08, [("Berlin", "Berlin", "Europe/Berlin"), ("Bavaria", "Munich", "Europe/Berlin")]),
    ("France", 0.07, [("Ile-de-France", "Paris", "Europe/Paris")]),
    ("Netherlands", 0.04, [("North Holland", "Amsterdam", "Europe/Amsterdam")]),
    ("Iceland", 0.005, [("Capital Region", "Reykjavik", "Atlantic/Reykjavik")]),
]
COUNTRIES = np.array([c for c, _, _ in LOCATIONS])
PLACES = [p for _, _, places in LOCATIONS for p in places]
LOYALTY = np.array(["bronze", "silver", "gold", "platinum"])
SOURCES = np.array(["checkout", "popup", "quiz", "footer", "instagram"])
CHANNEL_ORDERS = [["email", "sms", "push"], ["sms", "email", "push"], ["email", "push", "sms"]]
# Why a profile cannot receive email marketing: (consent, global suppression reason, share). Every profile
# that can is SUBSCRIBED (the segments' consent conditions say "subscribed"); Klaviyo grants implicit consent
# to a NEVER_SUBSCRIBED profile without a suppression, so the never-subscribed ones here are suppressed.
EMAIL_SUPPRESSED = [("UNSUBSCRIBED", "UNSUBSCRIBE", 0.60), ("NEVER_SUBSCRIBED", "HARD_BOUNCE", 0.15),
                    ("NEVER_SUBSCRIBED", "USER_SUPPRESSED", 0.10), ("NEVER_SUBSCRIBED", "INVALID_EMAIL", 0.05),
                    ("UNSUBSCRIBED", "SPAM_COMPLAINT", 0.05), ("SUBSCRIBED", "HARD_BOUNCE", 0.05)]
SMS_UNSUBSCRIBED_SHARE = 0.22  # of those who cannot receive SMS; the rest never subscribed


class Profiles:
    """Column store of n profiles; row i was created at ``created[i]`` (non-decreasing in i)."""

    def __init__(self, seed: int, n: int, t_end: int, categories: list[str]):
        rng = np.random.default_rng([seed, 1])
        self.n = n
        self.seed = seed
        span = 3 * 365 * DAY
        t0 = t_end - span
        # Even spacing plus jitter inside each slot keeps created monotone in the row index.
        self.created = (t0 + span * (np.arange(n) + rng.random(n)) / n).astype(np.int64)
        self.updated = np.minimum(
            self.created + (rng.exponential(120, n) * DAY).astype(np.int64), t_end - 60
        )
        self.ids = profile_ids(seed, self.created * 1000)
        self.first = rng.integers(0, len(FIRST_NAMES), n, dtype=np.int16)
        self.last = rng.integers(0, len(LAST_NAMES), n, dtype=np.int16)

        weights = np.array([w for _, w, _ in LOCATIONS])
        self.country = rng.choice(len(LOCATIONS), n, p=weights / weights.sum()).astype(np.int8)
        place_start = np.cumsum([0] + [len(p) for _, _, p in LOCATIONS])[:-1]
        place_count = np.array([len(p) for _, _, p in LOCATIONS])
        self.place = (place_start[self.country] + rng.integers(0, 1 << 30, n) % place_count[self.country]).astype(
            np.int16
        )

        self.email_consent = rng.random(n) < 0.68
        us = self.country == 0
        self.sms_consent = rng.random(n) < np.where(us, 0.46, 0.30)
        self.engagement = np.round(rng.random(n), 3)
        self.loyalty = rng.choice(4, n, p=[0.5, 0.3, 0.15, 0.05]).astype(np.int8)
        self.source = rng.choice(len(SOURCES), n, p=[0.35, 0.25, 0.1, 0.2, 0.1]).astype(np.int8)
        self.favorite = rng.integers(0, len(categories), n, dtype=np.int8)
        self.categories = categories
        self.beta = rng.random(n) < 0.006
        self.has_pred = rng.random(n) >= 0.10
        self.channel_order = np.where(
            self.sms_consent & (rng.random(n) < 0.55), 1, np.where(rng.random(n) < 0.8, 0, 2)
        ).astype(np.int8)
        self.aov = np.round(rng.lognormal(np.log(70), 0.45, n), 2)
        self._rng = rng
        # A third rare attribute for a tiny segment no live campaign or flow uses (notebook 03 retires it). Its
        # own generator, so every column above stays what it was for the seed.
        self.wholesale = np.random.default_rng([seed, 12]).random(n) < 0.006
        # Consent states behind the two booleans, from their own stream so every column above is unchanged:
        # email_state 0 = subscribed, k > 0 = EMAIL_SUPPRESSED[k - 1]; sms_state 0 subscribed, 1 never, 2 unsubscribed.
        crng = np.random.default_rng([seed, 9])
        shares = np.array([w for _, _, w in EMAIL_SUPPRESSED])
        self.email_state = np.where(self.email_consent, 0,
                                    1 + crng.choice(len(shares), n, p=shares / shares.sum())).astype(np.int8)
        self.sms_state = np.where(self.sms_consent, 0,
                                  np.where(crng.random(n) < SMS_UNSUBSCRIBED_SHARE, 2, 1)).astype(np.int8)

    def set_orders(self, orders_365: np.ndarray, last_order: np.ndarray, t_end: int) -> None:
        """Predictive analytics derived from each profile's orders, so CLV and churn track behaviour."""
        rng = self._rng
        n = self.n
        older = rng.poisson(np.where(orders_365 > 0, 1.5, 0.15))
        self.hist_orders = (orders_365 + older).astype(np.int32)
        days_since = np.where(last_order > 0, (t_end - last_order) / DAY, 400.0)
        # Churn rises with recency: roughly 0.15 just after an order, 0.85 after a year without one.
        self.churn = np.round(np.clip(1 / (1 + np.exp(-(days_since - 150) / 55)) + rng.normal(0, 0.04, n), 0.01, 0.99), 3)
        self.hist_clv = np.round(self.hist_orders * self.aov * rng.lognormal(0, 0.15, n), 2)
        self.pred_orders = np.round(np.maximum(orders_365 * (1 - self.churn) * rng.lognormal(0, 0.3, n), 0), 2)
        self.pred_clv = np.round(self.pred_orders * self.aov, 2)
        self.total_clv = np.round(self.hist_clv + self.pred_clv, 2)
        self.days_between = np.where(self.hist_orders >= 2, np.round(365 * 1.4 / np.maximum(self.hist_orders, 1), 1), np.nan)
        self.last_order = last_order
        nxt = np.where(np.isnan(self.days_between), 0, last_order + np.nan_to_num(self.days_between) * DAY)
        self.next_order = np.where((last_order > 0) & ~np.isnan(self.days_between), nxt, 0).astype(np.int64)
        self.last_event = np.maximum(last_order, self.updated - DAY)

    # --- derived per-row values, computed for a page at a time -------------------------------------
    def email(self, i: int) -> str:
        return f"{FIRST_NAMES[self.first[i]].lower()}.{LAST_NAMES[self.last[i]].lower()}{i}@example.com"

    def phone(self, i: int) -> str:
        return f"+1555{i:07d}" if i < 10_000_000 else f"+1556{i - 10_000_000:07d}"

    @staticmethod
    def index_from_email(value: str) -> int | None:
        local, _, domain = value.partition("@")
        digits = local[len(local.rstrip("0123456789")):]
        return int(digits) if domain == "example.com" and digits else None

    @staticmethod
    def index_from_phone(value: str) -> int | None:
        if len(value) == 12 and value.startswith(("+1555", "+1556")) and value[5:].isdigit():
            return int(value[5:]) + (10_000_000 if value[4] == "6" else 0)
        return None

    def id_of(self, i: int) -> str:
        return self.ids[i].decode()
