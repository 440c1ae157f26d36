"""Small interval and multiple-testing helpers shared by effects, tracks and KPIs.

Everything here is vectorised over numpy arrays and returns NaN (never raises) where a
quantity is undefined, e.g. a win rate over zero deals.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

Z95 = float(norm.ppf(0.975))


def wilson_interval(
    successes: np.ndarray | float, n: np.ndarray | float, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion.

    In: counts of successes and trials (arrays or scalars). Out: (low, high) arrays, NaN where
    n == 0. Wilson rather than the normal approximation because it stays inside [0, 1] and is
    honest for the small groups (10-30 deals) a sales team typically has.
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / m
        denom = 1 + z**2 / m
        centre = (p + z**2 / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z**2 / (4 * m**2)) / denom
        low = np.where(m > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(m > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def newcombe_difference(
    k1: np.ndarray | float, n1: np.ndarray | float, k2: np.ndarray | float, n2: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of two proportions p1 - p2 with Newcombe's hybrid score interval.

    In: successes and trials of both groups. Out: (difference, low, high). Built from the two
    Wilson intervals (Newcombe 1998, method 10), so it matches the per-group intervals shown.
    """
    k1, n1, k2, n2 = (np.asarray(a, dtype=float) for a in (k1, n1, k2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        l1, u1 = wilson_interval(k1, n1)
        l2, u2 = wilson_interval(k2, n2)
        d = p1 - p2
        low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN inputs stay NaN and are not counted.

    Only the tests actually performed enter the correction: a feature reported as "insufficient
    data" was never tested, so it must not dilute (or be diluted by) the others.
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    # Step-up: each q is the minimum over all larger ranks, capped at 1.
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q[order] = np.minimum(ranked, 1.0)
    return q


Z80 = float(norm.ppf(0.8))


def detectable_odds_ratio_from_se(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest odds ratio (above 1; its inverse below 1) a two-sided Wald test with this
    standard error of the log odds ratio detects with the given power: exp((z_a/2 + z_b) se)."""
    if not np.isfinite(se) or se <= 0:
        return float("nan")
    return float(np.exp((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * se))


def _log_or_se(log_or: float, n1: int, n0: int, p0: float) -> float:
    """Expected SE of the log odds ratio of a 2x2 table: group sizes n1, n0, base rate p0."""
    odds = p0 / (1 - p0) * np.exp(log_or)
    p1 = odds / (1 + odds)
    return float(np.sqrt(1 / (n1 * p1 * (1 - p1)) + 1 / (n0 * p0 * (1 - p0))))


def detectable_odds_ratio(
    n1: int, n0: int, p0: float, alpha: float = 0.05, power: float = 0.8
) -> tuple[float, float]:
    """Smallest odds ratio detectable with `power` by a two-sided Wald test on a 2x2 table.

    In: deals with (n1) and without (n0) the feature, and the win rate without it (p0). Solves
    |log OR| = (z_a/2 + z_b) * SE(log OR) for OR above 1 and below 1 (SE at the alternative)
    and returns (OR_up, OR_down). NaN when a group is empty or p0 is 0 or 1; inf (or 0) when
    no odds ratio within e^12 of 1 is detectable in that direction.
    """
    nan = float("nan")
    if n1 <= 0 or n0 <= 0 or not (0 < p0 < 1):
        return nan, nan
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    grid = np.linspace(0.0, 12.0, 1201)
    found = []
    for sign in (1.0, -1.0):
        # f(m) = m - z SE(m) is negative near 0 and, since SE grows again when the win rate of
        # the group nears 0 or 1, not monotone: take the first crossing on a grid, then bisect.
        f = np.array([m - z * _log_or_se(sign * m, n1, n0, p0) for m in grid])
        hits = np.flatnonzero(f >= 0)
        if hits.size == 0:
            found.append(np.inf if sign > 0 else 0.0)
            continue
        lo, hi = grid[hits[0] - 1], grid[hits[0]]
        for _ in range(40):
            mid = (lo + hi) / 2
            if mid - z * _log_or_se(sign * mid, n1, n0, p0) < 0:
                lo = mid
            else:
                hi = mid
        found.append(float(np.exp(sign * hi)))
    return found[0], found[1]
