"""Effect estimation edge cases: too little data, separation, BH, intervals, controls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from talktracks.analysis.effects import (
    EFFECT_COLUMNS,
    FIRTH,
    INSUFFICIENT,
    NOT_ESTIMABLE,
    effects,
    resolve_rep_control,
)
from talktracks.analysis.firth import firth_coefficient
from talktracks.analysis.stats import benjamini_hochberg, newcombe_difference, wilson_interval


def deals(n: int, seed: int = 0, n_reps: int = 5, **columns: np.ndarray) -> pd.DataFrame:
    """A deal_features-shaped frame with random outcomes and the given feature columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(n)],
            "rep_id": [f"r{i % n_reps}" for i in range(n)],
            "won": (rng.random(n) < 0.5).astype(float),
            "amount": rng.lognormal(9, 1, n),
            "n_calls": rng.integers(1, 5, n),
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_wilson_matches_statsmodels_and_handles_zero() -> None:
    low, high = wilson_interval(np.array([0, 3, 10]), np.array([10, 10, 10]))
    ref = proportion_confint([0, 3, 10], [10, 10, 10], method="wilson")
    np.testing.assert_allclose(low, ref[0])
    np.testing.assert_allclose(high, ref[1])
    low, high = wilson_interval(0, 0)
    assert np.isnan(low) and np.isnan(high)


def test_newcombe_contains_difference_and_bh_matches_statsmodels() -> None:
    d, lo, hi = newcombe_difference(30, 50, 20, 50)
    assert d == pytest.approx(0.2)
    ref = confint_proportions_2indep(30, 50, 20, 50, method="newcomb", compare="diff")
    np.testing.assert_allclose([lo, hi], ref, rtol=1e-6)
    p = np.array([0.001, np.nan, 0.04, 0.03, 0.5])
    q = benjamini_hochberg(p)
    ok = np.isfinite(p)
    np.testing.assert_allclose(q[ok], multipletests(p[ok], method="fdr_bh")[1])
    assert np.isnan(q[1])


def test_firth_equals_haldane_corrected_log_odds_ratio_in_a_two_by_two_table() -> None:
    # Saturated 2x2 model: Firth's estimate is the log odds ratio with 0.5 added to each cell,
    # finite even though every deal with the feature was won (separation).
    x = np.r_[np.ones(12), np.zeros(50)]
    y = np.r_[np.ones(12), np.ones(20), np.zeros(30)]
    est = firth_coefficient(np.column_stack([x, np.ones_like(x)]), y, 0)
    assert est.coef == pytest.approx(np.log(12.5 * 30.5 / (0.5 * 20.5)), abs=1e-6)
    assert 0 < est.ci_low < est.coef < est.ci_high < np.inf
    assert est.p_value < 0.001


def test_too_few_deals_on_one_side_is_insufficient_not_estimated() -> None:
    n = 200
    flag = np.zeros(n, dtype=bool)
    flag[:9] = True  # 9 deals with the feature
    out = effects(deals(n, has_rare=flag, has_common=np.arange(n) % 2 == 0), metric=[])
    rare = out.set_index("feature").loc["has_rare"]
    assert rare["status"] == INSUFFICIENT and rare["n_with"] == 9
    assert np.isnan(rare["odds_ratio"]) and np.isnan(rare["p_value"]) and np.isnan(rare["q_value"])
    assert not np.isnan(rare["win_rate_with"])  # counts and win rates are still reported
    common = out.set_index("feature").loc["has_common"]
    assert common["status"] == "estimated" and np.isfinite(common["q_value"])


def test_too_few_won_deals_marks_everything_insufficient() -> None:
    frame = deals(60, has_x=np.arange(60) % 2 == 0)
    frame["won"] = 0.0
    frame.loc[:4, "won"] = 1.0  # 5 won
    out = effects(frame, metric=[])
    assert (out["status"] == INSUFFICIENT).all()
    assert "5 won" in out["note"].iloc[0]


def test_separation_falls_back_to_firth() -> None:
    n = 300
    frame = deals(n, has_magic=np.arange(n) < 40)
    frame.loc[frame["has_magic"], "won"] = 1.0  # every deal with the feature won
    row = effects(frame, metric=[]).set_index("feature").loc["has_magic"]
    assert row["status"] == FIRTH and "Firth" in row["method"]
    assert np.isfinite(row["odds_ratio"]) and row["odds_ratio"] > 5
    assert row["ci_low"] > 1 and row["p_value"] < 0.001


def test_feature_constant_within_every_rep_is_not_estimable_with_rep_control() -> None:
    frame = deals(200, n_reps=4)
    frame["has_rep_habit"] = frame["rep_id"].isin(["r0", "r1"])
    row = effects(frame, metric=[], rep_control="fixed").set_index("feature").loc["has_rep_habit"]
    assert row["status"] == NOT_ESTIMABLE and "within a rep" in row["note"]


def test_metric_features_split_at_the_median_and_columns_are_stable() -> None:
    frame = deals(200, mean_talk=np.linspace(0, 1, 200))
    out = effects(frame, binary=[], metric=["mean_talk"])
    row = out.iloc[0]
    assert row["feature"] == "mean_talk_above_median"
    assert row["n_with"] == row["n_without"] == 100 and row["threshold"] == pytest.approx(0.5)
    assert list(out.columns[: len(EFFECT_COLUMNS)]) == EFFECT_COLUMNS


def test_rep_control_choice() -> None:
    many_small = deals(400, n_reps=100)  # 4 deals per rep
    few_large = deals(400, n_reps=4)  # 100 deals per rep
    one = deals(100, n_reps=1)
    assert resolve_rep_control(many_small) == "conditional"
    assert resolve_rep_control(few_large) == "fixed"
    assert resolve_rep_control(one) == "none"
    with pytest.raises(ValueError):
        resolve_rep_control(one, "random")


def test_no_amounts_and_missing_amounts_still_fit() -> None:
    frame = deals(300, has_x=np.arange(300) % 3 == 0)
    frame["amount"] = np.nan
    assert effects(frame, metric=[])["status"].iloc[0] == "estimated"
    frame["amount"] = np.where(np.arange(300) % 4 == 0, np.nan, 1000.0 + np.arange(300))
    assert effects(frame, metric=[])["status"].iloc[0] == "estimated"


def test_fast_conditional_logit_matches_statsmodels() -> None:
    import warnings

    from statsmodels.discrete.conditional_models import ConditionalLogit

    from talktracks.analysis.condlogit import FastConditionalLogit

    rng = np.random.default_rng(3)
    sizes = rng.integers(2, 30, 50)
    groups = np.repeat(np.arange(sizes.size), sizes)
    x = rng.normal(size=(groups.size, 3))
    lin = x @ [0.5, -1.0, 0.2] + rng.normal(size=sizes.size)[groups]
    y = (rng.random(groups.size) < 1 / (1 + np.exp(-lin))).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "dropped groups with no variation", from both
        slow = ConditionalLogit(y, x, groups=groups)
        fast = FastConditionalLogit(y, x, groups=groups)
    params = np.array([0.3, -0.4, 0.1])
    assert fast.loglike(params) == pytest.approx(slow.loglike(params), rel=1e-12)
    np.testing.assert_allclose(fast.score(params), slow.score(params), rtol=1e-10)
    # statsmodels differentiates the score numerically; ours is exact.
    np.testing.assert_allclose(fast.hessian(params), slow.hessian(params), rtol=1e-5)
    fit = fast.fit(method="newton", disp=False)
    ref = slow.fit(method="bfgs", disp=False)
    np.testing.assert_allclose(fit.params, ref.params, atol=1e-4)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-4)
