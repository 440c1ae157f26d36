"""Top performers vs the rest: what the reps who win most do differently.

Reps are ranked by the win rate of the closed deals they own (Wilson interval), counting only
reps with at least `min_closed` closed deals. The top quarter (at least 2 reps) is compared
with the rest on per-rep measures: how often each behaviour shows up in their calls, how often
they raise price early, talk ratio, calls per week, call length, days between calls on a deal,
and the share of their calls in each hour-of-day slot. Each difference (top mean minus rest
mean, reps as the unit) has a Welch t interval, so a team of 12 reps gets honest, wide
intervals. Ranking by an observed win rate favours lucky reps (regression to the mean), so the
top group's win rate overstates their skill; the behaviour differences are still what they do.

With fewer than MIN_REPS eligible reps there is no comparison, and the message says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from talktracks.analysis.features import UNKNOWN_REP, price_timing_per_call
from talktracks.analysis.kpis import HOUR_SLOTS, _local
from talktracks.analysis.labels import behaviour_label
from talktracks.analysis.load import Dataset
from talktracks.analysis.stats import wilson_interval

MIN_REPS = 8
"""Fewest reps with enough closed deals for a top quarter of 2 against a rest of 6."""
MIN_CLOSED_DEALS = 10

COMPARISON_COLUMNS = [
    "measure",
    "label",
    "unit",
    "top_mean",
    "rest_mean",
    "difference",
    "ci_low",
    "ci_high",
    "n_top_reps",
    "n_rest_reps",
]
RANKING_COLUMNS = [
    "rank",
    "rep_id",
    "group",
    "n_closed",
    "n_won",
    "win_rate",
    "win_rate_low",
    "win_rate_high",
]


@dataclass
class TopPerformers:
    comparison: pd.DataFrame
    ranking: pd.DataFrame
    message: str


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Difference of means a - b with a 95% Welch t interval (NaN when it cannot be formed)."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return (float(a.mean() - b.mean()) if a.size and b.size else math.nan), math.nan, math.nan
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    d = float(a.mean() - b.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return d, d, d
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(student_t.ppf(0.975, df)) * se
    return d, d - half, d + half


def rep_measures(
    ds: Dataset, metrics: pd.DataFrame, kpis: pd.DataFrame, behaviours: list[str], tz: str
) -> pd.DataFrame:
    """Per rep (index rep_id): (measure -> value) columns and a label/unit table in attrs."""
    m = metrics.assign(rep_id=metrics["rep_id"].fillna(UNKNOWN_REP))
    g = m.groupby("rep_id", sort=True)
    cols: dict[str, pd.Series] = {}
    meta: dict[str, tuple[str, str]] = {}
    for b in behaviours:
        if f"{b}_count" in m:
            cols[f"rate_{b}"] = g[f"{b}_count"].apply(lambda s: float((s > 0).mean()))
            meta[f"rate_{b}"] = (f"Share of calls with: {behaviour_label(b)}", "share")
    if "price_mention" in behaviours and len(m):
        timing = price_timing_per_call(ds, metrics)
        cols["rate_early_price"] = timing["early_price"].groupby(m["rep_id"]).mean()
        meta["rate_early_price"] = ("Share of calls where the rep raised price early", "share")
    cols["talk_ratio"] = g["rep_talk_ratio"].mean()
    meta["talk_ratio"] = ("Rep's share of talk time", "share")
    k = kpis.set_index("rep_id")
    cols["calls_per_week"] = k["calls_per_week"]
    meta["calls_per_week"] = ("Calls per week", "calls")
    cols["call_minutes"] = k["mean_call_duration_min"]
    meta["call_minutes"] = ("Call length (minutes)", "minutes")
    cols["days_between_calls"] = k["median_days_between_calls"]
    meta["days_between_calls"] = ("Days between calls on a deal (median)", "days")
    timed = m.dropna(subset=["started_at"])
    if len(timed):
        hours = _local(timed["started_at"], tz).dt.hour.to_numpy()
        edges = [s for s, _, _ in HOUR_SLOTS[1:]]
        slot = np.searchsorted(edges, hours, side="right")
        shares = pd.crosstab(timed["rep_id"].to_numpy(), slot, normalize="index")
        for i, (_, _, label) in enumerate(HOUR_SLOTS):
            key = f"hour_share_{i}"
            cols[key] = shares[i] if i in shares.columns else pd.Series(0.0, index=shares.index)
            meta[key] = (f"Share of calls {label} ({tz})", "share")
    out = pd.DataFrame(cols)
    out.attrs["meta"] = meta
    return out


def top_performers(
    ds: Dataset,
    metrics: pd.DataFrame,
    features: pd.DataFrame,
    kpis: pd.DataFrame,
    behaviours: list[str],
    tz: str = "UTC",
    min_closed: int = MIN_CLOSED_DEALS,
) -> TopPerformers:
    """Rank reps by win rate and compare the top quarter with the rest (see module doc)."""
    closed = features[features["won"].notna()]
    per = (
        closed.assign(rep_id=closed["rep_id"].fillna(UNKNOWN_REP))
        .groupby("rep_id")["won"]
        .agg(n_closed="size", n_won="sum")
        .reset_index()
    )
    per["n_won"] = per["n_won"].astype(int)
    per["win_rate"] = per["n_won"] / per["n_closed"]
    per["win_rate_low"], per["win_rate_high"] = wilson_interval(per["n_won"], per["n_closed"])
    eligible = per[per["n_closed"] >= min_closed].sort_values(
        ["win_rate", "n_closed", "rep_id"], ascending=[False, False, True], kind="stable"
    )
    eligible = eligible.reset_index(drop=True)
    n = len(eligible)
    empty = pd.DataFrame(columns=COMPARISON_COLUMNS)
    if n < MIN_REPS:
        ranking = eligible.assign(rank=np.arange(1, n + 1), group="")
        return TopPerformers(
            empty,
            ranking[RANKING_COLUMNS],
            f"Too few reps to compare top performers: {n} rep{'s' if n != 1 else ''} "
            f"{'has' if n == 1 else 'have'} at least {min_closed} closed deals; comparing the "
            f"top quarter with the rest needs at least {MIN_REPS}.",
        )
    n_top = max(2, int(round(n / 4)))
    eligible["rank"] = np.arange(1, n + 1)
    eligible["group"] = np.where(eligible["rank"] <= n_top, "top", "rest")
    measures = rep_measures(ds, metrics, kpis, behaviours, tz)
    meta = measures.attrs["meta"]
    top_ids = eligible.loc[eligible["group"] == "top", "rep_id"]
    rest_ids = eligible.loc[eligible["group"] == "rest", "rep_id"]
    rows = []
    for key, (label, unit) in meta.items():
        col = measures[key]
        a = col.reindex(top_ids).to_numpy(dtype=float)
        b = col.reindex(rest_ids).to_numpy(dtype=float)
        d, lo, hi = _welch(a, b)
        rows.append(
            {
                "measure": key,
                "label": label,
                "unit": unit,
                "top_mean": float(np.nanmean(a)) if np.isfinite(a).any() else math.nan,
                "rest_mean": float(np.nanmean(b)) if np.isfinite(b).any() else math.nan,
                "difference": d,
                "ci_low": lo,
                "ci_high": hi,
                "n_top_reps": int(np.isfinite(a).sum()),
                "n_rest_reps": int(np.isfinite(b).sum()),
            }
        )
    top_rate = eligible.loc[eligible["group"] == "top"]
    rest_rate = eligible.loc[eligible["group"] == "rest"]
    message = (
        f"Top performers: the {n_top} reps with the highest win rates "
        f"({top_rate['n_won'].sum() / top_rate['n_closed'].sum():.0%} of their closed deals won) "
        f"compared with the other {n - n_top} ({rest_rate['n_won'].sum() / rest_rate['n_closed'].sum():.0%}); "
        f"reps with fewer than {min_closed} closed deals are not ranked."
    )
    return TopPerformers(
        pd.DataFrame(rows, columns=COMPARISON_COLUMNS), eligible[RANKING_COLUMNS], message
    )
