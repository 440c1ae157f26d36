"""The self-contained HTML report, and the charts the review app embeds.

The report needs no network: styles are inline and charts are inline SVG (analysis.svg). Every
piece of text that comes from data (behaviour names, rep ids, track names, notes) goes through
html.escape.

`render_team_charts` works from the same tables stored in `analysis_results` (DataFrames or the
stored JSON records), so the review app shows exactly the numbers of the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from talktracks.analysis.api import AnalysisResults, AnalysisSummary
from talktracks.analysis.effects import SIGNIFICANCE
from talktracks.analysis.kpis import WEEKDAYS
from talktracks.analysis.labels import feature_label, track_label
from talktracks.analysis.svg import (
    ForestRow,
    RateBar,
    empty_chart,
    forest_plot,
    heatmap,
    interval_bars,
)

HEATMAP_MIN_CLOSED_CALLS = 5
"""A weekday x hour cell needs this many calls on closed deals before its win rate is shown."""

REP_CONTROL_TEXT = {
    "fixed": "rep fixed effects (each feature compared within reps)",
    "conditional": "conditional logit by rep (within-rep comparison for reps with few deals)",
    "cluster": "none on the estimate; rep-clustered standard errors",
    "none": "none (one rep, or switched off)",
}

CAUTION = (
    "These are associations, not proof of cause. Reps choose what to say based on how a deal is "
    "going, and the controls (rep, deal size, number of calls) cannot remove every difference "
    "between deals. Use the numbers to pick what to test and coach, not as guarantees."
)


def _frame(table: pd.DataFrame | Sequence[Mapping[str, Any]] | None) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame()
    return table if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _e(v: Any) -> str:
    return escape("" if v is None else str(v), quote=True)


def _pct(v: Any) -> str:
    f = _num(v)
    return "–" if not math.isfinite(f) else f"{f:.0%}"


def _ratio(v: Any) -> str:
    f = _num(v)
    if math.isnan(f):
        return "–"
    return "∞" if math.isinf(f) else f"{f:.2f}"


def _p(v: Any) -> str:
    f = _num(v)
    if not math.isfinite(f):
        return "–"
    return "<0.001" if f < 0.001 else f"{f:.3f}"


def _fixed(digits: int) -> Callable[[Any], str]:
    def fmt(v: Any) -> str:
        f = _num(v)
        return "–" if not math.isfinite(f) else f"{f:,.{digits}f}"

    return fmt


def _interval(rate: Any, low: Any, high: Any) -> str:
    if not math.isfinite(_num(rate)):
        return "–"
    return f"{_pct(rate)} [{_pct(low)}, {_pct(high)}]"


# --- charts (shared with the review app) -------------------------------------------------


def forest_chart(effects: pd.DataFrame | Sequence[Mapping[str, Any]]) -> str:
    """Forest plot of the estimated odds ratios; significant (q < 0.05) rows highlighted."""
    ef = _frame(effects)
    if ef.empty or "odds_ratio" not in ef:
        return empty_chart("No odds ratios could be estimated")
    rows = [
        ForestRow(
            label=str(r.get("label") or feature_label(str(r["feature"]))),
            estimate=_num(r["odds_ratio"]),
            low=_num(r["ci_low"]),
            high=_num(r["ci_high"]),
            highlight=_num(r["q_value"]) < SIGNIFICANCE,
            note="*" if _num(r["q_value"]) < SIGNIFICANCE else "",
        )
        for r in ef.to_dict("records")
        if math.isfinite(_num(r["odds_ratio"]))
    ]
    return forest_plot(
        rows, "Odds ratio of winning, holding the other features fixed, 95% CI (* q < 0.05)"
    )


def price_timing_chart(
    price_timing: pd.DataFrame | Sequence[Mapping[str, Any]], overall: float | None = None
) -> str:
    """Win rate by when the rep first raised price, with Wilson intervals."""
    pt = _frame(price_timing)
    if pt.empty:
        return empty_chart("No price mentions are tracked")
    bars = [
        RateBar(
            str(r["label"]),
            _num(r["win_rate"]),
            _num(r["ci_low"]),
            _num(r["ci_high"]),
            int(r["n_deals"]),
        )
        for r in pt.to_dict("records")
    ]
    return interval_bars(bars, "Win rate by price timing (95% Wilson CI)", overall)


def hour_slot_chart(
    hour_slots: pd.DataFrame | Sequence[Mapping[str, Any]], overall: float | None = None
) -> str:
    """Win rate of deals with a call in each hour-of-day slot."""
    hs = _frame(hour_slots)
    if hs.empty:
        return empty_chart("No call times recorded")
    bars = [
        RateBar(
            str(r["slot"]),
            _num(r["win_rate"]),
            _num(r["ci_low"]),
            _num(r["ci_high"]),
            int(r["n_deals"]),
        )
        for r in hs.to_dict("records")
    ]
    return interval_bars(bars, "Win rate by hour of the call (95% Wilson CI)", overall)


def _grid(ct: pd.DataFrame, column: str) -> np.ndarray:
    grid = np.zeros((7, 24))
    if not ct.empty:
        s = ct.groupby(["weekday", "hour"])[column].sum()
        for (d, h), v in s.items():
            grid[int(d), int(h)] = v
    return grid


def heatmap_charts(call_times: pd.DataFrame | Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(calls heat map, win-rate heat map) over weekday x hour for the whole team.

    The win-rate cell is the share of calls on closed deals that belong to won deals; cells with
    fewer than HEATMAP_MIN_CLOSED_CALLS such calls are left blank.
    """
    ct = _frame(call_times)
    if ct.empty:
        msg = empty_chart("No call times recorded")
        return msg, msg
    calls = _grid(ct, "n_calls")
    closed = _grid(ct, "n_closed_calls")
    won = _grid(ct, "n_won_calls")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(closed > 0, won / closed, np.nan)
    hours = [f"{h:02d}" for h in range(24)]
    a = heatmap(
        calls.tolist(),
        WEEKDAYS,
        hours,
        "Calls by weekday and hour",
        counts=calls.astype(int).tolist(),
    )
    b = heatmap(
        rate.tolist(),
        WEEKDAYS,
        hours,
        f"Win rate (%) of calls by weekday and hour, n = calls on closed deals (cells with ≥{HEATMAP_MIN_CLOSED_CALLS})",
        counts=closed.astype(int).tolist(),
        min_count=HEATMAP_MIN_CLOSED_CALLS,
        as_percent=True,
        show_counts=True,
    )
    return a, b


