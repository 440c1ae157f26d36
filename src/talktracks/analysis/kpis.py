"""Rep activity KPIs and when calls happen (weekday x hour, hour-of-day slots).

Times are converted from UTC to `tz` (an IANA zone, default UTC) before taking weekday and
hour, since "calls at 9am win more" only means something in the team's own clock.

- calls_per_week: calls / weeks between the rep's first and last call (at least one week).
- mean_call_duration_min: mean call duration in minutes.
- calls_per_deal: the rep's calls on known deals / distinct deals they called on.
- median_days_between_calls: median gap between consecutive calls on the same deal, the gap
  attributed to the rep making the later call.
- win rate per rep: over the closed deals the rep owns (the rep on most of the deal's calls).
- hour slots: a slot's win rate is over the closed deals with at least one call in that slot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from talktracks.analysis.features import UNKNOWN_REP, deal_owner
from talktracks.analysis.load import Dataset
from talktracks.analysis.metrics import call_metrics
from talktracks.analysis.stats import wilson_interval

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR_SLOTS: tuple[tuple[int, int, str], ...] = (
    (0, 8, "before 08:00"),
    (8, 10, "08:00-10:00"),
    (10, 12, "10:00-12:00"),
    (12, 14, "12:00-14:00"),
    (14, 16, "14:00-16:00"),
    (16, 18, "16:00-18:00"),
    (18, 24, "18:00 and later"),
)


def _local(started_at: pd.Series, tz: str) -> pd.Series:
    return pd.to_datetime(started_at, utc=True).dt.tz_convert(tz)


def _outcomes(ds: Dataset) -> pd.Series:
    return ds.deals.drop_duplicates("deal_id").set_index("deal_id")["outcome"]


def call_times(ds: Dataset, tz: str = "UTC") -> pd.DataFrame:
    """Calls per rep, weekday and hour, with how many were on won and on closed deals.

    Out: rep_id, weekday (0=Mon), weekday_name, hour (0-23), n_calls, n_closed_calls,
    n_won_calls; only cells with calls. Calls without a start time are left out.
    """
    calls = ds.calls.dropna(subset=["started_at"])
    local = _local(calls["started_at"], tz)
    outcome = calls["deal_id"].map(_outcomes(ds))
    frame = pd.DataFrame(
        {
            "rep_id": calls["rep_id"].fillna(UNKNOWN_REP).to_numpy(),
            "weekday": local.dt.day_of_week.to_numpy(),
            "hour": local.dt.hour.to_numpy(),
            "closed": outcome.isin(["won", "lost"]).to_numpy(),
            "won": (outcome == "won").to_numpy(),
        }
    )
    out = (
        frame.groupby(["rep_id", "weekday", "hour"], sort=True)
        .agg(n_calls=("won", "size"), n_closed_calls=("closed", "sum"), n_won_calls=("won", "sum"))
        .reset_index()
    )
    out.insert(2, "weekday_name", [WEEKDAYS[d] for d in out["weekday"]])
    return out


def hour_slot_win_rates(ds: Dataset, tz: str = "UTC") -> pd.DataFrame:
    """Win rate by hour-of-day slot (HOUR_SLOTS) over closed deals with a call in the slot.

    Out: slot, start_hour, end_hour, n_calls, n_deals, n_won, win_rate, ci_low, ci_high.
    """
    calls = ds.calls.dropna(subset=["started_at"])
    hours = _local(calls["started_at"], tz).dt.hour.to_numpy()
    edges = [s for s, _, _ in HOUR_SLOTS[1:]]
    slot = np.searchsorted(edges, hours, side="right")
    outcome = calls["deal_id"].map(_outcomes(ds)).to_numpy()
    frame = pd.DataFrame({"slot": slot, "deal_id": calls["deal_id"].to_numpy(), "outcome": outcome})
    n_calls = frame.groupby("slot").size()
    closed = frame[frame["outcome"].isin(["won", "lost"])].drop_duplicates(["slot", "deal_id"])
    per = closed.groupby("slot").agg(
        n_deals=("deal_id", "size"), n_won=("outcome", lambda s: int((s == "won").sum()))
    )
    rows = []
    for i, (start, end, label) in enumerate(HOUR_SLOTS):
        nd = int(per["n_deals"].get(i, 0))
        nw = int(per["n_won"].get(i, 0))
        rows.append(
            {
                "slot": label,
                "start_hour": start,
                "end_hour": end,
                "n_calls": int(n_calls.get(i, 0)),
                "n_deals": nd,
                "n_won": nw,
                "win_rate": nw / nd if nd else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out["ci_low"], out["ci_high"] = wilson_interval(out["n_won"], out["n_deals"])
    return out


def rep_kpis(ds: Dataset, metrics: pd.DataFrame | None = None, tz: str = "UTC") -> pd.DataFrame:
    """One row per rep with activity, outcome and conversation KPIs (see module doc).

    In: a Dataset, optionally its call_metrics, the display time zone. Out: rep_id, n_calls,
    n_deals_called, n_deals_owned, n_won, n_lost, n_open, win_rate, win_rate_low,
    win_rate_high, first_call_at, last_call_at, weeks_active, calls_per_week,
    mean_call_duration_min, calls_per_deal, median_days_between_calls, mean_rep_talk_ratio,
    mean_rep_questions_per_min, mean_longest_monologue_s, mean_patience_s, busiest_weekday,
    busiest_hour; sorted by rep_id.
    """
    m = call_metrics(ds) if metrics is None else metrics
    m = m.assign(rep_id=m["rep_id"].fillna(UNKNOWN_REP))
    g = m.groupby("rep_id", sort=True)
    out = pd.DataFrame(
        {
            "n_calls": g.size(),
            "first_call_at": g["started_at"].min(),
            "last_call_at": g["started_at"].max(),
            "mean_call_duration_min": g["duration_s"].mean() / 60.0,
            "mean_rep_talk_ratio": g["rep_talk_ratio"].mean(),
            "mean_rep_questions_per_min": g["rep_questions_per_min"].mean(),
            "mean_longest_monologue_s": g["longest_monologue_s"].mean(),
            "mean_patience_s": g["patience_s"].mean(),
        }
    )
    span_days = (out["last_call_at"] - out["first_call_at"]).dt.total_seconds() / 86400.0
    out["weeks_active"] = np.maximum(span_days.fillna(0).to_numpy() / 7.0, 1.0)
    out["calls_per_week"] = out["n_calls"] / out["weeks_active"]

    outcomes = _outcomes(ds)
    linked = m[m["deal_id"].isin(outcomes.index).to_numpy()]
    lg = linked.groupby("rep_id")
    out["n_deals_called"] = lg["deal_id"].nunique().reindex(out.index, fill_value=0)
    out["calls_per_deal"] = lg.size().reindex(out.index) / out["n_deals_called"].replace(0, np.nan)

    # Gaps between consecutive calls on a deal, credited to whoever made the later call.
    timed = linked.dropna(subset=["started_at"]).sort_values(
        ["deal_id", "started_at"], kind="stable"
    )
    gap = timed.groupby("deal_id")["started_at"].diff().dt.total_seconds() / 86400.0
    out["median_days_between_calls"] = gap.groupby(timed["rep_id"]).median().reindex(out.index)

    owner = deal_owner(linked)
    owned = pd.DataFrame(
        {"rep_id": owner.to_numpy(), "outcome": outcomes.reindex(owner.index).to_numpy()}
    )
    counts = pd.crosstab(owned["rep_id"], owned["outcome"]).reindex(out.index, fill_value=0)
    for o in ("won", "lost", "open"):
        out[f"n_{o}"] = counts.get(o, 0)
    out["n_deals_owned"] = out[["n_won", "n_lost", "n_open"]].sum(axis=1)
    closed = out["n_won"] + out["n_lost"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["win_rate"] = np.where(closed > 0, out["n_won"] / closed, np.nan)
    out["win_rate_low"], out["win_rate_high"] = wilson_interval(out["n_won"], closed)

    ct = call_times(ds, tz)
    if len(ct):
        by_day = ct.groupby(["rep_id", "weekday_name"])["n_calls"].sum().reset_index()
        by_day = by_day.sort_values(["rep_id", "n_calls"], ascending=[True, False], kind="stable")
        out["busiest_weekday"] = by_day.drop_duplicates("rep_id").set_index("rep_id")[
            "weekday_name"
        ]
        by_hour = ct.groupby(["rep_id", "hour"])["n_calls"].sum().reset_index()
        by_hour = by_hour.sort_values(["rep_id", "n_calls"], ascending=[True, False], kind="stable")
        out["busiest_hour"] = (
            by_hour.drop_duplicates("rep_id").set_index("rep_id")["hour"].astype("Int64")
        )
    else:
        out["busiest_weekday"] = None
        out["busiest_hour"] = pd.array([pd.NA] * len(out), dtype="Int64")
    cols = [
        "n_calls",
        "n_deals_called",
        "n_deals_owned",
        "n_won",
        "n_lost",
        "n_open",
        "win_rate",
        "win_rate_low",
        "win_rate_high",
        "first_call_at",
        "last_call_at",
        "weeks_active",
        "calls_per_week",
        "mean_call_duration_min",
        "calls_per_deal",
        "median_days_between_calls",
        "mean_rep_talk_ratio",
        "mean_rep_questions_per_min",
        "mean_longest_monologue_s",
        "mean_patience_s",
        "busiest_weekday",
        "busiest_hour",
    ]
    out.index.name = "rep_id"
    return out[cols].reset_index()
