"""The mutually adjusted model: nested features recovered, readings, fallback, detectable effects.

Planted truth (tests/synthetic.py with or_early_price=0.45): mentioning price does nothing
(1.0), raising it early in a call multiplies the odds by 0.45 against raising it later, asking
for a referral doubles them, and rep skill drives both referrals and winning (confounding).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from synthetic import generate
from talktracks.analysis import analyze, render_report
from talktracks.analysis.effects import ALONE, EFFECT_COLUMNS, FIRTH, JOINT, effects
from talktracks.analysis.features import deal_features
from talktracks.analysis.labels import reading
from talktracks.analysis.stats import (
    Z95,
    detectable_odds_ratio,
    detectable_odds_ratio_from_se,
)

SEEDS = range(8)
PLANTED = {"has_price_mention": 1.0, "early_price_mention": 0.45, "has_referral_request": 2.0}
UNPLANTED = (
    "has_product_introduction",
    "has_competitor_mention",
    "price_before_product_introduction",
    "mean_duration_s_above_median",
    "mean_rep_talk_ratio_above_median",
    "mean_longest_monologue_s_above_median",
    "mean_rep_questions_per_min_above_median",
    "mean_switches_per_min_above_median",
    "mean_patience_s_above_median",
)


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    out = []
    for seed in SEEDS:
        syn = generate(seed, n_deals=1500, utterances_per_call=10, or_early_price=0.45)
        out.append(effects(deal_features(syn.dataset())).assign(seed=seed))
    return pd.concat(out).set_index(["feature", "seed"])


def test_effects_csv_columns_include_reading_alone_and_detectable() -> None:
    for col in ("reading", "odds_ratio_alone", "ci_low_alone", "ci_high_alone"):
        assert col in EFFECT_COLUMNS
    assert "min_detectable_odds_ratio" in EFFECT_COLUMNS


@pytest.mark.parametrize("feature", list(PLANTED))
def test_joint_model_recovers_every_planted_feature(runs: pd.DataFrame, feature: str) -> None:
    rows = runs.loc[feature]
    assert (rows["model"] == JOINT).all()
    assert rows["method"].str.startswith("joint conditional logit").all()
    truth = PLANTED[feature]
    covered = ((rows["ci_low"] <= truth) & (truth <= rows["ci_high"])).sum()
    assert covered >= 6, rows[["odds_ratio", "ci_low", "ci_high"]]
    assert abs(np.mean(np.log(rows["odds_ratio"])) - np.log(truth)) < np.log(1.25)


def test_no_unplanted_feature_is_significant_after_bh(runs: pd.DataFrame) -> None:
    rows = runs.loc[list(UNPLANTED)]
    assert rows["status"].eq("estimated").all()
    # 9 null features x 8 seeds = 72 tests.
    assert (rows["q_value"] < 0.05).sum() <= 2, rows[rows["q_value"] < 0.05]


def test_one_at_a_time_estimate_of_price_mention_is_biased(runs: pd.DataFrame) -> None:
    # Alone, "price came up" blends in "it came up early", so it looks harmful; held together
    # with the timing features it is the null it really is.
    rows = runs.loc["has_price_mention"]
    assert np.mean(np.log(rows["odds_ratio_alone"])) < np.log(0.8)
    assert (rows["ci_high_alone"] < 1.0).sum() >= 5
    assert ((rows["ci_low"] <= 1.0) & (rows["ci_high"] >= 1.0)).sum() >= 6
    # Every estimated row carries both numbers.
    assert runs["odds_ratio_alone"].notna().all()


def test_nested_groups_are_what_the_reading_says() -> None:
    feats = deal_features(
        generate(3, n_deals=1500, utterances_per_call=10, or_early_price=0.45).dataset()
    )
    out = effects(feats).set_index("feature")
    closed = feats[feats["won"].notna()]
    price = closed["has_price_mention"]
    early = closed["early_price_mention"]
    before = closed["price_before_product_introduction"]
    assert out.loc["has_price_mention", "n_with"] == int((price & ~early & ~before).sum())
    assert out.loc["has_price_mention", "n_without"] == int((~price).sum())
    assert out.loc["early_price_mention", "n_with"] == int(early.sum())
    assert out.loc["early_price_mention", "n_without"] == int((price & ~early).sum())
    assert out.loc["has_referral_request", "n_with"] == int(closed["has_referral_request"].sum())
    assert out.loc["has_price_mention", "reading"].startswith(
        "price came up, but not early and not before the product, vs it never did"
    )


def test_reading_texts() -> None:
    assert reading("has_price_mention", nested=True, joint=True) == (
        "price came up, but not early and not before the product, vs it never did; "
        "holding the other features fixed"
    )
    assert reading("early_price_mention", nested=True, joint=True) == (
        "rep raised price early in a call (first quarter) vs price came up only later; "
        "holding the other features fixed"
    )
    assert reading("has_referral_request", nested=False, joint=True) == (
        "the rep asked for a referral in some call vs never; holding the other features fixed"
    )
    assert reading("has_price_mention", nested=False, joint=False) == (
        "price came up in some call vs never; not adjusted for the other features"
    )
    assert reading("mean_rep_talk_ratio_above_median", 0.55, nested=False, joint=True) == (
        "Rep's share of talk time above the median deal (55%) vs at or below; "
        "holding the other features fixed"
    )
    # Only the children that are in the model are named.
    assert reading(
        "has_price_mention", nested=True, joint=True, children=("early_price_mention",)
    ).startswith("price came up, but not early, vs it never did")
    # A behaviour the taxonomy does not know still reads plainly.
    assert reading("has_competitor_mention", nested=False, joint=True).startswith(
        "competitor mention came up in some call vs never"
    )


def test_fallback_when_too_few_deals_for_the_joint_model(caplog: pytest.LogCaptureFixture) -> None:
    syn = generate(11, n_deals=260, n_reps=6, utterances_per_call=8)
    with caplog.at_level(logging.WARNING, logger="talktracks.analysis.effects"):
        results = analyze(syn.dataset())
    ef = results.effects
    assert (ef["model"] == ALONE).all()
    estimated = ef[ef["odds_ratio"].notna()]
    assert len(estimated) > 0
    assert estimated["note"].str.contains("joint model not estimable").all()
    assert estimated["reading"].str.endswith("not adjusted for the other features").all()
    # One model per feature: the main columns are the alone columns.
    np.testing.assert_allclose(estimated["odds_ratio"], estimated["odds_ratio_alone"])
    assert any("joint model not estimable" in r.getMessage() for r in caplog.records)
    s = results.summary
    assert s.model == ALONE and "not adjusted for each other" in s.model_note
    assert s.model_note in render_report(results)


def test_fallback_on_separation_uses_firth_for_the_separated_feature() -> None:
    feats = deal_features(generate(12, n_deals=1500, utterances_per_call=8).dataset())
    rng = np.random.default_rng(0)
    magic = np.zeros(len(feats), dtype=bool)
    won = np.flatnonzero(feats["won"].to_numpy() == 1)
    magic[rng.choice(won, 25, replace=False)] = True  # every deal with it won
    feats["has_magic_words"] = magic
    out = effects(feats).set_index("feature")
    assert (out["model"] == ALONE).all()
    assert "separation" in out.loc["has_referral_request", "note"]
    assert out.loc["has_magic_words", "status"] == FIRTH
    assert np.isfinite(out.loc["has_magic_words", "odds_ratio"])


def test_detectable_odds_ratio_matches_a_simulation_of_the_wald_test() -> None:
    n1, n0, p0 = 200, 400, 0.35
    up, down = detectable_odds_ratio(n1, n0, p0)
    assert 1 < up < 2.5 and 0.3 < down < 1
    rng = np.random.default_rng(7)
    for odds_ratio in (up, down):
        odds = p0 / (1 - p0) * odds_ratio
        p1 = odds / (1 + odds)
        k1 = rng.binomial(n1, p1, 20_000).astype(float)
        k0 = rng.binomial(n0, p0, 20_000).astype(float)
        log_or = np.log(k1 / (n1 - k1)) - np.log(k0 / (n0 - k0))
        se = np.sqrt(1 / k1 + 1 / (n1 - k1) + 1 / k0 + 1 / (n0 - k0))
        power = np.mean(np.abs(log_or / se) > Z95)
        assert power == pytest.approx(0.8, abs=0.03), (odds_ratio, power)


def test_detectable_odds_ratio_agrees_with_statsmodels_for_balanced_groups() -> None:
    n, p0 = 300, 0.4
    up, down = detectable_odds_ratio(n, n, p0)
    for odds_ratio in (up, down):
        odds = p0 / (1 - p0) * odds_ratio
        h = proportion_effectsize(odds / (1 + odds), p0)
        power = NormalIndPower().power(effect_size=h, nobs1=n, alpha=0.05, ratio=1.0)
        assert power == pytest.approx(0.8, abs=0.02)
    assert detectable_odds_ratio_from_se(0.25) == pytest.approx(np.exp(2.8016 * 0.25), rel=1e-3)
    assert np.isnan(detectable_odds_ratio(0, 10, 0.5)[0])


def test_detectable_effect_is_filled_for_non_significant_and_not_estimated_rows(
    runs: pd.DataFrame,
) -> None:
    rows = runs.reset_index()
    sig = rows["q_value"] < 0.05
    assert rows.loc[sig, "min_detectable_odds_ratio"].isna().all()
    assert (rows.loc[~sig, "min_detectable_odds_ratio"] > 1).all()
    # From the model's own standard error: exp(2.80 * SE).
    r = rows.loc[~sig].iloc[0]
    se = (np.log(r["ci_high"]) - np.log(r["ci_low"])) / (2 * Z95)
    assert r["min_detectable_odds_ratio"] == pytest.approx(np.exp(2.8016 * se), rel=1e-3)
    # Insufficient rows get the 2x2 figure from their counts.
    feats = deal_features(generate(5, n_deals=400, utterances_per_call=6).dataset())
    feats["has_rare"] = False
    feats.loc[feats.index[:12], "has_rare"] = True
    out = effects(feats, min_deals=15).set_index("feature")
    assert out.loc["has_rare", "status"] == "insufficient data"
    assert out.loc["has_rare", "min_detectable_odds_ratio"] > 2
