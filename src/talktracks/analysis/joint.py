"""The mutually adjusted model: which rows enter it, how nested features are coded, the fit.

effects.py decides what to report; this module owns the joint model's design. A feature that
implies another (early price implies price) is coded against it (see nest), so each
coefficient has a plain reading, and the fit raises JointModelError, never returns a
half-estimated model, so the caller can fall back to one model per feature visibly.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
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
    EARLY_PRICE,
    PRICE,
    PRICE_BEFORE_PRODUCT,
    binary_feature_names,
    metric_feature_names,
)

INSUFFICIENT = "insufficient data"
NOT_ESTIMABLE = "not estimable"

EVENTS_PER_FEATURE = 10
"""The joint model is tried only with at least this many deals of the smaller outcome (won or
lost) per feature, the usual events-per-variable rule; below it, one model per feature."""
NESTED = {EARLY_PRICE: f"has_{PRICE}", PRICE_BEFORE_PRODUCT: f"has_{PRICE}"}
"""Features that imply another: coded in the joint model against their parent (see nest)."""


def varies_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per row: does `values` take more than one value within the row's group?"""
    g = pd.Series(values).groupby(groups)
    return (g.transform("min") < g.transform("max")).to_numpy(dtype=bool)


def dummies(codes: np.ndarray) -> np.ndarray:
    """Rep indicator columns, first rep as the reference level."""
    k = int(codes.max()) + 1 if codes.size else 0
    d = np.zeros((codes.size, max(k - 1, 0)))
    rows = np.flatnonzero(codes > 0)
    d[rows, codes[rows] - 1] = 1.0
    return d


@dataclass
class Candidate:
    """One reported feature: its model column and the two groups its row compares."""

    name: str
    x: np.ndarray  # the model column: 1/0, NaN where unknown
    threshold: float = np.nan
    parent: str | None = None  # nested under this feature (e.g. early price under price)
    with_: np.ndarray | None = None
    without: np.ndarray | None = None
    nested: bool = False
    children: tuple[str, ...] = ()  # nested features coded against this one
    status: str = ""
    note: str = ""


def candidates(
    features: pd.DataFrame,
    closed: pd.DataFrame,
    binary: Sequence[str] | None,
    metric: Sequence[str] | None,
) -> list[Candidate]:
    """Every feature to report, with its model column over the closed deals."""
    out: list[Candidate] = []
    names = list(binary if binary is not None else binary_feature_names(features))
    for name in names:
        raw = closed[name] if name in closed.columns else pd.Series(np.nan, index=closed.index)
        out.append(Candidate(name, raw.astype(float).to_numpy(), parent=NESTED.get(name)))
    for m in metric if metric is not None else metric_feature_names(features):
        raw = closed[m] if m in closed.columns else pd.Series(np.nan, index=closed.index)
        values = raw.to_numpy(dtype=float)
        threshold = float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan
        x = np.where(np.isfinite(values), (values > threshold).astype(float), np.nan)
        out.append(Candidate(f"{m}_above_median", x, threshold=threshold))
    present = {c.name for c in out}
    for c in out:
        if c.parent not in present:
            c.parent = None
    return out


def plain_groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    known = np.isfinite(x)
    return known & (x == 1), known & (x == 0)


def check_groups(
    c: Candidate,
    in_model: np.ndarray,
    reps_all: np.ndarray,
    method: str,
    min_deals: int,
) -> None:
    """Set c.status/note to INSUFFICIENT or NOT_ESTIMABLE when its groups are too thin."""
    assert c.with_ is not None and c.without is not None
    c.status, c.note = "", ""
    if min(c.with_.sum(), c.without.sum()) < min_deals:
        c.status, c.note = INSUFFICIENT, f"fewer than {min_deals} deals on one side"
        return
    if min((c.with_ & in_model).sum(), (c.without & in_model).sum()) < min_deals:
        c.status = INSUFFICIENT
        c.note = f"fewer than {min_deals} deals on one side among reps with both won and lost deals"
        return
    known = np.isfinite(c.x) & in_model
    if method in ("fixed", "conditional"):
        codes = pd.factorize(reps_all[known])[0]
        if not varies_within(c.x[known], codes).any():
            c.status = NOT_ESTIMABLE
            c.note = "the feature never varies within a rep, so the rep control absorbs it"


