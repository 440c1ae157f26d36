"""Run the analysis against the store and publish it: CSV files, report.html, analysis_results.

`refresh_analysis(store, out_dir)` is the one call the nightly flow makes at its end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, insert

from talktracks.analysis.api import (
    AnalysisOptions,
    AnalysisResults,
    AnalysisSummary,
    _Stopwatch,
    analyze,
    records,
)
from talktracks.analysis.effects import EFFECT_COLUMNS
from talktracks.analysis.report import render_report
from talktracks.store import AnalysisResult, Store
from talktracks.store.models import utcnow

STORED_TABLES = (
    "effects",
    "tracks",
    "rep_kpis",
    "call_metrics",
    "call_times",
    "hour_slots",
    "price_timing",
    "top_performers",
    "top_reps",
    "behaviour_adoption",
    "monthly_trend",
)
"""Tables written to analysis_results (plus "summary"). deal_features stays a CSV: it is the
data scientists' input, not something the review app shows."""


def _write_atomic(path: Path, text: str) -> None:
    # Write then rename, so the review app or a browser never reads a half-written file.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_outputs(results: AnalysisResults, out_dir: Path | str) -> list[Path]:
    """Write the CSV files, summary.json and report.html into out_dir (created if needed).

    effects.csv holds exactly effects.EFFECT_COLUMNS; the status, intervals of the win rates
    and notes go to effects_detail.csv. Out: the paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def csv(name: str, df: pd.DataFrame) -> None:
        path = out / f"{name}.csv"
        _write_atomic(path, df.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S%z"))
        written.append(path)

    ef = results.effects
    csv("effects", ef[EFFECT_COLUMNS])
    csv("effects_detail", ef)
    for name, df in results.tables().items():
        if name != "effects":
            csv(name, df)
    summary_path = out / "summary.json"
    written.append(summary_path)
    report_path = out / "report.html"
    written.append(report_path)
    results.summary.out_dir = str(out)
    results.summary.files = [p.name for p in written]
    _write_atomic(summary_path, json.dumps(results.summary.to_dict(), indent=2))
    _write_atomic(report_path, render_report(results))
    return written


def store_results(store: Store, results: AnalysisResults) -> None:
    """Replace the analysis_results rows (one per table, JSON records) in one transaction."""
    now = utcnow()
    rows = [
        {"name": name, "computed_at": now, "payload": records(df)}
        for name, df in results.tables().items()
        if name in STORED_TABLES
    ]
    rows.append({"name": "summary", "computed_at": now, "payload": results.summary.to_dict()})
    with store.session() as s:
        s.execute(delete(AnalysisResult).where(AnalysisResult.name.in_([r["name"] for r in rows])))
        s.execute(insert(AnalysisResult), rows)


def refresh_analysis(
    store: Store, out_dir: Path | str, options: AnalysisOptions | None = None
) -> AnalysisSummary:
    """Load the store, compute every table, write out_dir and replace stored results.

    In: an opened Store, the output folder, options (defaults: AnalysisOptions()). Out: the
    run's AnalysisSummary with out_dir, files and stage_seconds (load, metrics, kpis, features,
    effects, tracks, report, store). Never raises for too little data: that is a summary with
    sufficient=False and a plain message.
    """
    watch = _Stopwatch()
    results = analyze(store, options, stopwatch=watch)
    with watch.stage("report"):
        write_outputs(results, out_dir)
    with watch.stage("store"):
        store_results(store, results)
    results.summary.stage_seconds = watch.seconds
    # summary.json was written before the last two timings existed; rewrite it complete.
    _write_atomic(Path(out_dir) / "summary.json", json.dumps(results.summary.to_dict(), indent=2))
    return results.summary


def load_stored_results(store: Store) -> dict[str, object]:
    """The stored tables as {name: payload} (records, or the summary dict), for the review app."""
    from sqlalchemy import select

    with store.session() as s:
        return {r.name: r.payload for r in s.scalars(select(AnalysisResult))}
