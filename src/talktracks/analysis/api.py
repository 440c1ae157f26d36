"""The analysis as plain functions returning DataFrames, for notebooks, tests and the nightly run.

Every function takes a `source`: a database URL, an opened Store, or an already loaded Dataset
(tests and the benchmark skip the database that way). `analyze` runs everything once and
returns all tables together; the single-table functions are conveniences over the same code.

    >>> from talktracks import analysis
    >>> analysis.effects("sqlite:///talktracks-data/talktracks.db")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from talktracks.analysis.adoption import (
    behaviour_adoption,
    example_calls,
    monthly_trend,
    track_examples,
)
from talktracks.analysis.effects import (
    ALONE,
    INSUFFICIENT,
    JOINT,
    REP_CONTROLS,
    SIGNIFICANCE,
    control_matrix,
    resolve_rep_control,
)
from talktracks.analysis.effects import effects as _effects
from talktracks.analysis.features import deal_features as _deal_features
from talktracks.analysis.features import price_timing
from talktracks.analysis.kpis import call_times, hour_slot_win_rates
from talktracks.analysis.kpis import rep_kpis as _rep_kpis
from talktracks.analysis.labels import headline
from talktracks.analysis.load import Dataset, load_dataset
from talktracks.analysis.metrics import DEFAULT_ANY_SPEAKER, behaviour_names
from talktracks.analysis.metrics import call_metrics as _call_metrics
from talktracks.analysis.top import MIN_CLOSED_DEALS, TopPerformers
from talktracks.analysis.top import top_performers as _top_performers
from talktracks.analysis.tracks import call_tracks
from talktracks.analysis.tracks import talk_tracks as _talk_tracks
from talktracks.errors import ConfigError
from talktracks.store import Store

Source = str | Store | Dataset


@dataclass(frozen=True)
class AnalysisOptions:
    """Choices that change the numbers. Defaults are what `talktracks analyze` uses.

    - behaviours: behaviour names to include even if never tagged (all tagged ones are always
      included).
    - any_speaker: behaviours that count whoever says them; the rest count for the rep only.
    - rep_control: see effects.REP_CONTROLS.
    - min_deals: fewest deals on each side of a feature (and per talk track) to report a number.
    - controls: CRM attribute columns (e.g. "segment") to add as categorical controls.
    - tz: IANA time zone for weekday and hour of calls.
    - early_fraction: "early" price mention = within this fraction of the call.
    - min_closed_per_rep: closed deals a rep needs to be ranked among top performers.
    """

    behaviours: tuple[str, ...] = ()
    any_speaker: tuple[str, ...] = DEFAULT_ANY_SPEAKER
    rep_control: str = "auto"
    min_deals: int = 10
    controls: tuple[str, ...] = ()
    tz: str = "UTC"
    early_fraction: float = 0.25
    min_closed_per_rep: int = MIN_CLOSED_DEALS

    def validate(self) -> None:
        """Raise ConfigError (one line) for a setting that cannot work."""
        if self.rep_control not in REP_CONTROLS:
            raise ConfigError(
                f"rep control {self.rep_control!r} is not one of {', '.join(REP_CONTROLS)}"
            )
        if self.min_deals < 1:
            raise ConfigError(f"min_deals must be at least 1, not {self.min_deals}")
        if not 0 < self.early_fraction < 1:
            raise ConfigError(f"early_fraction must be between 0 and 1, not {self.early_fraction}")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"unknown time zone {self.tz!r}; use an IANA name such as Europe/Berlin"
            ) from exc


@dataclass
class AnalysisSummary:
    """Sample sizes and the headline outcome of one analysis run (JSON-friendly).

    `sufficient` is False when there are too few won or lost deals to estimate any effect;
    `message` says so in one plain sentence either way. `out_dir` and `files` are filled in
    by refresh_analysis.
    """

    computed_at: str
    n_calls_analysed: int
    n_calls_not_analysed: int
    n_calls_unlinked: int
    n_deals: int
    n_deals_with_calls: int
    n_won: int
    n_lost: int
    n_open: int
    n_closed_deals_without_calls: int
    n_reps: int
    rep_control: str
    controls: list[str]
    min_deals: int
    n_features: int
    n_estimated: int
    n_insufficient: int
    n_significant: int
    sufficient: bool
    message: str
    tz: str = "UTC"
    first_call_at: str | None = None
    last_call_at: str | None = None
    model: str = JOINT
    model_note: str = ""
    headline: str = ""
    top_performers_message: str = ""
    n_synthetic_deals: int = 0
    synthetic_note: str = ""
    out_dir: str | None = None
    files: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        """One line for logs and the nightly flow's task result."""
        where = f"; wrote {len(self.files)} files to {self.out_dir}" if self.out_dir else ""
        return (
            f"{self.message} {self.n_calls_analysed} calls ({self.n_calls_unlinked} unlinked), "
            f"{self.n_won} won / {self.n_lost} lost / {self.n_open} open deals{where}"
        )


