"""Top performers vs the rest, behaviour adoption per rep, monthly trend, example calls."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic import generate
from talktracks import analysis
from talktracks.analysis import analyze
from talktracks.analysis.adoption import behaviour_adoption
from talktracks.analysis.metrics import call_metrics


def test_top_performers_find_the_planted_calling_hours() -> None:
    # The most skilled quarter of 24 reps makes 80% of its calls at 08:00-10:00; skill drives
    # winning, so the reps with the highest win rates call in the morning.
    syn = generate(21, n_deals=2000, n_reps=24, utterances_per_call=6, top_rep_hours=(8, 9))
    comp = analysis.top_performers(syn.dataset())
    assert "Top performers: the 6 reps" in comp.attrs["message"]
    ranking = comp.attrs["ranking"]
    assert (ranking["group"] == "top").sum() == 6 and len(ranking) == 24
    assert ranking["win_rate"].is_monotonic_decreasing
    row = comp.set_index("measure").loc["hour_share_1"]
    assert row["label"] == "Share of calls 08:00-10:00 (UTC)"
    assert row["difference"] > 0.3 and row["ci_low"] > 0
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    # Skill makes reps ask for referrals more: the top group does it more often.
    ref = comp.set_index("measure").loc["rate_referral_request"]
    assert ref["difference"] > 0
    # Without the planted hours, no hour slot separates the groups.
    plain = analysis.top_performers(
        generate(21, n_deals=2000, n_reps=24, utterances_per_call=6).dataset()
    ).set_index("measure")
    assert abs(plain.loc["hour_share_1", "difference"]) < 0.1
    for key in ("talk_ratio", "calls_per_week", "call_minutes", "days_between_calls"):
        assert key in plain.index


def test_too_few_reps_or_deals_are_said_in_plain_words() -> None:
    syn = generate(22, n_deals=300, n_reps=5, utterances_per_call=6)
    comp = analysis.top_performers(syn.dataset())
    assert comp.empty
    assert comp.attrs["message"].startswith("Too few reps to compare top performers: 5 reps")
    few = analysis.top_performers(generate(23, n_deals=60, n_reps=12).dataset(), min_closed=10)
    assert few.empty and "Too few reps" in few.attrs["message"]
    results = analyze(syn.dataset())
    assert results.summary.top_performers_message.startswith("Too few reps")
    assert "Too few reps to compare" in analysis.render_report(results)


def test_behaviour_adoption_per_rep_with_wilson_intervals() -> None:
    syn = generate(24, n_deals=600, n_reps=6, utterances_per_call=6)
    ds = syn.dataset()
    cm = call_metrics(ds)
    ad = behaviour_adoption(cm, ["referral_request", "price_mention"])
    assert set(ad["rep_id"]) == set(cm["rep_id"])
    one = ad[(ad["rep_id"] == "rep000") & (ad["behaviour"] == "referral_request")].iloc[0]
    mine = cm[cm["rep_id"] == "rep000"]
    assert one["n_calls"] == len(mine)
    assert one["n_with"] == int((mine["referral_request_count"] > 0).sum())
    assert one["ci_low"] <= one["rate"] <= one["ci_high"]
    assert one["label"] == "Referral request"
    # The same table from the public API.
    api = analysis.rep_adoption(ds)
    assert set(api["behaviour"]) >= {"referral_request", "price_mention", "competitor_mention"}
    trend = analysis.behaviour_trend(ds)
    assert {"win_rate", "rate_referral_request"} <= set(trend["measure"])


def test_monthly_trend_and_example_calls() -> None:
    syn = generate(25, n_deals=600, n_reps=6, utterances_per_call=6)
    results = analyze(syn.dataset())
    trend = results.monthly_trend
    win = trend[trend["measure"] == "win_rate"]
    closed = syn.deals[syn.deals["outcome"].isin(["won", "lost"])]
    assert win["n"].sum() == len(closed)
    assert win["k"].sum() == int((closed["outcome"] == "won").sum())
    ref = trend[trend["measure"] == "rate_referral_request"]
    assert ref["n"].sum() == results.summary.n_calls_analysed
    assert (ref["ci_low"] <= ref["rate"]).all() and (ref["rate"] <= ref["ci_high"]).all()
    ex = results.example_calls
    assert set(ex["outcome"]) == {"won", "lost"}
    cm = results.call_metrics.set_index("call_id")
    for r in ex.to_dict("records"):
        assert cm.loc[r["call_id"], f"{r['behaviour']}_count"] > 0
        assert r["moment_s"] == cm.loc[r["call_id"], f"{r['behaviour']}_first_s"]
    html = analysis.render_report(results)
    assert ex["call_id"].iloc[0] in html and "Calls behind the numbers" in html
    assert "Behaviour adoption per rep" in html and "Monthly trend" in html


def test_report_headline_labels_and_track_ranking() -> None:
    results = analyze(generate(26, n_deals=1500, utterances_per_call=8).dataset())
    s = results.summary
    assert s.headline.startswith("Deals where ")
    assert "95% CI" in s.headline and "points" in s.headline
    html = analysis.render_report(results)
    assert s.headline in html.replace("&#x27;", "'")
    # Human labels, not identifiers, in the tables.
    assert "Referral request" in html and "Rep&#x27;s share of talk time above the median" in html
    tr = results.tracks[results.tracks["track"] != "other"]
    assert tr["ci_low"].is_monotonic_decreasing
    assert "Product introduction → " in html or "Price mention → " in html
    assert "overlap" in html
    # Heat-map cells say their n.
    assert ">n" in html


def test_report_numbers_survive_stored_records() -> None:
    results = analyze(generate(27, n_deals=400, utterances_per_call=6).dataset())
    tables = results.tables()
    for name in ("top_performers", "behaviour_adoption", "monthly_trend", "example_calls"):
        assert isinstance(tables[name], pd.DataFrame)
    assert np.isfinite(tables["behaviour_adoption"]["rate"]).all()