def render_team_charts(
    tables: Mapping[str, pd.DataFrame | Sequence[Mapping[str, Any]]],
) -> dict[str, str]:
    """All team charts as inline SVG strings, from result tables or their stored JSON records.

    In: a mapping with any of "effects", "price_timing", "hour_slots", "call_times", "summary"
    (as stored in analysis_results). Out: {"forest", "price_timing", "hour_slots",
    "calls_heatmap", "win_rate_heatmap"} -> SVG markup, safe to embed unescaped.
    """
    summary = tables.get("summary")
    overall = None
    if isinstance(summary, Mapping):
        won, lost = summary.get("n_won", 0), summary.get("n_lost", 0)
        overall = won / (won + lost) if won + lost else None
    calls_map, rate_map = heatmap_charts(tables.get("call_times", []))
    return {
        "forest": forest_chart(tables.get("effects", [])),
        "price_timing": price_timing_chart(tables.get("price_timing", []), overall),
        "hour_slots": hour_slot_chart(tables.get("hour_slots", []), overall),
        "calls_heatmap": calls_map,
        "win_rate_heatmap": rate_map,
    }


# --- tables ---------------------------------------------------------------------------------


def _table(
    df: pd.DataFrame, columns: Sequence[tuple[str, str | Callable[[Mapping[str, Any]], str]]]
) -> str:
    """An HTML table; each column is (heading, source column or row -> text). All escaped."""
    if df.empty:
        return '<p class="muted">No rows.</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h, _ in columns)
    body = []
    for r in df.to_dict("records"):
        cells = []
        for _, src in columns:
            value = src(r) if callable(src) else r.get(src)
            if not callable(src) and isinstance(value, float) and not math.isfinite(value):
                value = "–"
            cells.append(f"<td>{_e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _or_interval(r: Mapping[str, Any], suffix: str = "") -> str:
    est = r.get(f"odds_ratio{suffix}")
    if not math.isfinite(_num(est)):
        return "–"
    return (
        f"{_ratio(est)} [{_ratio(r.get(f'ci_low{suffix}'))}, {_ratio(r.get(f'ci_high{suffix}'))}]"
    )


def _detectable(r: Mapping[str, Any]) -> str:
    up = _num(r.get("min_detectable_odds_ratio"))
    down = _num(r.get("min_detectable_odds_ratio_below"))
    if math.isnan(up):
        return ""
    if math.isinf(up):
        return "none detectable at this sample size"
    below = f" or ≤ {down:.2f}" if math.isfinite(down) and down > 0 else ""
    return f"≥ {up:.2f}{below}"


def _effects_table(ef: pd.DataFrame) -> str:
    return _table(
        ef,
        [
            ("feature", lambda r: str(r.get("label") or feature_label(str(r["feature"])))),
            ("what the row compares", lambda r: str(r.get("reading") or "")),
            ("deals with / without", lambda r: f"{r['n_with']} / {r['n_without']}"),
            (
                "win rate with",
                lambda r: _interval(
                    r["win_rate_with"], r["win_rate_with_low"], r["win_rate_with_high"]
                ),
            ),
            (
                "win rate without",
                lambda r: _interval(
                    r["win_rate_without"], r["win_rate_without_low"], r["win_rate_without_high"]
                ),
            ),
            ("difference", lambda r: _diff(r)),
            ("odds ratio [95% CI], others held fixed", lambda r: _or_interval(r)),
            ("odds ratio alone [95% CI]", lambda r: _or_interval(r, "_alone")),
            ("p", lambda r: _p(r["p_value"])),
            ("q (BH)", lambda r: _p(r["q_value"])),
            ("smallest detectable odds ratio (80% power)", _detectable),
            ("status", lambda r: f"{r['status']}{' – ' + r['note'] if r.get('note') else ''}"),
        ],
    )


def _diff(r: Mapping[str, Any]) -> str:
    d = _num(r["win_rate_diff"])
    if not math.isfinite(d):
        return "–"
    return f"{d * 100:+.0f} pts [{_num(r['win_rate_diff_low']) * 100:+.0f}, {_num(r['win_rate_diff_high']) * 100:+.0f}]"


def _tracks_table(tr: pd.DataFrame, examples: Mapping[str, list[str]] | None = None) -> str:
    examples = examples or {}
    return _table(
        tr,
        [
            ("rank", lambda r: "" if pd.isna(r["rank"]) else str(int(r["rank"]))),
            ("talk track (rep behaviours in order)", lambda r: track_label(str(r["track"]))),
            ("closed deals", "n_deals"),
            ("won", "n_won"),
            ("win rate [95% CI]", lambda r: _interval(r["win_rate"], r["ci_low"], r["ci_high"])),
            ("calls", "n_calls"),
            ("example calls", lambda r: ", ".join(examples.get(str(r["track"]), []))),
        ],
    )


def _kpi_table(kp: pd.DataFrame) -> str:
    return _table(
        kp,
        [
            ("rep", "rep_id"),
            ("calls", "n_calls"),
            ("calls / week", lambda r: _fixed(1)(r["calls_per_week"])),
            ("mean call (min)", lambda r: _fixed(1)(r["mean_call_duration_min"])),
            ("calls / deal", lambda r: _fixed(1)(r["calls_per_deal"])),
            ("median days between calls", lambda r: _fixed(1)(r["median_days_between_calls"])),
            ("deals won / lost / open", lambda r: f"{r['n_won']} / {r['n_lost']} / {r['n_open']}"),
            (
                "win rate [95% CI]",
                lambda r: _interval(r["win_rate"], r["win_rate_low"], r["win_rate_high"]),
            ),
            ("talk ratio", lambda r: _pct(r["mean_rep_talk_ratio"])),
            ("questions / min", lambda r: _fixed(2)(r["mean_rep_questions_per_min"])),
            ("longest monologue (s)", lambda r: _fixed(0)(r["mean_longest_monologue_s"])),
            ("patience (s)", lambda r: _fixed(2)(r["mean_patience_s"])),
            (
                "busiest day / hour",
                lambda r: (
                    f"{r.get('busiest_weekday') or '–'} / {'–' if pd.isna(r.get('busiest_hour')) else int(r['busiest_hour'])}"
                ),
            ),
        ],
    )


def _sample_table(s: AnalysisSummary) -> str:
    rows = [
        ("Calls analysed (transcribed)", s.n_calls_analysed),
        ("Calls not analysed (pending, failed or no speech)", s.n_calls_not_analysed),
        ("Analysed calls not linked to a known deal", s.n_calls_unlinked),
        ("Deals in the CRM import", s.n_deals),
        ("Deals with analysed calls", s.n_deals_with_calls),
        ("… won / lost / open", f"{s.n_won} / {s.n_lost} / {s.n_open}"),
        ("Closed deals without any analysed call (not used)", s.n_closed_deals_without_calls),
        ("Reps", s.n_reps),
        ("Rep control", REP_CONTROL_TEXT.get(s.rep_control, s.rep_control)),
        ("Other controls", ", ".join(s.controls) or "none"),
        ("Minimum deals per side", s.min_deals),
        ("Calls from / to (UTC)", f"{s.first_call_at or '–'} / {s.last_call_at or '–'}"),
        ("Time zone of weekdays and hours", s.tz),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2933;margin:2rem auto;max-width:1100px;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #e4e7eb;padding-bottom:.3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}th,td{padding:.3rem .55rem;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
thead th{background:#f5f7fa}table.kv th{font-weight:500;color:#52606d}
.muted{color:#7b8794}.caution{background:#fff8e1;border-left:4px solid #f0b429;padding:.6rem .9rem}
.insufficient{background:#fdecea;border-left:4px solid #b3261e;padding:.6rem .9rem;font-weight:600}
.ok{background:#e8f5ee;border-left:4px solid #1b7f4b;padding:.6rem .9rem}.chart{overflow-x:auto;margin:.6rem 0}
.headline{font-size:1.15rem;font-weight:600;margin:1rem 0}.demo{background:#ede7f6;border-left:4px solid #5e35b1;padding:.6rem .9rem}
.tag{font-size:.8rem;background:#5e35b1;color:#fff;border-radius:.3rem;padding:.1rem .4rem;vertical-align:middle}
details{margin:.3rem 0}summary{cursor:pointer}h3{font-size:1rem;margin-top:1.4rem}
"""


def _moment(v: Any) -> str:
    f = _num(v)
    if not math.isfinite(f):
        return "–"
    return f"{int(f // 60)}:{int(f % 60):02d}"


def _share(v: Any) -> str:
    f = _num(v)
    return "–" if not math.isfinite(f) else f"{f * 100:.0f}%"


def _measure_value(unit: str, v: Any, signed: bool = False) -> str:
    f = _num(v)
    if not math.isfinite(f):
        return "–"
    if unit == "share":
        return f"{f * 100:+.0f} pts" if signed else f"{f * 100:.0f}%"
    return f"{f:+.2f}" if signed else f"{f:.2f}"


def _top_tables(results: AnalysisResults) -> str:
    s = results.summary
    parts = [f"<p>{_e(s.top_performers_message)}</p>"] if s.top_performers_message else []
    comp = results.top_performers
    if comp is not None and not comp.empty:
        parts.append(
            "<p>Reps are the unit: each number is the mean over reps in the group, and each "
            "difference has a 95% Welch interval. Ranking by an observed win rate favours lucky "
            "reps, so read the differences as what the top group does, not as proof of why it "
            "wins.</p>"
        )
        parts.append(
            _table(
                comp,
                [
                    ("measure", "label"),
                    ("top quarter", lambda r: _measure_value(r["unit"], r["top_mean"])),
                    ("the rest", lambda r: _measure_value(r["unit"], r["rest_mean"])),
                    (
                        "difference [95% CI]",
                        lambda r: (
                            f"{_measure_value(r['unit'], r['difference'], True)} "
                            f"[{_measure_value(r['unit'], r['ci_low'], True)}, "
                            f"{_measure_value(r['unit'], r['ci_high'], True)}]"
                        ),
                    ),
                    ("reps top / rest", lambda r: f"{r['n_top_reps']} / {r['n_rest_reps']}"),
                ],
            )
        )
    ranking = results.top_reps
    if ranking is not None and not ranking.empty:
        parts.append("<h3>Reps ranked by win rate</h3>")
        parts.append(
            _table(
                ranking,
                [
                    ("rank", "rank"),
                    ("rep", "rep_id"),
                    ("group", lambda r: {"top": "top quarter", "rest": "rest"}.get(r["group"], "")),
                    ("closed deals", "n_closed"),
                    ("won", "n_won"),
                    (
                        "win rate [95% CI]",
                        lambda r: _interval(r["win_rate"], r["win_rate_low"], r["win_rate_high"]),
                    ),
                ],
            )
        )
    return "".join(parts) or '<p class="muted">No reps with closed deals.</p>'


def _adoption_table(adoption: pd.DataFrame) -> str:
    if adoption is None or adoption.empty:
        return '<p class="muted">No calls analysed.</p>'
    labels = list(dict.fromkeys(adoption["label"]))
    by_rep: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in adoption.to_dict("records"):
        by_rep.setdefault(str(r["rep_id"]), {})[str(r["label"])] = r
    head = "<th>rep</th><th>calls</th>" + "".join(f"<th>{_e(lb)}</th>" for lb in labels)
    body = []
    for rep, cells in by_rep.items():
        n = next(iter(cells.values()))["n_calls"]
        tds = "".join(
            f"<td>{_e(_interval(c['rate'], c['ci_low'], c['ci_high']))}</td>"
            if (c := cells.get(lb))
            else "<td>–</td>"
            for lb in labels
        )
        body.append(f"<tr><td>{_e(rep)}</td><td>{_e(n)}</td>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _trend_table(trend: pd.DataFrame) -> str:
    if trend is None or trend.empty:
        return '<p class="muted">No dated calls or closed deals.</p>'
    labels = list(dict.fromkeys(trend["label"]))
    months = sorted(set(trend["month"]))
    cell = {(r["month"], r["label"]): r for r in trend.to_dict("records")}
    head = "<th>month</th>" + "".join(f"<th>{_e(lb)}</th>" for lb in labels)
    body = []
    for m in months:
        tds = "".join(
            f"<td>{_e(_pct(c['rate']))} <span class='muted'>[{_e(_pct(c['ci_low']))}, "
            f"{_e(_pct(c['ci_high']))}] n={_e(c['n'])}</span></td>"
            if (c := cell.get((m, lb)))
            else "<td>–</td>"
            for lb in labels
        )
        body.append(f"<tr><td>{_e(m)}</td>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _examples_section(examples: pd.DataFrame) -> str:
    if examples is None or examples.empty:
        return '<p class="muted">No tagged calls on closed deals.</p>'
    parts = []
    for label, part in examples.groupby("label", sort=False):
        parts.append(f"<details><summary>{_e(label)}: example calls</summary>")
        parts.append(
            _table(
                part,
                [
                    ("deal outcome", "outcome"),
                    ("call id", "call_id"),
                    ("rep", "rep_id"),
                    ("deal", "deal_id"),
                    ("moment (m:ss)", lambda r: _moment(r["moment_s"])),
                ],
            )
        )
        parts.append("</details>")
    return "".join(parts)


DEMO_TAG = ' <span class="tag">synthetic demo data</span>'


def render_report(results: AnalysisResults) -> str:
    """The full report as one HTML document (no external resources)."""
    s = results.summary
    charts = render_team_charts(
        {
            "effects": results.effects,
            "price_timing": results.price_timing,
            "hour_slots": results.hour_slots,
            "call_times": results.call_times,
            "summary": s.to_dict(),
        }
    )
    status_class = "ok" if s.sufficient else "insufficient"
    ef = results.effects
    demo = (
        f"<p class='demo' role='note'><strong>Synthetic demo data.</strong> {_e(s.synthetic_note)}</p>"
        if s.synthetic_note
        else ""
    )
    headline = f"<p class='headline'>{_e(s.headline)}</p>" if s.headline and s.sufficient else ""
    fallback = f"<p class='insufficient'>{_e(s.model_note)}</p>" if s.model_note else ""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>talktracks: which talk tracks win{' (synthetic demo data)' if s.synthetic_note else ''}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Which talk tracks win{DEMO_TAG if s.synthetic_note else ''}</h1>",
        demo,
        f"<p class='muted'>Computed {_e(s.computed_at)} · calls from {_e(s.first_call_at or '–')} to {_e(s.last_call_at or '–')}</p>",
        headline,
        f"<p class='{status_class}'>{_e(s.message.removeprefix(s.synthetic_note).strip())}</p>",
        fallback,
        f"<p class='caution'>{_e(CAUTION)}</p>",
        "<h2>Sample sizes</h2>",
        _sample_table(s),
        "<h2>Effects on winning</h2>",
        "<p>One model holds every feature fixed at once (same rep, similar deal size and number "
        "of calls, and the other behaviours): each odds ratio says how the odds of winning "
        "differ for what the row compares, read the “what the row compares” column. Odds "
        "ratios above 1 go with winning more. The “alone” column is the same feature in a "
        "model of its own, which blends it with the features it overlaps. Rows with fewer than "
        f"{_e(s.min_deals)} deals on either side are marked insufficient data and not "
        "estimated. For rows that are not significant, the smallest detectable odds ratio "
        "says how big an effect these data could have found: “no effect found” is not “no "
        "effect”.</p>",
        f"<div class='chart'>{charts['forest']}</div>",
        _effects_table(ef),
        "<h3>Calls behind the numbers</h3>",
        "<p>Example calls on won and on lost deals that show each behaviour, with the moment it "
        "first occurs; open them in the review app by call id.</p>",
        _examples_section(results.example_calls),
        "<h2>Win rate by price timing</h2>",
        f"<div class='chart'>{charts['price_timing']}</div>",
        "<h2>Talk tracks</h2>",
        "<p>A call's track is the order in which the rep first showed each behaviour. A deal counts "
        f"once per track it followed; tracks with fewer than {_e(s.min_deals)} closed deals are "
        "pooled as “other”. Ranked by the lower end of the 95% interval (the win rate the track "
        "reaches at least, with 95% confidence), so a small lucky track does not top a large "
        "one; where intervals overlap, the order between two tracks is not established.</p>",
        _tracks_table(results.tracks, results.track_examples),
        "<h2>Top performers vs the rest</h2>",
        _top_tables(results),
        "<h2>Behaviour adoption per rep</h2>",
        "<p>Share of each rep's analysed calls showing the behaviour, with a 95% Wilson "
        "interval: who to coach on what.</p>",
        _adoption_table(results.behaviour_adoption),
        "<h2>Monthly trend</h2>",
        "<p>Each behaviour's share of the month's calls, and the win rate of deals closed in the "
        "month, with 95% Wilson intervals and n.</p>",
        _trend_table(results.monthly_trend),
        "<h2>When calls happen</h2>",
        f"<div class='chart'>{charts['calls_heatmap']}</div>",
        f"<div class='chart'>{charts['win_rate_heatmap']}</div>",
        f"<div class='chart'>{charts['hour_slots']}</div>",
        "<h2>Rep KPIs</h2>",
        _kpi_table(results.rep_kpis),
        "<h2>Method</h2>",
        "<p class='muted'>Logistic regression of won vs lost (open deals left out) on all "
        "features together, with the rep (conditional logit or rep fixed effects), log deal "
        "amount (when known) and log number of calls as controls; nested features coded "
        "against their parent; one model per feature for the “alone” column and as the "
        "fallback when the joint model cannot be estimated (then said above); Firth's "
        "penalised fit when a single-feature fit fails; 95% Wald (or profile) intervals; "
        "Benjamini–Hochberg q-values across the estimated features; detectable odds ratios "
        "for 80% power at a two-sided 5% level; Wilson intervals for win rates. Full "
        "definitions: docs/analysis-method.md.</p>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)
