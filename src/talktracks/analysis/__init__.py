"""Which talk tracks win: call metrics, rep KPIs, deal features, effects, talk tracks, report.

Public entry points:
- DataFrame API (source = database URL, Store or Dataset): call_metrics, deal_features,
  effects, talk_tracks, rep_kpis, top_performers, rep_adoption, behaviour_trend,
  and analyze (everything at once).
- refresh_analysis(store, out_dir): what the nightly flow calls; writes CSVs, report.html and
  the analysis_results rows.
- render_team_charts(tables): inline-SVG charts for the review app, from stored results.
"""

from talktracks.analysis.api import (
    AnalysisOptions,
    AnalysisResults,
    AnalysisSummary,
    analyze,
    behaviour_trend,
    call_metrics,
    deal_features,
    effects,
    rep_adoption,
    rep_kpis,
    talk_tracks,
    top_performers,
)
from talktracks.analysis.load import Dataset, load_dataset
from talktracks.analysis.refresh import load_stored_results, refresh_analysis, write_outputs
from talktracks.analysis.report import render_report, render_team_charts

__all__ = [
    "AnalysisOptions",
    "AnalysisResults",
    "AnalysisSummary",
    "Dataset",
    "analyze",
    "behaviour_trend",
    "call_metrics",
    "deal_features",
    "effects",
    "load_dataset",
    "load_stored_results",
    "refresh_analysis",
    "render_report",
    "render_team_charts",
    "rep_adoption",
    "rep_kpis",
    "talk_tracks",
    "top_performers",
    "write_outputs",
]
