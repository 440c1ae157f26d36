"""Conditional logistic regression with a vectorised likelihood, for reps with few deals.

statsmodels' ConditionalLogit evaluates each group's conditional likelihood with a recursive
Python function and approximates the Hessian numerically; with hundreds of reps that took
seconds per feature. This subclass keeps statsmodels' model and results machinery (fit, bse,
conf_int, pvalues) and replaces only loglike, score and hessian with one dynamic programme run
for all groups at once, with exact first and second derivatives.

For a group with n deals, k of them won, and weights w_i = exp(x_i b), the conditional
likelihood's denominator is the elementary symmetric polynomial e_k(w) = sum over all k-subsets
of the product of their weights. Adding deals one at a time, e_j <- e_j + w_t e_(j-1), gives
e_k for every group in n steps; differentiating that update (dw_t/db = w_t x_t) gives the
gradient and Hessian in the same pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from statsmodels.discrete.conditional_models import ConditionalLogit


class FastConditionalLogit(ConditionalLogit):
    """statsmodels ConditionalLogit with vectorised loglike, score and analytic hessian."""

    def __init__(self, endog: np.ndarray, exog: np.ndarray, **kwargs: object) -> None:
        super().__init__(endog, exog, **kwargs)
        sizes = np.asarray(self._groupsize, dtype=int)
        g, n, p = len(sizes), int(sizes.max()) if len(sizes) else 0, self.k_params
        self._x = np.zeros((g, n, p))
        self._mask = np.zeros((g, n), dtype=bool)
        self._xy = np.zeros(p)
        for i, (y, x) in enumerate(zip(self._endog_grp, self._exog_grp, strict=True)):
            self._x[i, : len(y)] = x
            self._mask[i, : len(y)] = True
            self._xy += np.asarray(y) @ x
        self._k = np.asarray(self._sumy, dtype=int)
        self._cache: tuple[bytes, tuple[float, np.ndarray, np.ndarray]] | None = None

    def _terms(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(log-likelihood, score, hessian) at params, cached for the last params.

        Newton asks for all three at the same point, so one pass serves the iteration.
        """
        b = np.asarray(params, dtype=float)
        key = b.tobytes()
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._compute(b))
        return self._cache[1]

    def _compute(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        g, n, p = self._x.shape
        kmax = int(self._k.max()) if g else 0
        eta = self._x @ b
        # Shift each group by its largest linear predictor so the weights stay <= 1; the shift
        # is a constant for the derivatives (log e_k(e^eta) = k m + log e_k(e^(eta - m))).
        shift = np.where(self._mask, eta, -np.inf).max(axis=1)
        w = np.where(self._mask, np.exp(eta - shift[:, None]), 0.0)
        e = np.zeros((g, kmax + 1))
        e[:, 0] = 1.0
        de = np.zeros((g, kmax + 1, p))
        d2e = np.zeros((g, kmax + 1, p, p))
        log_scale = np.zeros(g)
        for t in range(n):
            wt, xt = w[:, t], self._x[:, t, :]
            prev, dprev = e[:, :-1], de[:, :-1]
            # Highest order first: each update must read the previous step's lower orders.
            outer = xt[:, None, :, None] * xt[:, None, None, :]
            cross = xt[:, None, :, None] * dprev[..., None, :]
            d2e[:, 1:] += wt[:, None, None, None] * (
                outer * prev[..., None, None] + cross + np.swapaxes(cross, -1, -2) + d2e[:, :-1]
            )
            de[:, 1:] += wt[:, None, None] * (xt[:, None, :] * prev[..., None] + dprev)
            e[:, 1:] += wt[:, None] * prev
            # e_j grows like n-choose-j: rescale each group so large groups cannot overflow.
            top = e.max(axis=1)
            e /= top[:, None]
            de /= top[:, None, None]
            d2e /= top[:, None, None, None]
            log_scale += np.log(top)
        rows = np.arange(g)
        ek = e[rows, self._k]
        log_ek = np.log(ek) + log_scale
        loglike = float(self._xy @ b - np.sum(self._k * shift) - np.sum(log_ek))
        dek = de[rows, self._k] / ek[:, None]
        d2ek = d2e[rows, self._k] / ek[:, None, None]
        score = self._xy - dek.sum(axis=0)
        hessian = -(d2ek.sum(axis=0) - dek.T @ dek)
        return loglike, score, hessian

    def loglike(self, params: np.ndarray) -> float:
        return self._terms(params)[0]

    def score(self, params: np.ndarray) -> np.ndarray:
        return self._terms(params)[1]

    def hessian(self, params: np.ndarray) -> np.ndarray:
        return self._terms(params)[2]


def fit_rep_controlled(
    y: np.ndarray, design: np.ndarray, cond_design: np.ndarray, reps: np.ndarray, method: str
) -> tuple[Any, str]:
    """One logistic fit of won vs lost under the rep control `method`, and its label.

    conditional: conditional logit by rep on `cond_design` (no intercept, no rep dummies);
    cluster: ordinary logit with rep-clustered standard errors; fixed or none: ordinary logit
    (`design` then already holds the rep dummies for fixed). The caller catches fit failures
    and reads the warnings, since effects and the joint model judge them differently.
    """
    import statsmodels.api as sm

    if method == "conditional":
        res = FastConditionalLogit(y, cond_design, groups=reps).fit(
            method="newton", maxiter=100, disp=False
        )
        return res, "conditional logit by rep"
    if method == "cluster":
        res = sm.Logit(y, design).fit(
            method="newton",
            maxiter=100,
            disp=False,
            cov_type="cluster",
            cov_kwds={"groups": reps},
        )
        return res, "logit, rep-clustered SE"
    res = sm.Logit(y, design).fit(method="newton", maxiter=100, disp=False)
    return res, "logit + rep fixed effects" if method == "fixed" else "logit"
