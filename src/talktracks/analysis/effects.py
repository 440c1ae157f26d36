"""Which deal features go with winning: odds ratios with intervals, controls and BH correction.

Method (details and reasons in docs/analysis-method.md):
- Outcome: won (1) vs lost (0); open deals are left out.
- One model per feature, each with the same controls, rather than one joint model. The features
  overlap by construction (early_price_mention implies has_price_mention), and a joint model
  would split one effect across its overlapping features, giving odds ratios nobody can read.
  Each row answers: "same rep, same deal size, same number of calls: do deals with this feature
  win more often?".
- Controls: the rep (see REP_CONTROLS), log amount when amounts exist (missing amounts get the
  mean and an indicator, so no deal is dropped), log number of calls (a deal with more calls has
  more chances to show any behaviour), and any CRM attribute columns named in `controls`.
- Call metrics enter as yes/no features "above the median deal", so every row has the same
  with/without reading.
- A feature with fewer than `min_deals` deals on either side is reported as insufficient data
  and not estimated; so is everything when there are fewer than `min_deals` won or lost deals.
- When the ordinary fit fails (separation, no convergence) the feature is refitted with Firth's
  penalised likelihood and the row says so.
- q_value: Benjamini-Hochberg over the features actually estimated.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from talktracks.analysis.condlogit import FastConditionalLogit
from talktracks.analysis.features import UNKNOWN_REP, binary_feature_names, metric_feature_names
from talktracks.analysis.firth import firth_coefficient
from talktracks.analysis.stats import Z95, benjamini_hochberg, newcombe_difference, wilson_interval

EFFECT_COLUMNS = [
    "feature",
    "n_with",
    "n_without",
    "win_rate_with",
    "win_rate_without",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
]
"""Exactly the columns of effects.csv; `effects()` returns these plus the detail columns."""

DETAIL_COLUMNS = [
    "status",
    "method",
    "n_model",
    "won_with",
    "won_without",
    "win_rate_with_low",
    "win_rate_with_high",
    "win_rate_without_low",
    "win_rate_without_high",
    "win_rate_diff",
    "win_rate_diff_low",
    "win_rate_diff_high",
    "threshold",
    "note",
]

REP_CONTROLS = ("auto", "fixed", "conditional", "cluster", "none")
"""How the rep is controlled for:
- fixed: rep dummies in an ordinary logistic regression (within-rep comparison);
- conditional: conditional logistic regression grouped by rep, the exact within-rep estimator
  when reps have few deals (rep dummies are biased then: the incidental-parameter problem);
- cluster: no rep adjustment of the estimate, rep-clustered standard errors only. This fixes the
  intervals for deals sharing a rep but does NOT remove confounding by rep skill;
- none: plain logistic regression (for comparison only);
- auto: conditional when the typical rep (median over reps with both won and lost deals) has
  fewer than FE_MIN_DEALS_PER_REP closed deals and no rep has more than
  MAX_CONDITIONAL_GROUP; fixed otherwise; with a single rep there is nothing to control.
