"""Conversation metrics per call, computed from utterances and tags with vectorised numpy/pandas.

Definitions (seconds are from the start of the call):
- duration_s: the recording's duration, or the end of the last utterance when that is later or
  the duration is unknown.
- rep_talk_ratio: rep speaking time / (rep + customer speaking time). 'unknown' speech is left
  out of both sides: it is neither party's share.
- longest_monologue_s: the longest stretch of rep speech with no customer speech in between;
  consecutive rep utterances (pauses or 'unknown' speech between them) merge into one
  monologue, measured from its first start to its last end. 0 when the rep never speaks.
- rep_questions_per_min: question marks in rep utterances per minute of call.
- switches_per_min: rep<->customer turn changes per minute (interactivity); 'unknown' turns are
  skipped, so rep, unknown, rep is no switch.
- patience_s: mean pause before the rep answers: a rep turn's start minus the end of the
  customer turn just before it, over the answers where that is positive (interruptions, which
  are negative, are not patience). NaN when the rep never answers after a pause.
- <behaviour>_count, <behaviour>_first_s, <behaviour>_first_frac: distinct utterances showing
  the behaviour, and when the first one starts (seconds, and as a fraction of duration_s).
  Which speakers count is the behaviour's scope: any speaker for the behaviours in
  `any_speaker` (price_mention by default), the rep for every other behaviour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from talktracks.analysis.load import Dataset

REP, CUSTOMER, UNKNOWN = 0, 1, 2  # category codes of load.SPEAKERS
DEFAULT_ANY_SPEAKER: tuple[str, ...] = ("price_mention",)
"""Behaviours that count whoever says them; every other behaviour counts for the rep only."""

METRIC_COLUMNS: tuple[str, ...] = (
    "duration_s",
    "rep_talk_ratio",
    "longest_monologue_s",
    "rep_questions_per_min",
    "switches_per_min",
    "patience_s",
)


def behaviour_names(ds: Dataset, behaviours: Iterable[str] | None = None) -> list[str]:
    """Behaviours to analyse: the given ones (in that order), then any others found in tags.

    The taxonomy grows as data, so nothing here lists behaviours by name; a behaviour passed in
    but never tagged still gets its (all-zero) columns, which makes 'never seen' visible.
    """
    given = list(dict.fromkeys(behaviours or ()))
    present = sorted(set(ds.tags["behaviour"].unique()) - set(given))
    return given + present


def call_durations(ds: Dataset) -> np.ndarray:
    """Duration in seconds of each call in `ds.calls` order (see module doc)."""
    n = len(ds.calls)
    last_end = np.full(n, np.nan)
    if len(ds.utterances):
        codes = ds.call_codes
        ends = pd.Series(ds.utterances["end"].to_numpy()).groupby(codes).max()
        last_end[ends.index.to_numpy()] = ends.to_numpy()
    return np.fmax(ds.calls["duration"].to_numpy(dtype=float), last_end)


def scoped_tags(ds: Dataset, any_speaker: Iterable[str] = DEFAULT_ANY_SPEAKER) -> pd.DataFrame:
    """Tags that count for their behaviour's scope, one row per (utterance, behaviour).

    Out: columns call (row in ds.calls), utterance_id, behaviour, speaker, start. Several tags
    for the same utterance and behaviour (two model versions, rule and model) count once.
    """
    t = ds.tags
    anyone = t["behaviour"].isin(list(any_speaker)).to_numpy()
    keep = anyone | (t["speaker"].cat.codes.to_numpy() == REP)
    t = t[keep].drop_duplicates(["utterance_id", "behaviour"])
    return pd.DataFrame(
        {
            "call": t["call_id"].cat.codes.to_numpy(),
            "utterance_id": t["utterance_id"].to_numpy(),
            "behaviour": t["behaviour"].to_numpy(),
            "speaker": t["speaker"].to_numpy(),
            "start": t["start"].to_numpy(),
        }
    )


def rep_first_occurrences(ds: Dataset, behaviours: Sequence[str] | None = None) -> pd.DataFrame:
    """When the rep first shows each behaviour in each call.

    Out: columns call (row in ds.calls), behaviour, first_s; one row per (call, behaviour) the
    rep showed, whatever the behaviour's scope (early price timing and talk tracks are about
    what the rep does).
    """
    t = ds.tags
    rep = t[t["speaker"].cat.codes.to_numpy() == REP]
    if behaviours is not None:
        rep = rep[rep["behaviour"].isin(list(behaviours))]
    out = (
        pd.DataFrame(
            {
                "call": rep["call_id"].cat.codes.to_numpy(),
                "behaviour": rep["behaviour"].to_numpy(),
                "first_s": rep["start"].to_numpy(),
            }
        )
        .groupby(["call", "behaviour"], sort=True, observed=True)["first_s"]
        .min()
        .reset_index()
    )
    return out


def _turn_metrics(ds: Dataset, n_calls: int) -> dict[str, np.ndarray]:
    """Monologue, switches and patience from the rep/customer turn sequence of every call."""
    u = ds.utterances
    spk = u["speaker"].cat.codes.to_numpy()
    rc = spk != UNKNOWN
    c = ds.call_codes[rc]
    s = spk[rc]
    st = u["start"].to_numpy()[rc]
    en = u["end"].to_numpy()[rc]
    mono = np.zeros(n_calls)
    switches = np.zeros(n_calls)
    patience = np.full(n_calls, np.nan)
    if c.size == 0:
        return {"longest_monologue_s": mono, "switches": switches, "patience_s": patience}

    # A turn ("run") starts wherever the call or the speaker changes; utterances are sorted by
    # call and start, so runs are contiguous slices.
    new_run = np.ones(c.size, dtype=bool)
    new_run[1:] = (c[1:] != c[:-1]) | (s[1:] != s[:-1])
    starts = np.flatnonzero(new_run)
    run_call = c[starts]
    run_spk = s[starts]
    run_start = np.minimum.reduceat(st, starts)
    run_end = np.maximum.reduceat(en, starts)

    rep_run = run_spk == REP
    lengths = pd.Series(run_end[rep_run] - run_start[rep_run]).groupby(run_call[rep_run]).max()
    mono[lengths.index.to_numpy()] = lengths.to_numpy()

    same_call = np.zeros(starts.size, dtype=bool)
    same_call[1:] = run_call[1:] == run_call[:-1]
    switches = np.bincount(run_call[same_call], minlength=n_calls).astype(float)

    # A rep run right after a run in the same call is an answer to the customer run before it.
    answer = same_call & rep_run
    idx = np.flatnonzero(answer)
    gap = run_start[idx] - run_end[idx - 1]
    pos = gap > 0
    total = np.bincount(run_call[idx][pos], weights=gap[pos], minlength=n_calls)
    count = np.bincount(run_call[idx][pos], minlength=n_calls)
    with np.errstate(invalid="ignore", divide="ignore"):
        patience = np.where(count > 0, total / count, np.nan)
    return {"longest_monologue_s": mono, "switches": switches, "patience_s": patience}


def call_metrics(
    ds: Dataset,
    behaviours: Iterable[str] | None = None,
    any_speaker: Iterable[str] = DEFAULT_ANY_SPEAKER,
) -> pd.DataFrame:
    """Conversation metrics for every analysed call (definitions in the module docstring).

    In: a Dataset; optional behaviour names to include even if never tagged; the behaviours
    that count for any speaker. Out: one row per call in `ds.calls` order with call_id, rep_id,
    deal_id, started_at, n_utterances, METRIC_COLUMNS, then <b>_count, <b>_first_s,
    <b>_first_frac for each behaviour.
    """
    calls = ds.calls
    n = len(calls)
    u = ds.utterances
    codes = ds.call_codes
    spk = u["speaker"].cat.codes.to_numpy()
    length = np.clip(u["end"].to_numpy() - u["start"].to_numpy(), 0, None)
    duration = call_durations(ds)
    with np.errstate(invalid="ignore", divide="ignore"):
        minutes = np.where(duration > 0, duration / 60.0, np.nan)

    rep_time = np.bincount(codes[spk == REP], weights=length[spk == REP], minlength=n)
    cust_time = np.bincount(codes[spk == CUSTOMER], weights=length[spk == CUSTOMER], minlength=n)
    rep_q = np.bincount(
        codes[spk == REP], weights=u["n_questions"].to_numpy()[spk == REP], minlength=n
    )
    turns = _turn_metrics(ds, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        talk_ratio = np.where(rep_time + cust_time > 0, rep_time / (rep_time + cust_time), np.nan)
        out = pd.DataFrame(
            {
                "call_id": calls["call_id"].array,
                "rep_id": calls["rep_id"].array,
                "deal_id": calls["deal_id"].array,
                # .array keeps the UTC dtype (to_numpy would give objects for tz-aware data).
                "started_at": calls["started_at"].array,
                "n_utterances": np.bincount(codes, minlength=n),
                "duration_s": duration,
                "rep_talk_ratio": talk_ratio,
                "longest_monologue_s": turns["longest_monologue_s"],
                "rep_questions_per_min": rep_q / minutes,
                "switches_per_min": turns["switches"] / minutes,
                "patience_s": turns["patience_s"],
            }
        )

    names = behaviour_names(ds, behaviours)
    t = scoped_tags(ds, any_speaker)
    agg = t.groupby(["call", "behaviour"], observed=True).agg(
        count=("utterance_id", "size"), first_s=("start", "min")
    )
    cols: dict[str, np.ndarray] = {}
    for b in names:
        # One column block per behaviour: a loop over behaviours (a handful), not over rows.
        count = np.zeros(n, dtype=np.int64)
        first = np.full(n, np.nan)
        if b in agg.index.get_level_values("behaviour"):
            part = agg.xs(b, level="behaviour")
            idx = part.index.to_numpy()
            count[idx] = part["count"].to_numpy()
            first[idx] = part["first_s"].to_numpy()
        cols[f"{b}_count"] = count
        cols[f"{b}_first_s"] = first
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[f"{b}_first_frac"] = np.where(duration > 0, first / duration, np.nan)
    if cols:
        out = pd.concat([out, pd.DataFrame(cols, index=out.index)], axis=1)
    return out
