"""Which deal features go with winning: odds ratios with intervals, controls and BH correction.

Method (details and reasons in docs/analysis-method.md):
- Outcome: won (1) vs lost (0); open deals are left out.
- One mutually adjusted model: won vs lost on every behaviour, timing and call-metric feature
  together, with the controls, so each row reads "this feature, holding the others fixed".
  Features that imply another (early price implies price) are coded against their parent, so
  each row has a plain reading (the `reading` column). Each feature's own model (one at a
  time, same controls) is kept in the *_alone columns, and is the fallback, with a note and a
  logged warning, when the joint model cannot be estimated.
- Controls: the rep (see REP_CONTROLS), log amount when amounts exist (missing amounts get the
  mean and an indicator, so no deal is dropped), log number of calls (a deal with more calls has
  more chances to show any behaviour), and any CRM attribute columns named in `controls`.
- Call metrics enter as yes/no features "above the median deal", so every row has the same
  with/without reading.
- A feature with fewer than `min_deals` deals on either side is reported as insufficient data
  and not estimated; so is everything when there are fewer than `min_deals` won or lost deals.
- One at a time, when the ordinary fit fails (separation, no convergence) the feature is
  refitted with Firth's penalised likelihood and the row says so.
- min_detectable_odds_ratio: for rows not significant or not estimated, the smallest odds
  ratio the data could have detected with 80% power, so "no effect found" is not "no effect".
- q_value: Benjamini-Hochberg over the features actually estimated.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from talktracks.analysis.condlogit import fit_rep_controlled
from talktracks.analysis.features import (
    UNKNOWN_REP,
)
from talktracks.analysis.firth import firth_coefficient
from talktracks.analysis.joint import (
    INSUFFICIENT,
    NOT_ESTIMABLE,
    Candidate,
    JointModelError,
    candidates,
    check_groups,
    dummies,
    fit_joint,
    nest,
    plain_groups,
    varies_within,
)
from talktracks.analysis.labels import feature_label, reading
from talktracks.analysis.stats import (
    Z95,
    benjamini_hochberg,
    detectable_odds_ratio,
    detectable_odds_ratio_from_se,
    newcombe_difference,
    wilson_interval,
)

log = logging.getLogger(__name__)

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
    "reading",
    "odds_ratio_alone",
    "ci_low_alone",
    "ci_high_alone",
    "min_detectable_odds_ratio",
]
"""Exactly the columns of effects.csv; `effects()` returns these plus the detail columns.
odds_ratio/ci_* are from the joint model (each feature holding the others fixed); the *_alone
columns from one model per feature; min_detectable_odds_ratio is filled for rows that are not
significant or not estimated (80% power, two-sided 5% test)."""

DETAIL_COLUMNS = [
    "label",
    "nested",
    "min_detectable_odds_ratio_below",
    "model",
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
JOINT = "joint"
ALONE = "one at a time"
ESTIMATED = "estimated"
FIRTH = "estimated (Firth penalised)"


@dataclass
class _Fit:
    coef: float
    low: float
    high: float
    p: float
    method: str
    n: int = 0


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


def _fit_ok(res: object, coef: float, se: float) -> bool:
    converged = bool(getattr(res, "mle_retvals", {}).get("converged", True))
    return converged and np.isfinite(coef) and np.isfinite(se) and se < 10 and abs(coef) < 15


def _fit_feature(
    x: np.ndarray, y: np.ndarray, c: np.ndarray, reps: np.ndarray, method: str
) -> _Fit:
    """Log odds ratio of x with controls c under the rep control `method`; Firth on failure."""
    one = np.ones((x.size, 1))
    if method in ("fixed", "conditional"):
        design = np.column_stack([x, c, one, dummies(reps)])
    else:
        design = np.column_stack([x, c, one])
    # A zero cell (every deal with, or without, the feature won, or lost) means separation: the
    # ordinary estimate is infinite, so go straight to Firth.
    cells = [np.sum((x == a) & (y == b)) for a in (0, 1) for b in (0, 1)]
    if min(cells) > 0:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res, label = fit_rep_controlled(y, design, np.column_stack([x, c]), reps, method)
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
    joint: bool = True,
) -> pd.DataFrame:
    """Association of each deal feature with winning, from one mutually adjusted model.

    In: a deal_features frame; optionally which yes/no (`binary`) and numeric (`metric`, split at
    the median closed deal) columns to test; the rep control; the minimum deals per side; CRM
    attribute columns to control for; `joint=False` for one model per feature only. Out: one row
    per feature with EFFECT_COLUMNS then DETAIL_COLUMNS. `reading` says what each row compares.
    Rows that are not estimated keep their counts and win rates and have NaN odds ratio,
    interval, p and q, with `status` and `note` saying why. When the joint model cannot be
    estimated every row falls back to its own model, `model` says "one at a time" and `note`
    says why (also logged as a warning).
    """
    with single_threaded_blas():
        return _effects(features, binary, metric, rep_control, min_deals, controls, joint)


def _effects(
    features: pd.DataFrame,
    binary: Sequence[str] | None,
    metric: Sequence[str] | None,
    rep_control: str,
    min_deals: int,
    controls: Sequence[str],
    joint: bool,
) -> pd.DataFrame:
    closed = features[features["won"].notna()].reset_index(drop=True)
    method = resolve_rep_control(closed, rep_control)
    y_all = closed["won"].to_numpy(dtype=float)
    n_won, n_lost = int(y_all.sum()), int((1 - y_all).sum())
    enough = n_won >= min_deals and n_lost >= min_deals
    reps_all = closed["rep_id"].fillna(UNKNOWN_REP).astype(str).to_numpy()
    c_all, _ = control_matrix(closed, controls) if len(closed) else (np.empty((0, 0)), [])

    # Within-rep methods learn nothing from a rep whose closed deals all won (or all lost).
    if method in ("fixed", "conditional"):
        in_model = varies_within(y_all, reps_all)
    else:
        in_model = np.ones(len(closed), dtype=bool)

    cands = candidates(features, closed, binary, metric)
    alone: dict[str, _Fit | str] = {}
    # One model per feature: the secondary columns, and the fallback.
    for c in cands:
        plain = Candidate(c.name, c.x, c.threshold)
        plain.with_, plain.without = plain_groups(c.x)
        if enough:
            check_groups(plain, in_model, reps_all, method, min_deals)
        if not enough or plain.status:
            alone[c.name] = plain.status or INSUFFICIENT
            continue
        use = np.isfinite(c.x) & in_model
        alone[c.name] = _fit_alone(c.x[use], y_all[use], c_all[use], reps_all[use], method)

    joint_note = ""
    fit_rows: dict[str, tuple[float, float, float, str]] = {}
    n_joint = 0
    if enough and joint:
        nest(cands, in_model, reps_all, method, min_deals)
        chosen = [c for c in cands if not c.status]
        if chosen:
            X = np.column_stack([c.x for c in chosen])
            use = in_model & np.isfinite(X).all(axis=1)
            codes = pd.factorize(reps_all[use])[0]
            cm = _within_controls(c_all[use], codes, method)
            try:
                coef, se, p, label = fit_joint(
                    X[use], [c.name for c in chosen], y_all[use], cm, codes, method
                )
                n_joint = int(use.sum())
                for j, c in enumerate(chosen):
                    fit_rows[c.name] = (coef[j], se[j], p[j], label)
            except JointModelError as exc:
                joint_note = f"joint model not estimable: {exc}"
                log.warning("effects: %s; falling back to one model per feature", joint_note)
    use_joint = bool(fit_rows)
    if not use_joint:
        for c in cands:
            c.parent, c.nested, c.children = None, False, ()
            c.with_, c.without = plain_groups(c.x)

    rows = []
    for c in cands:
        assert c.with_ is not None and c.without is not None
        row: dict[str, object] = {
            "feature": c.name,
            "label": feature_label(c.name),
            "nested": bool(c.nested),
            "reading": reading(
                c.name, c.threshold, nested=c.nested, joint=use_joint, children=c.children
            ),
            "n_with": int(c.with_.sum()),
            "n_without": int(c.without.sum()),
            "won_with": int(y_all[c.with_].sum()),
            "won_without": int(y_all[c.without].sum()),
            "threshold": c.threshold,
            "n_model": 0,
            "method": "",
            "model": JOINT if use_joint else ALONE,
            "status": INSUFFICIENT,
            "note": "",
        }
        fa = alone.get(c.name)
        if isinstance(fa, _Fit):
            row.update(
                odds_ratio_alone=float(np.exp(fa.coef)),
                ci_low_alone=float(np.exp(fa.low)),
                ci_high_alone=float(np.exp(fa.high)),
            )
        if not enough:
            row["note"] = (
                f"only {n_won} won and {n_lost} lost deals; at least {min_deals} of each are needed"
            )
        elif use_joint:
            if c.name in fit_rows:
                b, s, p, label = fit_rows[c.name]
                row.update(
                    odds_ratio=float(np.exp(b)),
                    ci_low=float(np.exp(b - Z95 * s)),
                    ci_high=float(np.exp(b + Z95 * s)),
                    p_value=float(p),
                    method=label,
                    status=ESTIMATED,
                    n_model=n_joint,
                )
            else:
                row["status"], row["note"] = c.status, c.note + "; left out of the joint model"
        else:
            if isinstance(fa, _Fit):
                row.update(
                    odds_ratio=row["odds_ratio_alone"],
                    ci_low=row["ci_low_alone"],
                    ci_high=row["ci_high_alone"],
                    p_value=fa.p,
                    method=fa.method,
                    status=FIRTH if fa.method.startswith("Firth") else ESTIMATED,
                    n_model=fa.n,
                )
                if row["status"] == FIRTH:
                    row["note"] = (
                        "ordinary fit failed (separation or no convergence); Firth estimate"
                    )
            elif isinstance(fa, str):
                plain = Candidate(c.name, c.x, c.threshold)
                plain.with_, plain.without = plain_groups(c.x)
                check_groups(plain, in_model, reps_all, method, min_deals)
                row["status"] = plain.status or (fa if fa != INSUFFICIENT else NOT_ESTIMABLE)
                row["note"] = plain.note or "model could not be fitted"
            if joint_note:
                extra = (
                    f"{joint_note}; this row is estimated on its own, not adjusted for the others"
                )
                row["note"] = f"{row['note']}; {extra}" if row["note"] else extra
        rows.append(row)

    out = _finish(pd.DataFrame(rows, columns=ALL_COLUMNS))
    _add_detectable(out, y_all)
    return out


def _within_controls(c: np.ndarray, codes: np.ndarray, method: str) -> np.ndarray:
    """Controls constant within every rep are absorbed by the rep control; drop them."""
    if method in ("fixed", "conditional") and c.shape[1]:
        return c[:, [varies_within(c[:, k], codes).any() for k in range(c.shape[1])]]
    return c


def _fit_alone(
    x: np.ndarray, y: np.ndarray, c: np.ndarray, reps: np.ndarray, method: str
) -> _Fit | str:
    codes = pd.factorize(reps)[0]
    try:
        fit = _fit_feature(x, y, _within_controls(c, codes, method), codes, method)
    except (np.linalg.LinAlgError, ValueError):
        return NOT_ESTIMABLE
    fit.n = int(x.size)
    return fit


def _add_detectable(out: pd.DataFrame, y_all: np.ndarray) -> None:
    """min_detectable_odds_ratio for every row that is not significant or not estimated.

    Estimated rows: from the model's own standard error (so controls and the rep comparison
    are included). Rows not estimated: from the counts of the two groups and the base win
    rate of the comparison group, as for a plain 2x2 table (an optimistic approximation).
    """
    mde = np.full(len(out), np.nan)
    below = np.full(len(out), np.nan)
    q = out["q_value"].to_numpy(dtype=float)
    low = out["ci_low"].to_numpy(dtype=float)
    high = out["ci_high"].to_numpy(dtype=float)
    for i, r in enumerate(out.itertuples(index=False)):
        if np.isfinite(q[i]) and q[i] < SIGNIFICANCE:
            continue
        if np.isfinite(low[i]) and np.isfinite(high[i]) and low[i] > 0:
            se = (np.log(high[i]) - np.log(low[i])) / (2 * Z95)
            mde[i] = detectable_odds_ratio_from_se(se)
            below[i] = 1 / mde[i]
        else:
            n1, n0 = int(r.n_with), int(r.n_without)
            p0 = r.won_without / n0 if n0 else (y_all.mean() if y_all.size else np.nan)
            mde[i], below[i] = detectable_odds_ratio(n1, n0, float(p0))
    out["min_detectable_odds_ratio"] = mde
    out["min_detectable_odds_ratio_below"] = below


ALL_COLUMNS = list(dict.fromkeys(EFFECT_COLUMNS + DETAIL_COLUMNS))


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
    for col in (
        "odds_ratio",
        "ci_low",
        "ci_high",
        "p_value",
        "odds_ratio_alone",
        "ci_low_alone",
        "ci_high_alone",
    ):
        out[col] = out[col].astype(float)
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(dtype=float))
    for col in ("n_with", "n_without", "won_with", "won_without", "n_model"):
        out[col] = out[col].astype(int)
    return out[ALL_COLUMNS]
