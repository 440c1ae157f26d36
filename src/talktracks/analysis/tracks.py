"""Talk tracks: the order in which the rep shows distinct behaviours in a call, and how each wins.

A call's track is its distinct rep behaviours ordered by first occurrence, e.g.
"product_introduction → price_mention → referral_request"; a call with none has the track
NO_TRACK. A track's win rate is over the closed deals with at least one call following it (a
deal counts once per track, and can appear under several tracks). Tracks with fewer than
`min_deals` closed deals are pooled into OTHER, so no row rests on a handful of deals.
Tracks are ranked by the lower bound of the 95% Wilson interval of their win rate (ties: win
rate, then more deals), so a track with few deals and a lucky rate does not top one with many:
the rank says "at least this good, with 95% confidence". Overlapping intervals still mean the
order between two tracks is not established.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from talktracks.analysis.load import Dataset
from talktracks.analysis.metrics import behaviour_names, rep_first_occurrences
from talktracks.analysis.stats import wilson_interval

ARROW = " → "
NO_TRACK = "(no tracked behaviour)"
OTHER = "other"
TRACK_COLUMNS = [
    "rank",
    "track",
    "n_behaviours",
    "n_calls",
    "n_deals",
    "n_won",
    "win_rate",
    "ci_low",
    "ci_high",
]


def call_tracks(ds: Dataset, behaviours: Iterable[str] | None = None) -> pd.Series:
    """The track of every analysed call (ds.calls order), as a string Series named 'track'."""
    names = behaviour_names(ds, behaviours)
    rf = rep_first_occurrences(ds, names).sort_values(
        ["call", "first_s", "behaviour"], kind="stable"
    )
    # One join per call (tens of thousands), never a loop over utterances.
    joined = rf.groupby("call", sort=True)["behaviour"].agg(ARROW.join)
    track = np.full(len(ds.calls), NO_TRACK, dtype=object)
    track[joined.index.to_numpy()] = joined.to_numpy()
    return pd.Series(track, name="track")


def talk_tracks(
    ds: Dataset, behaviours: Iterable[str] | None = None, min_deals: int = 10
) -> pd.DataFrame:
    """Win rate per talk track, ranked.

    In: a Dataset, optional behaviour names, the fewest closed deals a track needs to stand on
    its own. Out: TRACK_COLUMNS, highest Wilson lower bound first (ties: win rate, then more
    deals), OTHER last;
    rank is empty for OTHER. Calls of open or unknown deals count in n_calls only.
    """
    tracks = call_tracks(ds, behaviours)
    calls = pd.DataFrame({"track": tracks, "deal_id": ds.calls["deal_id"].to_numpy()})
    outcome = ds.deals.drop_duplicates("deal_id").set_index("deal_id")["outcome"]
    calls["won"] = calls["deal_id"].map(outcome).map({"won": 1.0, "lost": 0.0})
    n_calls = calls.groupby("track").size()
    closed = calls.dropna(subset=["won"]).drop_duplicates(["track", "deal_id"])
    per = closed.groupby("track").agg(n_deals=("deal_id", "size"), n_won=("won", "sum"))
    per = per.reindex(n_calls.index, fill_value=0)
    small = per["n_deals"] < min_deals
    rows = per[~small].reset_index()
    rows["n_calls"] = rows["track"].map(n_calls)
    if small.any():
        small_tracks = per.index[small]
        pooled = closed[closed["track"].isin(small_tracks)].drop_duplicates("deal_id")
        other = pd.DataFrame(
            {
                "track": [OTHER],
                "n_deals": [len(pooled)],
                "n_won": [pooled["won"].sum()],
                "n_calls": [int(n_calls[small_tracks].sum())],
            }
        )
        rows = pd.concat([rows, other], ignore_index=True)
    rows["n_won"] = rows["n_won"].astype(int)
    rows["n_deals"] = rows["n_deals"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows["win_rate"] = np.where(rows["n_deals"] > 0, rows["n_won"] / rows["n_deals"], np.nan)
    rows["ci_low"], rows["ci_high"] = wilson_interval(rows["n_won"], rows["n_deals"])
    rows["n_behaviours"] = [
        0 if t in (NO_TRACK, OTHER) else t.count(ARROW) + 1 for t in rows["track"]
    ]
    rows["is_other"] = rows["track"] == OTHER
    rows = rows.sort_values(
        ["is_other", "ci_low", "win_rate", "n_deals", "track"],
        ascending=[True, False, False, False, True],
        kind="stable",
        na_position="last",
    ).reset_index(drop=True)
    rank = pd.Series(np.arange(1, len(rows) + 1), dtype="Int64")
    rows["rank"] = rank.where(~rows["is_other"].to_numpy())
    return rows[TRACK_COLUMNS]
