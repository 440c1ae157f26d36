"""Deal-level features: what happened over all calls of a deal, joined to its CRM outcome.

- has_<behaviour>: the behaviour occurred in some call of the deal, within its scope (any
  speaker for price_mention, the rep for the rest; see metrics.DEFAULT_ANY_SPEAKER). One such
  feature per behaviour, so new behaviours get one without code changes.
- early_price_mention: in some call, the rep's first price mention starts within the first 25%
  (`early_fraction`) of that call's duration.
- price_before_product_introduction: in some call, the rep mentions price before the rep's first
  product introduction in that call, or mentions price in a call with no product introduction.
  A price mention in the same utterance as the introduction does not count as before.
- mean_<metric>: each call metric averaged over the deal's calls.
- rep_mentioned_price: the rep mentioned price in some call (descriptive, not tested as an
  effect: has_price_mention already covers price talk).
- rep_id: the rep on most of the deal's calls (ties: alphabetically first), so a deal has one
  owner for the rep control.

Only deals with at least one analysed call appear; calls whose deal is unknown are not here
(they are counted as unlinked in the summary).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from talktracks.analysis.load import Dataset
from talktracks.analysis.metrics import (
    DEFAULT_ANY_SPEAKER,
    METRIC_COLUMNS,
    behaviour_names,
    call_metrics,
    rep_first_occurrences,
)
from talktracks.analysis.stats import wilson_interval

PRICE = "price_mention"
PRODUCT = "product_introduction"
EARLY_PRICE = "early_price_mention"
PRICE_BEFORE_PRODUCT = "price_before_product_introduction"
REP_PRICE = "rep_mentioned_price"
UNKNOWN_REP = "(unknown rep)"


def price_timing_per_call(
    ds: Dataset, metrics: pd.DataFrame, early_fraction: float = 0.25
) -> pd.DataFrame:
    """Per call: the rep's first price mention and first product introduction, and the flags.

    Out: one row per call (ds.calls order) with rep_price_first_s, rep_product_first_s,
    early_price (bool) and price_before_product (bool).
    """
    n = len(metrics)
    rf = rep_first_occurrences(ds, [PRICE, PRODUCT])
    price = np.full(n, np.nan)
    product = np.full(n, np.nan)
    for name, arr in ((PRICE, price), (PRODUCT, product)):
        part = rf[rf["behaviour"] == name]
        arr[part["call"].to_numpy()] = part["first_s"].to_numpy()
    duration = metrics["duration_s"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        early = np.isfinite(price) & (duration > 0) & (price < early_fraction * duration)
        before = np.isfinite(price) & (np.isnan(product) | (price < product))
    return pd.DataFrame(
        {
            "rep_price_first_s": price,
            "rep_product_first_s": product,
            "early_price": early,
            "price_before_product": before,
        },
        index=metrics.index,
    )


def deal_owner(metrics: pd.DataFrame) -> pd.Series:
    """The rep on most calls of each deal (ties: alphabetically first), indexed by deal_id."""
    pairs = (
        metrics.dropna(subset=["deal_id"])
        .assign(rep_id=lambda d: d["rep_id"].fillna(UNKNOWN_REP))
        .groupby(["deal_id", "rep_id"], sort=False)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["deal_id", "n", "rep_id"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("deal_id")
    )
    return pairs.set_index("deal_id")["rep_id"]


def deal_features(
    ds: Dataset,
    metrics: pd.DataFrame | None = None,
    behaviours: Iterable[str] | None = None,
    any_speaker: Iterable[str] = DEFAULT_ANY_SPEAKER,
    early_fraction: float = 0.25,
) -> pd.DataFrame:
    """One row per deal with at least one analysed call (definitions in the module docstring).

    In: a Dataset and optionally its call_metrics (computed if omitted). Out: deal_id, rep_id,
    outcome, won (1.0 won, 0.0 lost, NaN open), amount, closed_at, n_calls, first_call_at,
    last_call_at, has_<b> per behaviour, early_price_mention and
    price_before_product_introduction (when price_mention is a behaviour), mean_<metric> per
    call metric, then the deal's CRM attribute columns.
    """
    names = behaviour_names(ds, behaviours)
    if metrics is None:
        metrics = call_metrics(ds, names, any_speaker)
    deals = ds.deals
    linked = metrics[metrics["deal_id"].isin(deals["deal_id"]).to_numpy()]
    g = linked.groupby("deal_id", sort=True)
    out = pd.DataFrame(
        {
            "n_calls": g.size(),
            "first_call_at": g["started_at"].min(),
            "last_call_at": g["started_at"].max(),
        }
    )
    out.index.name = "deal_id"
    out.insert(0, "rep_id", deal_owner(linked).reindex(out.index))
    for b in names:
        out[f"has_{b}"] = g[f"{b}_count"].max().gt(0) if f"{b}_count" in linked else False
    if PRICE in names:
        timing = price_timing_per_call(ds, metrics, early_fraction).loc[linked.index]
        tg = timing.groupby(linked["deal_id"].to_numpy(), sort=True)
        out[EARLY_PRICE] = tg["early_price"].any().reindex(out.index, fill_value=False)
        out[PRICE_BEFORE_PRODUCT] = (
            tg["price_before_product"].any().reindex(out.index, fill_value=False)
        )
        # Not a has_ feature (so not tested): only used to split deals by price timing.
        rep_price = timing["rep_price_first_s"].notna()
        out[REP_PRICE] = (
            rep_price.groupby(linked["deal_id"].to_numpy())
            .any()
            .reindex(out.index, fill_value=False)
        )
    for m in METRIC_COLUMNS:
        out[f"mean_{m}"] = g[m].mean()
    out = out.reset_index()

    d = deals.drop_duplicates("deal_id")
    d = d[[c for c in d.columns if c == "deal_id" or c not in out.columns]]
    out = out.merge(d, on="deal_id", how="left")
    won = out["outcome"].map({"won": 1.0, "lost": 0.0})
    lead = ["deal_id", "rep_id", "outcome"]
    out.insert(3, "won", won.astype(float))
    extra = [c for c in d.columns if c not in ("deal_id", "outcome", "amount", "closed_at")]
    ordered = lead + ["won", "amount", "closed_at"]
    rest = [c for c in out.columns if c not in ordered and c not in extra]
    return out[ordered + rest + extra]


def binary_feature_names(features: pd.DataFrame) -> list[str]:
    """The yes/no deal features present in a deal_features frame, in display order."""
    has = [c for c in features.columns if c.startswith("has_")]
    derived = [c for c in (EARLY_PRICE, PRICE_BEFORE_PRODUCT) if c in features.columns]
    return has + derived


def metric_feature_names(features: pd.DataFrame) -> list[str]:
    """The averaged call-metric columns present in a deal_features frame."""
    return [f"mean_{m}" for m in METRIC_COLUMNS if f"mean_{m}" in features.columns]


PRICE_TIMING_GROUPS = (
    ("early", "Rep raised price early (first 25% of a call)"),
    ("later", "Rep raised price, never early"),
    ("never", "Rep never raised price"),
)


def price_timing(features: pd.DataFrame) -> pd.DataFrame:
    """Win rate of closed deals by when the rep first raised price.

    In: a deal_features frame. Out: group, label, n_deals, n_won, win_rate, ci_low, ci_high, one
    row per PRICE_TIMING_GROUPS entry; empty when price_mention is not a behaviour.
    """
    cols = ["group", "label", "n_deals", "n_won", "win_rate", "ci_low", "ci_high"]
    if EARLY_PRICE not in features.columns:
        return pd.DataFrame(columns=cols)
    closed = features[features["won"].notna()]
    early = closed[EARLY_PRICE].to_numpy(dtype=bool)
    said = closed[REP_PRICE].to_numpy(dtype=bool)
    masks = {"early": early, "later": said & ~early, "never": ~said}
    won = closed["won"].to_numpy(dtype=float)
    rows = []
    for key, label in PRICE_TIMING_GROUPS:
        mask = masks[key]
        n, k = int(mask.sum()), int(won[mask].sum())
        rows.append(
            {
                "group": key,
                "label": label,
                "n_deals": n,
                "n_won": k,
                "win_rate": k / n if n else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out["ci_low"], out["ci_high"] = wilson_interval(out["n_won"], out["n_deals"])
    return out[cols]
