"""The report renders in degenerate cases, escapes all text and needs no network."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from synthetic import generate
from talktracks.analysis import AnalysisOptions, analyze, render_report, render_team_charts
from talktracks.analysis.api import records
from talktracks.analysis.refresh import write_outputs


def assert_self_contained(html: str) -> None:
    # The only URL allowed is the SVG namespace; no scripts, stylesheets or images to fetch.
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert "<script" not in html.lower()


def test_report_with_zero_won_deals_says_insufficient(tmp_path: Path) -> None:
    syn = generate(1, n_deals=200, n_reps=4, utterances_per_call=6)
    syn.deals.loc[syn.deals["outcome"] == "won", "outcome"] = "lost"
    results = analyze(syn.dataset())
    assert not results.summary.sufficient and "Insufficient data: 0 won" in results.summary.message
    assert results.effects["odds_ratio"].isna().all()
    html = render_report(results)
    assert "Insufficient data" in html and "No odds ratios could be estimated" in html
    assert_self_contained(html)
    files = write_outputs(results, tmp_path)
    assert {p.name for p in files} >= {"effects.csv", "report.html", "tracks.csv"}


def test_report_with_one_rep_and_no_amounts() -> None:
    syn = generate(2, n_deals=300, n_reps=1, with_amounts=False, utterances_per_call=6)
    results = analyze(syn.dataset())
    s = results.summary
    assert s.n_reps == 1 and s.rep_control == "none" and "log_amount" not in s.controls
    assert s.sufficient
    html = render_report(results)
    assert "Odds ratio of winning" in html
    assert_self_contained(html)


def test_report_with_no_calls_at_all() -> None:
    syn = generate(3, n_deals=50, utterances_per_call=6)
    ds = syn.dataset()
    ds.calls = ds.calls.iloc[0:0]
    ds.utterances = ds.utterances.iloc[0:0]
    ds.tags = ds.tags.iloc[0:0]
    results = analyze(ds)
    assert results.summary.n_calls_analysed == 0 and not results.summary.sufficient
    assert_self_contained(render_report(results))


def test_all_text_is_escaped() -> None:
    syn = generate(4, n_deals=300, n_reps=3, utterances_per_call=6)
    evil = "<script>alert('x')</script>"
    syn.calls.loc[syn.calls["rep_id"] == "rep000", "rep_id"] = evil
    syn.tags.loc[syn.tags["behaviour"] == "competitor_mention", "behaviour"] = "<b>bold</b>"
    html = render_report(analyze(syn.dataset()))
    assert evil not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert_self_contained(html)


def test_team_charts_render_from_stored_json_records() -> None:
    results = analyze(generate(5, n_deals=400, utterances_per_call=6).dataset())
    stored = {name: records(df) for name, df in results.tables().items()}
    stored["summary"] = results.summary.to_dict()
    charts = render_team_charts(stored)
    assert set(charts) == {
        "forest",
        "price_timing",
        "hour_slots",
        "calls_heatmap",
        "win_rate_heatmap",
    }
    for svg in charts.values():
        assert svg.startswith("<svg") and svg.endswith("</svg>")
    # Same numbers whether drawn from DataFrames or from the stored records.
    direct = render_team_charts({**results.tables(), "summary": results.summary.to_dict()})
    assert direct == charts
    assert render_team_charts({})["forest"].startswith("<svg")


def test_options_are_validated() -> None:
    ds = generate(6, n_deals=50, utterances_per_call=4).dataset()
    from talktracks.errors import ConfigError

    with pytest.raises(ConfigError, match="time zone"):
        analyze(ds, AnalysisOptions(tz="Mars/Olympus"))
    with pytest.raises(ConfigError, match="not a deal attribute"):
        analyze(ds, AnalysisOptions(controls=("planet",)))
    results = analyze(ds, AnalysisOptions(controls=("segment",), min_deals=5))
    assert np.isfinite(results.effects["win_rate_with"]).any()