"""

FE_MIN_DEALS_PER_REP = 50
"""With this many closed deals per typical rep, the rep-dummy bias (about 1/n on the log-odds
scale) is a few percent, and rep dummies are much faster than the conditional likelihood."""
MAX_CONDITIONAL_GROUP = 400
"""The conditional likelihood's cost grows with the largest rep's deal count squared."""
SIGNIFICANCE = 0.05

ESTIMATED = "estimated"
FIRTH = "estimated (Firth penalised)"
INSUFFICIENT = "insufficient data"
NOT_ESTIMABLE = "not estimable"


@dataclass
class _Fit:
    coef: float
    low: float
    high: float
    p: float
    method: str


def resolve_rep_control(closed: pd.DataFrame, rep_control: str = "auto") -> str:
    """The rep control to use for these closed deals (see REP_CONTROLS)."""
    if rep_control not in REP_CONTROLS:
        raise ValueError(f"rep_control must be one of {', '.join(REP_CONTROLS)}")
    if rep_control != "auto":
        return rep_control
    reps = closed["rep_id"].fillna(UNKNOWN_REP)
    if reps.nunique() <= 1:
        return "none"
    per_rep = closed.groupby(reps)["won"].agg(["size", "min", "max"])
    informative = per_rep[per_rep["min"] < per_rep["max"]]
    if informative.empty:
        return "fixed"  # every rep all-won or all-lost: reported as not estimable below
    if (
        informative["size"].median() < FE_MIN_DEALS_PER_REP
        and informative["size"].max() <= MAX_CONDITIONAL_GROUP
    ):
        return "conditional"
    return "fixed"


def control_matrix(
    closed: pd.DataFrame, controls: Sequence[str] = ()
) -> tuple[np.ndarray, list[str]]:
    """Standardised control columns for the closed deals (no intercept, no rep).

    Out: (matrix n x k, column names). Columns that do not vary are left out, so a store without
    amounts, or with one segment, simply has fewer controls.
    """
    cols: dict[str, np.ndarray] = {}
    if "amount" in closed.columns:
        amount = closed["amount"].to_numpy(dtype=float)
        has = np.isfinite(amount)
        if has.any():
            la = np.where(has, np.log1p(np.clip(amount, 0, None)), np.nan)
            la = np.where(has, la, np.nanmean(la))
            cols["log_amount"] = la
            if not has.all():
                cols["amount_missing"] = (~has).astype(float)
    if "n_calls" in closed.columns:
        cols["log_n_calls"] = np.log(closed["n_calls"].to_numpy(dtype=float).clip(1, None))
    for name in controls:
        if name not in closed.columns:
            raise ValueError(f"control {name!r} is not a deal attribute column")
        levels = closed[name].astype("str").fillna("(missing)")
        for level in sorted(levels.unique())[1:]:
            cols[f"{name}={level}"] = (levels == level).to_numpy(dtype=float)
    names, mats = [], []
    for name, col in cols.items():
        if np.nanstd(col) > 0:
            names.append(name)
            mats.append((col - col.mean()) / col.std())
    matrix = np.column_stack(mats) if mats else np.empty((len(closed), 0))
    return matrix, names


def _varies_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per row: does `values` take more than one value within the row's group?"""
    g = pd.Series(values).groupby(groups)
    return (g.transform("min") < g.transform("max")).to_numpy(dtype=bool)


def _dummies(codes: np.ndarray) -> np.ndarray:
    """Rep indicator columns, first rep as the reference level."""
    k = int(codes.max()) + 1 if codes.size else 0
    d = np.zeros((codes.size, max(k - 1, 0)))
    rows = np.flatnonzero(codes > 0)
    d[rows, codes[rows] - 1] = 1.0
    return d


def _fit_ok(res: object, coef: float, se: float) -> bool:
    converged = bool(getattr(res, "mle_retvals", {}).get("converged", True))
    return converged and np.isfinite(coef) and np.isfinite(se) and se < 10 and abs(coef) < 15