@dataclass
class AnalysisResults:
    """Every table of one run plus its summary."""

    call_metrics: pd.DataFrame
    deal_features: pd.DataFrame
    effects: pd.DataFrame
    tracks: pd.DataFrame
    rep_kpis: pd.DataFrame
    call_times: pd.DataFrame
    hour_slots: pd.DataFrame
    price_timing: pd.DataFrame
    summary: AnalysisSummary
    top_performers: pd.DataFrame = field(default_factory=pd.DataFrame)
    top_reps: pd.DataFrame = field(default_factory=pd.DataFrame)
    behaviour_adoption: pd.DataFrame = field(default_factory=pd.DataFrame)
    monthly_trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    example_calls: pd.DataFrame = field(default_factory=pd.DataFrame)
    track_examples: dict[str, list[str]] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Name -> table, the names used for files and stored results."""
        return {
            "effects": self.effects,
            "tracks": self.tracks,
            "rep_kpis": self.rep_kpis,
            "call_metrics": self.call_metrics,
            "deal_features": self.deal_features,
            "call_times": self.call_times,
            "hour_slots": self.hour_slots,
            "price_timing": self.price_timing,
            "top_performers": self.top_performers,
            "top_reps": self.top_reps,
            "behaviour_adoption": self.behaviour_adoption,
            "monthly_trend": self.monthly_trend,
            "example_calls": self.example_calls,
        }


def as_dataset(source: Source) -> Dataset:
    """The Dataset for a URL, a Store, or a Dataset (returned as is)."""
    return source if isinstance(source, Dataset) else load_dataset(source)


class _Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 3)


def _iso(ts: Any) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).isoformat()


def analyze(
    source: Source,
    options: AnalysisOptions | None = None,
    stopwatch: _Stopwatch | None = None,
) -> AnalysisResults:
    """Run the whole analysis: metrics, KPIs, features, effects, tracks, price timing.

    In: a source and options. Out: AnalysisResults; summary.stage_seconds times each stage
    (load is included when the source is not already a Dataset).
    """
    opt = options or AnalysisOptions()
    opt.validate()
    watch = stopwatch or _Stopwatch()
    with watch.stage("load"):
        ds = as_dataset(source)
    missing = [c for c in opt.controls if c not in ds.deals.columns]
    if missing:
        known = [
            c for c in ds.deals.columns if c not in ("deal_id", "outcome", "amount", "closed_at")
        ]
        raise ConfigError(
            f"control {missing[0]!r} is not a deal attribute (known: {', '.join(known) or 'none'})"
        )
    names = behaviour_names(ds, opt.behaviours)
    with watch.stage("metrics"):
        cm = _call_metrics(ds, names, opt.any_speaker)
    with watch.stage("kpis"):
        kp = _rep_kpis(ds, cm, opt.tz)
        ct = call_times(ds, opt.tz)
        hs = hour_slot_win_rates(ds, opt.tz)
    with watch.stage("features"):
        df = _deal_features(ds, cm, names, opt.any_speaker, opt.early_fraction)
        pt = price_timing(df)
    with watch.stage("effects"):
        ef = _effects(
            df, rep_control=opt.rep_control, min_deals=opt.min_deals, controls=opt.controls
        )
    with watch.stage("tracks"):
        tr = _talk_tracks(ds, names, opt.min_deals)
        tex = track_examples(call_tracks(ds, names), cm) if len(cm) else {}
    with watch.stage("team"):
        top = _top_performers(ds, cm, df, kp, names, opt.tz, opt.min_closed_per_rep)
        adoption = behaviour_adoption(cm, names)
        trend = monthly_trend(ds, cm, names, opt.tz)
        examples = example_calls(ds, cm, names)
    summary = _summarise(ds, cm, df, ef, opt, top)
    summary.stage_seconds = watch.seconds
    return AnalysisResults(
        call_metrics=cm,
        deal_features=df,
        effects=ef,
        tracks=tr,
        rep_kpis=kp,
        call_times=ct,
        hour_slots=hs,
        price_timing=pt,
        summary=summary,
        top_performers=top.comparison,
        top_reps=top.ranking,
        behaviour_adoption=adoption,
        monthly_trend=trend,
        example_calls=examples,
        track_examples=tex,
    )


SYNTHETIC_ORIGIN = "synthetic-demo"
"""A deal whose CRM column data_origin has this value is demo data (talktracks.demo)."""


def _summarise(
    ds: Dataset,
    cm: pd.DataFrame,
    df: pd.DataFrame,
    ef: pd.DataFrame,
    opt: AnalysisOptions,
    top: TopPerformers | None = None,
) -> AnalysisSummary:
    known = set(ds.deals["deal_id"])
    unlinked = int((~cm["deal_id"].isin(known)).sum())
    outcome = df["outcome"] if len(df) else pd.Series(dtype=str)
    n_won, n_lost = int((outcome == "won").sum()), int((outcome == "lost").sum())
    closed_deals = ds.deals[ds.deals["outcome"].isin(["won", "lost"])]
    closed = df[df["won"].notna()]
    rep_control = resolve_rep_control(closed, opt.rep_control) if len(closed) else "none"
    _, control_names = control_matrix(closed, opt.controls) if len(closed) else (None, [])
    estimated = ef["odds_ratio"].notna()
    significant = int((ef["q_value"] < SIGNIFICANCE).sum())
    sufficient = n_won >= opt.min_deals and n_lost >= opt.min_deals
    if not sufficient:
        message = (
            f"Insufficient data: {n_won} won and {n_lost} lost deals have analysed calls; at least "
            f"{opt.min_deals} of each are needed before any effect is estimated."
        )
    elif not estimated.any():
        message = (
            f"Insufficient data: no feature has at least {opt.min_deals} closed deals both with "
            "and without it, so no effect is estimated."
        )
    else:
        message = (
            f"Effects estimated for {int(estimated.sum())} of {len(ef)} features; {significant} "
            "differ from no effect after Benjamini-Hochberg correction (q < 0.05)."
        )
    kinds = set(ef["model"]) if len(ef) else set()
    model = JOINT if JOINT in kinds or not kinds else ALONE
    model_note = ""
    if model == ALONE and sufficient and estimated.any():
        notes = [n for n in ef["note"] if "joint model not estimable" in str(n)]
        reason = notes[0].split(";")[0] if notes else "joint model switched off"
        model_note = (
            f"Each feature was estimated on its own ({reason}), so the rows are not adjusted "
            "for each other."
        )
    sentence = headline(ef.to_dict("records")) if sufficient else None
    if sentence is None and sufficient and estimated.any():
        sentence = (
            "No behaviour clearly goes with winning or losing yet: none of the "
            f"{int(estimated.sum())} estimated features differs from no effect after correction "
            "for multiple testing (see the smallest detectable effects in the table)."
        )
    origin = ds.deals["data_origin"] if "data_origin" in ds.deals.columns else None
    n_syn = int((origin == SYNTHETIC_ORIGIN).sum()) if origin is not None else 0
    synthetic_note = (
        f"Demo data: {n_syn} of {int(ds.deals['deal_id'].nunique())} deals and their calls are "
        "synthetic, generated by talktracks.demo with planted effects; they are not real "
        "customers or reps."
        if n_syn
        else ""
    )
    if synthetic_note:
        message = f"{synthetic_note} {message}"
    started = cm["started_at"].dropna() if len(cm) else pd.Series(dtype="datetime64[ns, UTC]")
    return AnalysisSummary(
        computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        n_calls_analysed=len(cm),
        n_calls_not_analysed=ds.n_calls_not_analysed,
        n_calls_unlinked=unlinked,
        n_deals=int(ds.deals["deal_id"].nunique()),
        n_deals_with_calls=len(df),
        n_won=n_won,
        n_lost=n_lost,
        n_open=int((outcome == "open").sum()),
        n_closed_deals_without_calls=int((~closed_deals["deal_id"].isin(df["deal_id"])).sum()),
        n_reps=int(cm["rep_id"].nunique()) if len(cm) else 0,
        rep_control=rep_control,
        controls=list(control_names),
        min_deals=opt.min_deals,
        n_features=len(ef),
        n_estimated=int(estimated.sum()),
        n_insufficient=int((ef["status"] == INSUFFICIENT).sum()),
        n_significant=significant,
        sufficient=bool(sufficient and estimated.any()),
        message=message,
        tz=opt.tz,
        first_call_at=_iso(started.min()) if len(started) else None,
        last_call_at=_iso(started.max()) if len(started) else None,
        model=model,
        model_note=model_note,
        headline=sentence or "",
        top_performers_message=top.message if top is not None else "",
        n_synthetic_deals=n_syn,
        synthetic_note=synthetic_note,
    )


def call_metrics(
    source: Source,
    behaviours: Sequence[str] | None = None,
    any_speaker: Sequence[str] = DEFAULT_ANY_SPEAKER,
) -> pd.DataFrame:
    """Per-call conversation metrics (see metrics.call_metrics)."""
    return _call_metrics(as_dataset(source), behaviours, any_speaker)


def deal_features(
    source: Source,
    behaviours: Sequence[str] | None = None,
    any_speaker: Sequence[str] = DEFAULT_ANY_SPEAKER,
    early_fraction: float = 0.25,
) -> pd.DataFrame:
    """Per-deal features and outcome (see features.deal_features)."""
    ds = as_dataset(source)
    return _deal_features(ds, None, behaviours, any_speaker, early_fraction)


def effects(
    source: Source | pd.DataFrame,
    *,
    behaviours: Sequence[str] | None = None,
    rep_control: str = "auto",
    min_deals: int = 10,
    controls: Sequence[str] = (),
    any_speaker: Sequence[str] = DEFAULT_ANY_SPEAKER,
) -> pd.DataFrame:
    """Odds ratios of winning per feature; `source` may also be a deal_features frame.

    Out: effects.EFFECT_COLUMNS followed by effects.DETAIL_COLUMNS.
    """
    if isinstance(source, pd.DataFrame):
        feats = source
    else:
        feats = deal_features(source, behaviours, any_speaker)
    return _effects(feats, rep_control=rep_control, min_deals=min_deals, controls=controls)


def talk_tracks(
    source: Source, behaviours: Sequence[str] | None = None, min_deals: int = 10
) -> pd.DataFrame:
    """Win rate per talk track, ranked (see tracks.talk_tracks)."""
    return _talk_tracks(as_dataset(source), behaviours, min_deals)


def top_performers(
    source: Source, tz: str = "UTC", min_closed: int = MIN_CLOSED_DEALS
) -> pd.DataFrame:
    """Top quarter of reps by win rate vs the rest (see top.top_performers).

    Out: one row per measure (top.COMPARISON_COLUMNS); `attrs["message"]` says in plain words
    who was compared, or why there are too few reps, and `attrs["ranking"]` ranks the reps.
    """
    ds = as_dataset(source)
    names = behaviour_names(ds, None)
    cm = _call_metrics(ds, names)
    df = _deal_features(ds, cm, names)
    kp = _rep_kpis(ds, cm, tz)
    top = _top_performers(ds, cm, df, kp, names, tz, min_closed)
    out = top.comparison
    out.attrs["message"] = top.message
    out.attrs["ranking"] = top.ranking
    return out


def rep_adoption(source: Source) -> pd.DataFrame:
    """Per rep and behaviour: share of the rep's calls showing it, Wilson interval."""
    ds = as_dataset(source)
    names = behaviour_names(ds, None)
    return behaviour_adoption(_call_metrics(ds, names), names)


def behaviour_trend(source: Source, tz: str = "UTC") -> pd.DataFrame:
    """Per month: each behaviour's share of calls and the win rate of deals closed."""
    ds = as_dataset(source)
    names = behaviour_names(ds, None)
    return monthly_trend(ds, _call_metrics(ds, names), names, tz)


def rep_kpis(source: Source, tz: str = "UTC") -> pd.DataFrame:
    """Per-rep activity and outcome KPIs (see kpis.rep_kpis)."""
    return _rep_kpis(as_dataset(source), None, tz)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-safe records: NaN/NA -> None, timestamps -> ISO strings."""
    if df.empty:
        return []
    return json.loads(df.to_json(orient="records", date_format="iso", double_precision=12))


__all__ = [
    "AnalysisOptions",
    "AnalysisResults",
    "AnalysisSummary",
    "Source",
    "analyze",
    "as_dataset",
    "behaviour_trend",
    "call_metrics",
    "deal_features",
    "effects",
    "rep_kpis",
    "records",
    "rep_adoption",
    "talk_tracks",
    "top_performers",
]
