"""Who does what, when, and the calls behind the numbers.

- behaviour_adoption: per rep and behaviour, the share of the rep's analysed calls showing it
  (in its scope), with a Wilson interval: the link from "referrals win" to "who to coach".
- monthly_trend: per calendar month (of the call, in `tz`), each behaviour's share of calls
  and the win rate of deals closed that month, each with n and a Wilson interval.
- example_calls: for each behaviour, a few calls on won and on lost deals that show it, with
  the moment (seconds into the call) of its first occurrence, so a reader of the offline
  report can find the calls behind a number in the review app or the store.
"""

from __future__ import annotations

import pandas as pd

from talktracks.analysis.features import UNKNOWN_REP
from talktracks.analysis.kpis import _local
from talktracks.analysis.labels import behaviour_label
from talktracks.analysis.load import Dataset
from talktracks.analysis.stats import wilson_interval

ADOPTION_COLUMNS = [
    "rep_id",
    "behaviour",
    "label",
    "n_calls",
    "n_with",
    "rate",
    "ci_low",
    "ci_high",
]
TREND_COLUMNS = ["month", "measure", "label", "n", "k", "rate", "ci_low", "ci_high"]
EXAMPLE_COLUMNS = ["behaviour", "label", "outcome", "call_id", "rep_id", "deal_id", "moment_s"]
EXAMPLES_PER_OUTCOME = 3


def behaviour_adoption(metrics: pd.DataFrame, behaviours: list[str]) -> pd.DataFrame:
    """One row per rep and behaviour (ADOPTION_COLUMNS), reps sorted by id."""
    m = metrics.assign(rep_id=metrics["rep_id"].fillna(UNKNOWN_REP))
    frames = []
    for b in behaviours:
        if f"{b}_count" not in m:
            continue
        g = (m[f"{b}_count"] > 0).groupby(m["rep_id"], sort=True)
        part = pd.DataFrame({"n_calls": g.size(), "n_with": g.sum().astype(int)}).reset_index()
        part.insert(1, "behaviour", b)
        part.insert(2, "label", behaviour_label(b))
        frames.append(part)
    if not frames:
        return pd.DataFrame(columns=ADOPTION_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["rate"] = out["n_with"] / out["n_calls"]
    out["ci_low"], out["ci_high"] = wilson_interval(out["n_with"], out["n_calls"])
    return out.sort_values(["rep_id", "behaviour"], kind="stable").reset_index(drop=True)[
        ADOPTION_COLUMNS
    ]


def monthly_trend(
    ds: Dataset, metrics: pd.DataFrame, behaviours: list[str], tz: str = "UTC"
) -> pd.DataFrame:
    """Long table (TREND_COLUMNS): each behaviour's share of calls per month of the call,
    and measure 'win_rate' over deals closed in that month (by closed_at)."""
    frames = []
    timed = metrics.dropna(subset=["started_at"])
    if len(timed):
        month = _local(timed["started_at"], tz).dt.strftime("%Y-%m").to_numpy()
        for b in behaviours:
            if f"{b}_count" not in timed:
                continue
            g = (timed[f"{b}_count"] > 0).groupby(month, sort=True)
            frames.append(
                pd.DataFrame(
                    {
                        "month": g.size().index,
                        "measure": f"rate_{b}",
                        "label": f"Calls with: {behaviour_label(b)}",
                        "n": g.size().to_numpy(),
                        "k": g.sum().astype(int).to_numpy(),
                    }
                )
            )
    deals = ds.deals[ds.deals["outcome"].isin(["won", "lost"])].dropna(subset=["closed_at"])
    if len(deals):
        month = pd.to_datetime(deals["closed_at"]).dt.strftime("%Y-%m").to_numpy()
        g = (deals["outcome"] == "won").groupby(month, sort=True)
        frames.append(
            pd.DataFrame(
                {
                    "month": g.size().index,
                    "measure": "win_rate",
                    "label": "Win rate of deals closed",
                    "n": g.size().to_numpy(),
                    "k": g.sum().astype(int).to_numpy(),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=TREND_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["rate"] = out["k"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson_interval(out["k"], out["n"])
    return out.sort_values(["measure", "month"], kind="stable").reset_index(drop=True)[
        TREND_COLUMNS
    ]


def example_calls(
    ds: Dataset,
    metrics: pd.DataFrame,
    behaviours: list[str],
    per_outcome: int = EXAMPLES_PER_OUTCOME,
) -> pd.DataFrame:
    """A few calls per behaviour and outcome (won, lost) that show it, with its first moment.

    Deterministic: the calls with the lowest call ids. Out: EXAMPLE_COLUMNS.
    """
    outcome = ds.deals.drop_duplicates("deal_id").set_index("deal_id")["outcome"]
    m = metrics.assign(outcome=metrics["deal_id"].map(outcome))
    rows = []
    for b in behaviours:
        if f"{b}_count" not in m:
            continue
        shown = m[(m[f"{b}_count"] > 0) & m["outcome"].isin(["won", "lost"])]
        for result in ("won", "lost"):
            part = shown[shown["outcome"] == result].sort_values("call_id").head(per_outcome)
            for r in part.to_dict("records"):  # behaviour names need not be identifiers
                rows.append(
                    {
                        "behaviour": b,
                        "label": behaviour_label(b),
                        "outcome": result,
                        "call_id": r["call_id"],
                        "rep_id": r["rep_id"],
                        "deal_id": r["deal_id"],
                        "moment_s": float(r[f"{b}_first_s"]),
                    }
                )
    return pd.DataFrame(rows, columns=EXAMPLE_COLUMNS)


def track_examples(
    tracks: pd.Series, metrics: pd.DataFrame, per_track: int = 3
) -> dict[str, list[str]]:
    """Track -> the first few call ids (sorted) that follow it."""
    frame = pd.DataFrame({"track": tracks.to_numpy(), "call_id": metrics["call_id"].to_numpy()})
    frame = frame.sort_values("call_id", kind="stable")
    return {t: list(g["call_id"].head(per_track)) for t, g in frame.groupby("track", sort=False)}