def _fit_feature(
    x: np.ndarray, y: np.ndarray, c: np.ndarray, reps: np.ndarray, method: str
) -> _Fit:
    """Log odds ratio of x with controls c under the rep control `method`; Firth on failure."""
    one = np.ones((x.size, 1))
    if method in ("fixed", "conditional"):
        design = np.column_stack([x, c, one, _dummies(reps)])
    else:
        design = np.column_stack([x, c, one])
    # A zero cell (every deal with, or without, the feature won, or lost) means separation: the
    # ordinary estimate is infinite, so go straight to Firth.
    cells = [np.sum((x == a) & (y == b)) for a in (0, 1) for b in (0, 1)]
    if min(cells) > 0:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if method == "conditional":
                    res = FastConditionalLogit(y, np.column_stack([x, c]), groups=reps).fit(
                        method="newton", maxiter=100, disp=False
                    )
                    label = "conditional logit by rep"
                elif method == "cluster":
                    res = sm.Logit(y, design).fit(
                        method="newton",
                        maxiter=100,
                        disp=False,
                        cov_type="cluster",
                        cov_kwds={"groups": reps},
                    )
                    label = "logit, rep-clustered SE"
                else:
                    res = sm.Logit(y, design).fit(method="newton", maxiter=100, disp=False)
                    label = "logit + rep fixed effects" if method == "fixed" else "logit"
                coef = float(np.asarray(res.params)[0])
                se = float(np.asarray(res.bse)[0])
                bad = any(
                    issubclass(
                        w.category,
                        (PerfectSeparationWarning, ConvergenceWarning, HessianInversionWarning),
                    )
                    for w in caught
                )
                if not bad and _fit_ok(res, coef, se):
                    return _Fit(
                        coef,
                        coef - Z95 * se,
                        coef + Z95 * se,
                        float(np.asarray(res.pvalues)[0]),
                        label,
                    )
            except (np.linalg.LinAlgError, PerfectSeparationError, ValueError):
                pass
    est = firth_coefficient(design, y, 0)
    label = (
        "Firth logit + rep fixed effects" if method in ("fixed", "conditional") else "Firth logit"
    )
    if not est.converged:
        raise np.linalg.LinAlgError("Firth fit did not converge")
    return _Fit(est.coef, est.ci_low, est.ci_high, est.p_value, label)


def _candidate_features(
    features: pd.DataFrame, binary: Sequence[str] | None, metric: Sequence[str] | None
) -> list[tuple[str, str]]:
    """(reported name, source column) for every feature to report."""
    out = [(b, b) for b in (binary if binary is not None else binary_feature_names(features))]
    for m in metric if metric is not None else metric_feature_names(features):
        out.append((f"{m}_above_median", m))
    return out


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS single-threaded inside the block.

    The models here are small (thousands of rows, tens to a few hundred columns); a threaded
    BLAS gains nothing on them and, on a busy machine, its spinning threads made each fit up to
    100 times slower in our measurements. threadpoolctl comes with scikit-learn.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn (and so threadpoolctl) is a dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def effects(
    features: pd.DataFrame,
    *,
    binary: Sequence[str] | None = None,
    metric: Sequence[str] | None = None,
    rep_control: str = "auto",
    min_deals: int = 10,
    controls: Sequence[str] = (),
) -> pd.DataFrame:
    """Association of each deal feature with winning.

    In: a deal_features frame; optionally which yes/no (`binary`) and numeric (`metric`, split at
    the median closed deal) columns to test; the rep control; the minimum deals per side; CRM
    attribute columns to control for. Out: one row per feature with EFFECT_COLUMNS then
    DETAIL_COLUMNS. Rows that are not estimated keep their counts and win rates and have NaN
    odds ratio, interval, p and q, with `status` and `note` saying why.
    """
    with single_threaded_blas():
        return _effects(features, binary, metric, rep_control, min_deals, controls)


