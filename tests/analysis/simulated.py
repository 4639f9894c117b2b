"""Simulated accounts for the statistical tests of notebooks 02 and 05 (issue #20).

Real accounts are less kind than the planted shop: campaigns differ from each other (creative, offer,
audience) and flows differ by nature (a winback converts far below an abandoned cart). These generators make
such accounts, with or without a planted effect, in the shapes `channels.compare_channels` and
`flows.evaluate_messages` take. They import only numpy and pandas, so the same file measures the code of any
checkout:

    .venv/bin/python tests/analysis/simulated.py                      # this worktree's helpers
    PYTHONPATH=/work/main .venv/bin/python tests/analysis/simulated.py  # the code on main ("before")
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

# Audience sizes (delivered) and baseline rates of a mid-size shop; campaign spread on the log scale.
EMAIL_AUDIENCE = (20_000, 0.8)  # median, log-sd
SMS_AUDIENCE = (6_000, 0.8)
BASE = {"click_rate": 0.025, "conversion_rate": 0.004, "unsubscribe_rate": 0.003}
AOV = 80.0


def _campaign_rows(rng, channel, n, audience, rates, spread, order_cv, aov):
    median, log_sd = audience
    delivered = np.maximum(np.round(median * rng.lognormal(0, log_sd, n)), 200).astype(int)
    rows = []
    for k in range(n):
        row = {"campaign_id": f"{channel}-{k}", "channel": channel, "name": f"{channel} campaign {k}",
               "recipients": int(delivered[k] / 0.985), "delivered": int(delivered[k])}
        for metric, base in rates.items():
            p = min(base * rng.lognormal(-spread**2 / 2, spread), 0.5)
            row[metric] = rng.binomial(delivered[k], p) / delivered[k]
        conversions = int(round(row["conversion_rate"] * delivered[k]))
        campaign_aov = aov * rng.lognormal(-spread**2 / 8, spread / 2)
        sigma = np.sqrt(np.log1p(order_cv**2))
        values = campaign_aov * rng.lognormal(-sigma**2 / 2, sigma, conversions)
        row["conversions"] = conversions
        row["revenue"] = float(values.sum())
        row["revenue_per_recipient"] = row["revenue"] / delivered[k]
        row["spend"] = np.nan
        rows.append(row)
    return rows


def campaign_account(seed: int, n_email: int = 40, n_sms: int = 20, spread: float = 0.35,
                     conversion_lift: float = 1.0, order_cv: float = 1.5) -> pd.DataFrame:
    """One account's `channels.campaign_table`-shaped frame: campaigns that differ from each other.

    Every campaign's rates are the channel's rates times its own lognormal factor (log-sd `spread`), its
    orders spread with coefficient of variation `order_cv`. Email and SMS are equal on average unless
    `conversion_lift` (SMS conversion rate / email's) says otherwise.
    """
    rng = np.random.default_rng([seed, 2020])
    sms_rates = dict(BASE, conversion_rate=BASE["conversion_rate"] * conversion_lift)
    rows = _campaign_rows(rng, "email", n_email, EMAIL_AUDIENCE, BASE, spread, order_cv, AOV)
    rows += _campaign_rows(rng, "sms", n_sms, SMS_AUDIENCE, sms_rates, spread, order_cv, AOV)
    return pd.DataFrame(rows)


def order_values(seed: int, n: int = 2000, order_cv: float = 1.5) -> np.ndarray:
    """The account's Placed Order values (lognormal, mean `AOV`, coefficient of variation `order_cv`)."""
    rng = np.random.default_rng([seed, 2021])
    sigma = np.sqrt(np.log1p(order_cv**2))
    return AOV * rng.lognormal(-sigma**2 / 2, sigma, n)


def welch_conversion_p(table: pd.DataFrame) -> float:
    """The reference: Welch's t-test on the campaigns' conversion rates (each campaign one observation)."""
    from scipy import stats

    email = table.loc[table["channel"] == "email", "conversion_rate"]
    sms = table.loc[table["channel"] == "sms", "conversion_rate"]
    return float(stats.ttest_ind(sms, email, equal_var=False).pvalue)


# Flow kinds: (name, trigger, messages, open, click, conversion, order value). Their rates differ by nature.
FLOW_KINDS = [
    ("Abandoned Cart", "Metric", 4, 0.50, 0.060, 0.040, 95.0),
    ("Browse Abandonment", "Metric", 3, 0.45, 0.040, 0.015, 80.0),
    ("Welcome Series", "Added to List", 5, 0.55, 0.050, 0.025, 70.0),
    ("Post-Purchase", "Metric", 4, 0.50, 0.030, 0.008, 60.0),
    ("Winback", "Metric", 4, 0.30, 0.015, 0.004, 85.0),
    ("Birthday", "Date Based", 3, 0.40, 0.035, 0.012, 75.0),
    ("Back in Stock", "Low Inventory", 3, 0.60, 0.090, 0.045, 90.0),
]
RATES = ("open", "click", "conversion")


def flow_account(seed: int, spread: float = 0.05, volume: float = 12_000, lagging: dict | None = None,
                 order_cv: float = 1.0) -> pd.DataFrame:
    """One account's `flows.message_performance`-shaped frame: flows that differ, messages that do not lag.

    Each message has its flow's rates times a small lognormal factor (log-sd `spread`) and binomial noise;
    later messages of a flow reach fewer people. `lagging` = {message_id: factor} multiplies every rate of
    those messages (0.5: a message at half its own flow's rates).
    """
    rng = np.random.default_rng([seed, 2002])
    lagging = lagging or {}
    rows = []
    for fi, (name, trigger, n_msgs, *rates, aov) in enumerate(FLOW_KINDS):
        for pos in range(n_msgs):
            channel = "sms" if pos in (1, 3) and fi % 2 == 0 else "email"
            mid = f"f{fi}m{pos}"
            factor = lagging.get(mid, 1.0)
            recipients = int(volume * 0.8**pos * (0.5 if channel == "sms" else 1.0) * rng.uniform(0.7, 1.3))
            delivered = int(recipients * 0.985)
            row = {"message_id": mid, "flow_id": f"f{fi}", "flow_name": name, "message_name": f"{name} #{pos + 1}",
                   "channel": channel, "trigger_type": trigger, "recipients": recipients, "delivered": delivered}
            base = dict(zip(RATES, rates, strict=True))
            if channel == "sms":
                base = {"open": 0.0, "click": base["click"] * 1.6, "conversion": base["conversion"] * 1.2}
            own = {k: min(v * factor * rng.lognormal(-spread**2 / 2, spread), 0.9) for k, v in base.items()}
            row["opens_unique"] = rng.binomial(delivered, own["open"])
            row["clicks_unique"] = rng.binomial(delivered, own["click"])
            row["conversion_uniques"] = rng.binomial(delivered, own["conversion"])
            sigma = np.sqrt(np.log1p(order_cv**2))
            row["conversion_value"] = float((aov * rng.lognormal(-sigma**2 / 2, sigma, row["conversion_uniques"])).sum())
            rows.append(row)
    perf = pd.DataFrame(rows)
    den = perf["delivered"]
    perf["open_rate"] = np.where(perf["channel"] == "email", perf["opens_unique"] / den, np.nan)
    perf["click_rate"] = perf["clicks_unique"] / den
    perf["conversion_rate"] = perf["conversion_uniques"] / den
    perf["revenue_per_recipient"] = perf["conversion_value"] / den
    perf["click_to_open_rate"] = perf["clicks_unique"] / perf["opens_unique"].where(perf["opens_unique"] > 0)
    for col in ("subject", "preview_text", "body"):
        perf[col] = ""
    return perf


def _any_significant(comparison) -> bool:
    return bool(comparison["significant"].any())


def measure(accounts: int = 200) -> dict:
    """The numbers issue #20 asks for, on whatever `helpers` is importable."""
    from helpers.analysis.channels import compare_channels
    from helpers.analysis.flows import evaluate_messages

    fwer = conversion_fp = found = welch_found = 0
    flags = 0
    lag_found = 0
    for seed in range(accounts):
        null = compare_channels(campaign_account(seed), 0.05)
        fwer += _any_significant(null)
        conversion_fp += bool(null.loc["conversion_rate", "significant"])
        lifted = campaign_account(seed, conversion_lift=1.5)
        found += bool(compare_channels(lifted, 0.05).loc["conversion_rate", "significant"])
        welch_found += welch_conversion_p(lifted) < 0.05
        _, messages = evaluate_messages(flow_account(seed))
        flags += int(messages["underperforming"].sum())
        _, lagged = evaluate_messages(flow_account(seed, lagging={"f1m1": 0.5}))
        lag_found += bool(lagged.set_index("message_id").at["f1m1", "underperforming"])
    return {
        "accounts": accounts,
        "channel_familywise_false_positive_rate": fwer / accounts,
        "conversion_false_positive_rate": conversion_fp / accounts,
        "conversion_lift_1.5_power": found / accounts,
        "welch_campaign_level_power": welch_found / accounts,
        "flags_per_null_flow_account": flags / accounts,
        "half_rate_message_flagged": lag_found / accounts,
    }


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for key, value in measure(n).items():
        print(f"{key}: {value}")
