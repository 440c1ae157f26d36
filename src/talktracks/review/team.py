"""The team page's data: stored analysis results (never recomputed here) and label freshness.

Numbers come from analysis_results, the tables report.html is rendered from, and the charts
are the report's own (talktracks.analysis.render_team_charts).
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select

from talktracks.errors import ModelNotFound
from talktracks.review.calllist import NO_TRACK, TRACK_ARROW
from talktracks.store import AnalysisResult, Label, Store

RESULT_NAMES = ("rep_kpis", "effects", "tracks")
CHARTS_FROM = ("effects", "price_timing", "hour_slots", "call_times", "summary")
CHART_TITLES = {
    "forest": "Odds ratio of winning per deal feature, with 95% intervals",
    "price_timing": "Win rate by when the rep first raised price",
    "hour_slots": "Win rate by hour of the call",
    "calls_heatmap": "Calls by weekday and hour",
    "win_rate_heatmap": "Win rate by weekday and hour",
}
TITLES = {"rep_kpis": "Rep KPIs", "effects": "What goes with winning", "tracks": "Talk tracks"}
SHOWN_COLUMNS: dict[str, tuple[str, ...]] = {
    # The columns a coach reads; report.html and the CSVs have the rest.
    "rep_kpis": (
        "rep_id",
        "n_calls",
        "n_won",
        "n_lost",
        "win_rate",
        "calls_per_week",
        "mean_call_duration_min",
        "mean_rep_talk_ratio",
        "mean_longest_monologue_s",
    ),
    "effects": (
        "feature",
        "n_with",
        "n_without",
        "win_rate_with",
        "win_rate_without",
        "odds_ratio",
        "ci_low",
        "ci_high",
        "q_value",
        "status",
    ),
    "tracks": ("rank", "track", "n_calls", "n_deals", "n_won", "win_rate", "ci_low", "ci_high"),
}
PERCENT_COLUMNS: dict[str, frozenset[str]] = {
    "rep_kpis": frozenset({"win_rate", "win_rate_low", "win_rate_high", "mean_rep_talk_ratio"}),
    "effects": frozenset({"win_rate_with", "win_rate_without"}),
    "tracks": frozenset({"win_rate", "ci_low", "ci_high"}),
}


@dataclass(frozen=True)
class Table:
    """A stored analysis result as rows of display strings."""

    name: str
    computed_at: datetime
    columns: list[str]
    rows: list[list[str]]
    # Per cell, the call list behind a count (None: no filter reproduces that number).
    links: list[list[str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Chart:
    """An SVG chart as a data: URL for an <img>, so it can neither run script nor need inline
    styles (the page's CSP allows neither); `alt` describes it."""

    alt: str
    src: str


@dataclass(frozen=True)
class LabelFreshness:
    model_version: str | None
    trained_at: datetime | None
    new_labels: int
    total_coach_labels: int


@dataclass(frozen=True)
class TeamPage:
    tables: dict[str, Table]
    charts: list[Chart]
    labels: LabelFreshness
    summary: str


def _records(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict) and isinstance(payload.get("records"), list):
        payload = payload["records"]
    return [r for r in payload if isinstance(r, dict)] if isinstance(payload, list) else []


def _cell(value: Any, percent: bool) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if percent:
        return f"{value:.0%}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


_BEHAVIOUR_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _filterable_track(track: str) -> bool:
    """A track the call list can filter on: behaviour ids joined by arrows, or no behaviour.
    Not "other" (it pools small tracks) nor a label the call list would not recognise."""
    if track == NO_TRACK:
        return True
    if not track or track == "other":
        return False
    return all(_BEHAVIOUR_ID.match(p) for p in track.split(TRACK_ARROW))


def drill_link(table: str, record: dict[str, Any], column: str) -> str | None:
    """The /calls list behind a count on the team page: a rep's calls, the calls of their won
    or lost deals; the calls of closed deals with or without a behaviour (has_<behaviour>
    features count deals where some call shows it); the calls following a talk track (its
    closed or won deals are the distinct deals of that list). Counts with no matching filter
    (the pooled "other" track, derived features) get no link rather than a wrong one."""
    params: dict[str, str] | None = None
    if table == "rep_kpis" and record.get("rep_id"):
        rep = str(record["rep_id"])
        params = {
            "n_calls": {"rep": rep},
            "n_won": {"rep": rep, "outcome": "won"},
            "n_lost": {"rep": rep, "outcome": "lost"},
        }.get(column)
    elif table == "effects" and str(record.get("feature", "")).startswith("has_"):
        behaviour = str(record["feature"])[4:]
        params = {
            "n_with": {"has": behaviour, "scope": "deal", "outcome": "closed"},
            "n_without": {"lacks": behaviour, "scope": "deal", "outcome": "closed"},
        }.get(column)
    elif table == "tracks" and _filterable_track(str(record.get("track", ""))):
        track = str(record["track"])
        params = {
            "n_calls": {"track": track},
            "n_deals": {"track": track, "outcome": "closed"},
            "n_won": {"track": track, "outcome": "won"},
        }.get(column)
    return f"/calls?{urlencode(params)}" if params else None


def _chart(markup: str, alt: str) -> Chart:
    return Chart(alt, "data:image/svg+xml;base64," + base64.b64encode(markup.encode()).decode())


def charts(stored: dict[str, Any]) -> list[Chart]:
    """The report's charts (analysis.render_team_charts) for the stored results."""
    if not any(name in stored for name in CHARTS_FROM):
        return []
    from talktracks.analysis import render_team_charts  # pandas/statsmodels: load on first use

    svgs = render_team_charts({k: v for k, v in stored.items() if k in CHARTS_FROM})
    estimated = any(
        isinstance(r, dict) and r.get("odds_ratio") is not None
        for r in _records(stored.get("effects"))
    )
    return [
        _chart(svgs[key], alt)
        for key, alt in CHART_TITLES.items()
        if key in svgs and (key != "forest" or estimated)
    ]


def current_model(models_dir: Path) -> tuple[str | None, datetime | None]:
    """(version, creation time) of the current behaviour model, from the model registry and
    its model card; (None, None) when no model has been promoted yet."""
    from talktracks.behaviours.registry import ModelRegistry  # sklearn/skops: load on first use

    registry = ModelRegistry.under(models_dir)
    try:
        version = registry.current_version()
    except OSError:
        return None, None
    if version is None:
        return None, None
    try:
        created = datetime.fromisoformat(str(registry.card(version).get("created_at")))
    except (ModelNotFound, ValueError):
        return version, None  # a card without a readable time: every coach label counts as new
    return version, created if created.tzinfo else created.replace(tzinfo=UTC)


def load_team_page(store: Store, models_dir: Path) -> TeamPage:
    version, trained_at = current_model(models_dir)
    from talktracks.analysis import load_stored_results

    stored = load_stored_results(store)
    with store.session() as s:
        computed = dict(
            s.execute(
                select(AnalysisResult.name, AnalysisResult.computed_at).where(
                    AnalysisResult.name.in_(RESULT_NAMES)
                )
            ).all()
        )
        coach = select(func.count()).select_from(Label).where(Label.origin == "coach")
        total = s.scalar(coach) or 0
        new = (
            total
            if trained_at is None
            else s.scalar(coach.where(Label.created_at > trained_at)) or 0
        )
    tables: dict[str, Table] = {}
    for name in RESULT_NAMES:
        if name in stored:
            records = _records(stored[name])
            present = list(dict.fromkeys(k for r in records for k in r))
            columns = [c for c in SHOWN_COLUMNS[name] if c in present] or present
            pct = PERCENT_COLUMNS[name]
            rows = [[_cell(r.get(c), c in pct) for c in columns] for r in records]
            links = [[drill_link(name, r, c) for c in columns] for r in records]
            tables[name] = Table(name, computed[name], columns, rows, links)
    summary = stored.get("summary")
    message = str(summary.get("message", "")) if isinstance(summary, dict) else ""
    return TeamPage(
        tables, charts(stored), LabelFreshness(version, trained_at, new, total), message
    )
