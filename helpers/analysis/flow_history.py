"""A flow message against its own earlier period (notebook 02), from Klaviyo's flow-series report.

Peers (`flows.evaluate_messages`) catch a message that lags its own flow; they cannot see a message that used
to be the best of its flow and has slipped to the middle. Here each message's recent period (the report's
timeframe) is compared with its own earlier weeks of the same series.

The test, per message and metric: a quasi-likelihood GLM over the message's weekly counts (statsmodels) with
one parameter for "recent": binomial with a log link for open, click and conversion rates (counts out of
delivered), Poisson with a log link and log(delivered) offset for revenue per recipient (revenue is a sum of
order values, whose variance is proportional to its mean: quasi-Poisson). The dispersion is Pearson's χ² over
the weeks (the week-to-week spread beyond binomial or Poisson chance: audiences, seasons and sends differ
from week to week), never below 1, and the coefficient is tested one-sided with a t on the weeks' residual
degrees of freedom. So a message is "below its own history" only when its drop is larger than its own weeks
usually move.

Net of its flow: the change the other messages of its flow went through over the same weeks (their median
ratio, when it is a drop) is taken out of both the test and the size of the drop, since a season or a list
change that moves a whole flow is not a reason to rewrite one of its messages. Material: the recent rate is
at most (1 − min_relative_gap) of the earlier one, net of that change.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.tools.sm_exceptions import DomainWarning, PerfectSeparationWarning

__all__ = ["MIN_EARLIER_STEPS", "SERIES_STATISTICS", "flagged_ids", "history_frame", "history_line", "history_tests",
           "recent_split"]

# metric -> numerator column (denominator: delivered), as flows.RATE_DEFINITIONS
NUMERATORS = {"open_rate": "opens_unique", "click_rate": "clicks_unique", "conversion_rate": "conversion_uniques",
              "revenue_per_recipient": "conversion_value"}
CHANNEL_METRICS = {"email": ("open_rate", "click_rate", "conversion_rate", "revenue_per_recipient"),
                   "sms": ("click_rate", "conversion_rate", "revenue_per_recipient")}
# What the flow-series report must return for these tests (counts: the rates are recomputed from them).
SERIES_STATISTICS = ("recipients", "delivered", "opens_unique", "clicks_unique", "conversion_uniques",
                     "conversion_value")
MIN_EARLIER_STEPS = 8  # weeks of earlier history needed to estimate a message's week-to-week spread
MIN_RECENT_STEPS = 2


def history_frame(series: pd.DataFrame) -> pd.DataFrame:
    """`KlaviyoClient.flow_series_report(...)` as one row per (message, channel, step): message_id, channel,
    flow_id, date_time, delivered, recipients and the numerators (missing statistics are zeros)."""
    out = series.rename(columns={"flow_message_id": "message_id", "send_channel": "channel"}).copy()
    out["date_time"] = pd.to_datetime(out["date_time"], utc=True)
    for col in ("recipients", "delivered", *NUMERATORS.values()):
        if col not in out:
            out[col] = out["recipients"] if col == "delivered" and "recipients" in out else 0.0
        out[col] = pd.to_numeric(out[col], errors="coerce").fillna(0.0)
    keys = ["message_id", "channel", "flow_id", "date_time"]
    return out.groupby(keys, as_index=False)[["recipients", "delivered", *NUMERATORS.values()]].sum()


def recent_split(steps: pd.Series, recent_start: object = None) -> pd.Timestamp:
    """Where the recent period starts: `recent_start` (the report's first day), unless that leaves fewer than
    `MIN_EARLIER_STEPS` earlier steps; then the later half of the series (a year-long report has no earlier
    period inside a year-long series, so its halves are compared)."""
    times = pd.Series(sorted(pd.to_datetime(steps, utc=True).unique()))
    if len(times) == 0:
        return pd.NaT
    if recent_start is not None:
        start = pd.Timestamp(recent_start)
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        if (times < start).sum() >= MIN_EARLIER_STEPS and (times >= start).sum() >= MIN_RECENT_STEPS:
            return start
    return times.iloc[len(times) // 2]


def _glm(x: np.ndarray, n: np.ndarray, recent: np.ndarray, metric: str) -> tuple[float, float, float]:
    """(coefficient of "recent", its standard error with the dispersion floored at 1, residual df)."""
    exog = sm.add_constant(recent.astype(float), has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        # A log link may leave [0, 1] in general; here it fits two rates, each a share of counts, so it stays inside.
        warnings.simplefilter("ignore", DomainWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if metric == "revenue_per_recipient":
            model = sm.GLM(x, exog, family=sm.families.Poisson(), offset=np.log(n))
        else:  # a log link: the coefficient is the log of recent / earlier, the scale the flow's change is on
            model = sm.GLM(np.column_stack([x, n - x]), exog,
                           family=sm.families.Binomial(link=sm.families.links.Log()))
        fit = model.fit()
    df = float(fit.df_resid)
    dispersion = max(1.0, float(fit.pearson_chi2) / df) if df > 0 else 1.0
    return float(fit.params[1]), float(fit.bse[1]) * np.sqrt(dispersion), df


def _one(frame: pd.DataFrame, recent: np.ndarray, metric: str) -> dict | None:
    """The test of one message on one metric, or None when a period has nothing to compare."""
    n = frame["delivered"].to_numpy(float)
    x = frame[NUMERATORS[metric]].to_numpy(float)
    if metric != "revenue_per_recipient":
        x = np.minimum(x, n)
    n_recent, n_before = n[recent].sum(), n[~recent].sum()
    x_recent, x_before = x[recent].sum(), x[~recent].sum()
    if x_before <= 0:
        return None
    rate, before = x_recent / n_recent, x_before / n_before
    if x_recent <= 0:  # a drop to nothing: the GLM's estimate runs off to -inf; a Poisson bound instead
        coef, se, df = -np.inf, np.nan, float(len(n) - 2)
        p = float(np.exp(-before * n_recent)) if metric != "revenue_per_recipient" else np.nan
    else:
        coef, se, df = _glm(x, n, recent, metric)
        p = np.nan  # set once the flow's own change is known (history_tests)
    return {"rate": rate, "peer_rate": before, "ratio": rate / before, "p_value": p, "_coef": coef, "_se": se,
            "_df": df}


def history_tests(series: pd.DataFrame, recent_start: object = None, min_recipients: int = 500,
                  min_relative_gap: float = 0.25) -> pd.DataFrame:
    """One row per (message, metric) with enough history: its recent rate against its own earlier rate.

    `series` is `history_frame(...)` (or the client's series frame). A message is tested when each period has
    at least `min_recipients` recipients, the recent period at least `MIN_RECENT_STEPS` steps with sends and
    the earlier one `MIN_EARLIER_STEPS`. Columns: `message_id, channel, metric, check ("history"),
    recipients (recent), rate (recent), peer_rate (its own earlier rate), ratio, flow_change (its flow-mates'
    median ratio, 1 when they have none), relative (ratio / min(flow_change, 1)), weeks_before, weeks_recent,
    p_value (one-sided, of a lower recent rate), peers (in words), material`. Multiplicity is left to the
    caller (`flows.evaluate_messages` adds these p-values to its Holm family).
    """
    frame = series if "message_id" in series else history_frame(series)
    frame = frame[frame["channel"].isin(list(CHANNEL_METRICS))]
    columns = ["message_id", "flow_id", "channel", "metric", "check", "recipients", "rate", "peer_rate", "ratio",
               "flow_change", "relative", "weeks_before", "weeks_recent", "p_value", "peers", "material",
               "_coef", "_se", "_df"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    split = recent_split(frame["date_time"], recent_start)
    rows = []
    for (mid, channel, flow), part in frame.groupby(["message_id", "channel", "flow_id"], sort=True):
        part = part[part["delivered"] > 0].sort_values("date_time")
        recent = (part["date_time"] >= split).to_numpy()
        sizes = part["recipients"].to_numpy(float)
        if (recent.sum() < MIN_RECENT_STEPS or (~recent).sum() < MIN_EARLIER_STEPS
                or min(sizes[recent].sum(), sizes[~recent].sum()) < min_recipients):
            continue
        for metric in CHANNEL_METRICS[channel]:
            got = _one(part, recent, metric)
            if got is None:
                continue
            rows.append({"message_id": mid, "flow_id": flow, "channel": channel, "metric": metric,
                         "check": "history", "recipients": float(sizes[recent].sum()),
                         "weeks_before": int((~recent).sum()), "weeks_recent": int(recent.sum()), **got})
    tests = pd.DataFrame(rows, columns=[c for c in columns if c not in ("flow_change", "relative", "peers", "material")])
    if tests.empty:
        return pd.DataFrame(columns=columns)
    tests["flow_change"] = _flow_change(tests)
    tests["relative"] = tests["ratio"] / np.minimum(tests["flow_change"], 1.0)
    # The test is of the drop beyond the flow's common one: log(recent / earlier) − log(flow's change, if a drop).
    shifted = tests["_coef"] - np.log(np.minimum(tests["flow_change"], 1.0))
    ok = tests["p_value"].isna() & (tests["_se"] > 0) & (tests["_df"] > 0)
    tests.loc[ok, "p_value"] = sps.t.cdf(shifted[ok] / tests.loc[ok, "_se"], tests.loc[ok, "_df"])
    tests["material"] = tests["relative"] <= 1 - min_relative_gap
    tests["peers"] = [f"its own {b} earlier weeks" for b in tests["weeks_before"]]
    return tests[columns]


def _flow_change(tests: pd.DataFrame) -> np.ndarray:
    """Per row, the median ratio of the other messages of its flow (either channel: a season or a list change
    moves a whole flow) on the same metric (1 if none)."""
    out = np.ones(len(tests))
    for _, part in tests.groupby(["flow_id", "metric"]):
        ratios = part["ratio"].to_numpy(float)
        for k, i in enumerate(part.index):
            others = np.delete(ratios, k)
            others = others[np.isfinite(others)]
            out[tests.index.get_loc(i)] = float(np.median(others)) if others.size else 1.0
    return out


def history_line(evaluated: pd.DataFrame, tests: pd.DataFrame) -> str | None:
    """What the history check found, in one bullet (None when no series was given)."""
    if "check" not in tests or "history_checked" not in evaluated:
        return None
    checked = int(evaluated["history_checked"].sum())
    if not checked:
        return ("- Against their own history: no message had enough earlier weeks in the flow-series report to "
                "compare with (each period needs 500 recipients and the earlier one 8 weeks).")
    hist = tests[tests["check"] == "history"]
    found = hist[hist["flagged"]]
    weeks = int(hist["weeks_before"].median()) if len(hist) else 0
    head = (f"- Against their own history: {checked} messages were compared with their own earlier weeks (typically "
            f"{weeks}), allowing for how much their weeks usually move and for changes their whole flow went through")
    if found.empty:
        return head + "; none is materially and significantly below its own past."
    names = evaluated.set_index("message_id")["message_name"]
    parts = []
    for mid, rows in found.sort_values("ratio").groupby("message_id", sort=False):
        drops = ", ".join(f"{r.metric.replace('_', ' ')} {r.ratio:.0%}" for r in rows.itertuples(index=False))
        parts.append(f"'{names.get(mid, mid)}' ({drops} of before)")
    return head + f"; {len(parts)} dropped below it: " + "; ".join(parts) + "."


def flagged_ids(evaluated: pd.DataFrame) -> list[str]:
    """The messages flagged against their own earlier period (sorted ids; empty without history)."""
    if "history_metrics" not in evaluated:
        return []
    return sorted(evaluated.loc[evaluated["history_metrics"].map(bool), "message_id"].astype(str))