def _effects(
    features: pd.DataFrame,
    binary: Sequence[str] | None,
    metric: Sequence[str] | None,
    rep_control: str,
    min_deals: int,
    controls: Sequence[str],
) -> pd.DataFrame:
    closed = features[features["won"].notna()].reset_index(drop=True)
    method = resolve_rep_control(closed, rep_control)
    y_all = closed["won"].to_numpy(dtype=float)
    n_won, n_lost = int(y_all.sum()), int((1 - y_all).sum())
    enough = n_won >= min_deals and n_lost >= min_deals
    reps_all = closed["rep_id"].fillna(UNKNOWN_REP).astype(str)
    c_all, _ = control_matrix(closed, controls) if len(closed) else (np.empty((0, 0)), [])

    # Within-rep methods learn nothing from a rep whose closed deals all won (or all lost).
    if method in ("fixed", "conditional"):
        in_model = _varies_within(y_all, reps_all.to_numpy())
    else:
        in_model = np.ones(len(closed), dtype=bool)

    rows = []
    for name, column in _candidate_features(features, binary, metric):
        raw = closed[column] if column in closed.columns else pd.Series(np.nan, index=closed.index)
        threshold = np.nan
        if name != column:  # numeric metric: above the median closed deal
            values = raw.to_numpy(dtype=float)
            threshold = float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan
            x = np.where(np.isfinite(values), (values > threshold).astype(float), np.nan)
        else:
            x = raw.astype(float).to_numpy()
        known = np.isfinite(x)
        with_, without = known & (x == 1), known & (x == 0)
        row = {
            "feature": name,
            "n_with": int(with_.sum()),
            "n_without": int(without.sum()),
            "won_with": int(y_all[with_].sum()),
            "won_without": int(y_all[without].sum()),
            "threshold": threshold,
            "n_model": 0,
            "method": "",
            "status": INSUFFICIENT,
            "note": "",
        }
        if not enough:
            row["note"] = (
                f"only {n_won} won and {n_lost} lost deals; at least {min_deals} of each are needed"
            )
            rows.append(row)
            continue
        if min(row["n_with"], row["n_without"]) < min_deals:
            row["note"] = f"fewer than {min_deals} deals on one side"
            rows.append(row)
            continue
        use = known & in_model
        xm, ym = x[use], y_all[use]
        reps = pd.factorize(reps_all[use])[0]
        if min((xm == 1).sum(), (xm == 0).sum()) < min_deals:
            row["note"] = (
                f"fewer than {min_deals} deals on one side among reps with both won and lost deals"
            )
            rows.append(row)
            continue
        if method in ("fixed", "conditional") and not _varies_within(xm, reps).any():
            row["status"] = NOT_ESTIMABLE
            row["note"] = "the feature never varies within a rep, so the rep control absorbs it"
            rows.append(row)
            continue
        row["n_model"] = int(use.sum())
        cm = c_all[use]
        if method in ("fixed", "conditional") and cm.shape[1]:
            # A control constant within every rep is already absorbed by the rep control and
            # would make the design singular.
            cm = cm[:, [_varies_within(cm[:, k], reps).any() for k in range(cm.shape[1])]]
        try:
            fit = _fit_feature(xm, ym, cm, reps, method)
        except (np.linalg.LinAlgError, ValueError) as exc:
            row["status"] = NOT_ESTIMABLE
            row["note"] = f"model could not be fitted ({exc})"
            rows.append(row)
            continue
        row.update(
            odds_ratio=float(np.exp(fit.coef)),
            ci_low=float(np.exp(fit.low)),
            ci_high=float(np.exp(fit.high)),
            p_value=fit.p,
            method=fit.method,
            status=FIRTH if fit.method.startswith("Firth") else ESTIMATED,
        )
        if row["status"] == FIRTH:
            row["note"] = "ordinary fit failed (separation or no convergence); Firth estimate"
        rows.append(row)

    return _finish(pd.DataFrame(rows, columns=list(dict.fromkeys(EFFECT_COLUMNS + DETAIL_COLUMNS))))


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    """Win rates, Wilson and Newcombe intervals, and BH q-values for the assembled rows."""
    n1 = out["n_with"].to_numpy(dtype=float)
    n0 = out["n_without"].to_numpy(dtype=float)
    k1 = out["won_with"].to_numpy(dtype=float)
    k0 = out["won_without"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["win_rate_with"] = np.where(n1 > 0, k1 / n1, np.nan)
        out["win_rate_without"] = np.where(n0 > 0, k0 / n0, np.nan)
    out["win_rate_with_low"], out["win_rate_with_high"] = wilson_interval(k1, n1)
    out["win_rate_without_low"], out["win_rate_without_high"] = wilson_interval(k0, n0)
    d, lo, hi = newcombe_difference(k1, n1, k0, n0)
    out["win_rate_diff"], out["win_rate_diff_low"], out["win_rate_diff_high"] = d, lo, hi
    for col in ("odds_ratio", "ci_low", "ci_high", "p_value"):
        out[col] = out[col].astype(float)
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(dtype=float))
    for col in ("n_with", "n_without", "won_with", "won_without", "n_model"):
        out[col] = out[col].astype(int)
    return out[list(dict.fromkeys(EFFECT_COLUMNS + DETAIL_COLUMNS))]