def nest(
    cands: list[Candidate],
    in_model: np.ndarray,
    reps_all: np.ndarray,
    method: str,
    min_deals: int,
) -> None:
    """Groups and checks for the joint model, coding nested features against their parent.

    With a parent P (price came up) and children C (early price, price before product) in one
    model, P's coefficient compares "P but none of the children" with "not P", and each
    child's compares "C" with "P but not C". A child whose parent cannot be estimated falls
    back to its plain reading, and a child that cannot be estimated leaves its parent's.
    """
    by_name = {c.name: c for c in cands}
    children = [c for c in cands if c.parent]
    for c in children:
        p = by_name[c.parent]  # type: ignore[index]
        c.with_ = np.isfinite(c.x) & (c.x == 1)
        c.without = (np.isfinite(p.x) & (p.x == 1)) & ~c.with_
        c.nested = True
        check_groups(c, in_model, reps_all, method, min_deals)
    for c in cands:
        if c.parent:
            continue
        mine = [k for k in children if k.parent == c.name and not k.status]
        with_, without = plain_groups(c.x)
        for k in mine:
            with_ = with_ & ~(k.x == 1)
        c.with_, c.without, c.nested = with_, without, bool(mine)
        c.children = tuple(k.name for k in mine)
        check_groups(c, in_model, reps_all, method, min_deals)
    for c in children:
        if by_name[c.parent].status:  # type: ignore[index]
            c.with_, c.without = plain_groups(c.x)
            c.nested = False
            check_groups(c, in_model, reps_all, method, min_deals)


class JointModelError(Exception):
    """The mutually adjusted model cannot be estimated on these data (message says why)."""


def design_rank_ok(design: np.ndarray, reps: np.ndarray, method: str) -> bool:
    if method == "conditional":
        # The conditional likelihood uses within-rep variation only.
        frame = pd.DataFrame(design)
        design = (frame - frame.groupby(reps).transform("mean")).to_numpy()
    return bool(np.linalg.matrix_rank(design) == design.shape[1])


def fit_joint(
    X: np.ndarray, names: list[str], y: np.ndarray, c: np.ndarray, reps: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(log odds ratios, standard errors, p-values, method label) of all columns of X at once.

    Raises JointModelError (too few deals per feature, separation, collinearity, no
    convergence) so the caller can fall back to one feature at a time, visibly.
    """
    k = X.shape[1]
    events = int(min(y.sum(), (1 - y).sum()))
    if events < EVENTS_PER_FEATURE * k:
        raise JointModelError(
            f"{events} deals in the smaller outcome group for {k} features; the joint model "
            f"needs at least {EVENTS_PER_FEATURE} per feature"
        )
    for j, name in enumerate(names):
        cells = [np.sum((X[:, j] == a) & (y == b)) for a in (0, 1) for b in (0, 1)]
        if min(cells) == 0:
            raise JointModelError(f"separation: every deal with or without {name} won, or lost")
    one = np.ones((y.size, 1))
    if method == "fixed":
        design = np.column_stack([X, c, one, dummies(reps)])
    elif method == "conditional":
        design = np.column_stack([X, c])
    else:
        design = np.column_stack([X, c, one])
    if not design_rank_ok(design, reps, method):
        raise JointModelError("the features are collinear (one is implied by the others)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res, label = fit_rep_controlled(y, design, design, reps, method)
            label = f"joint {label}"
        except (np.linalg.LinAlgError, PerfectSeparationError, ValueError) as exc:
            raise JointModelError(f"the fit failed ({exc})") from exc
    bad = [
        w
        for w in caught
        if issubclass(
            w.category, (PerfectSeparationWarning, ConvergenceWarning, HessianInversionWarning)
        )
    ]
    coef = np.asarray(res.params, dtype=float)[:k]
    se = np.asarray(res.bse, dtype=float)[:k]
    converged = bool(getattr(res, "mle_retvals", {}).get("converged", True))
    if bad or not converged or not (np.isfinite(coef).all() and np.isfinite(se).all()):
        raise JointModelError("the fit did not converge (separation or too little data)")
    if (np.abs(coef) >= 15).any() or (se >= 10).any():
        raise JointModelError("the fit is unstable (quasi-separation)")
    return coef, se, np.asarray(res.pvalues, dtype=float)[:k], label
