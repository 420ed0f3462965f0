"""Confidence intervals: the named result type and the three ways to compute one.

Every function here works on summary numbers (n, variance, range of per-unit terms) or
on bootstrap replicates, never on raw data, so batch and streaming share one code path.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats

from bandit.errors import InvalidInput

METHODS = ("gaussian", "bernstein", "bootstrap")


class Interval(NamedTuple):
    """A point estimate with a two-sided interval.

    >>> Interval(0.5, 0.25, 1.0).width
    0.75
    """

    estimate: float
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


def check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise InvalidInput(f"alpha must lie in (0, 1), got {alpha}", field="alpha")
    return float(alpha)


def check_method(method: str, allowed: tuple[str, ...] = METHODS) -> str:
    if method not in allowed:
        raise InvalidInput(f"method must be one of {allowed}, got {method!r}", field="method")
    return method


def _unbounded(estimate: float) -> Interval:
    # One unit says nothing about spread; an infinite interval is the honest answer.
    return Interval(estimate, -math.inf, math.inf)


def gaussian(estimate: float, variance: float, n: int, alpha: float) -> Interval:
    """CLT interval: estimate +- z_{1-alpha/2} * sqrt(variance / n).

    ``variance`` is the sample variance (ddof=1) of the per-unit terms whose mean is
    the estimate (for ratio estimators, the delta-method linearisation).

    >>> gaussian(1.0, 4.0, 100, 0.05)
    Interval(estimate=1.0, low=0.608..., high=1.391...)
    """
    if n < 2:
        return _unbounded(estimate)
    half = float(stats.norm.ppf(1 - check_alpha(alpha) / 2)) * math.sqrt(variance / n)
    return Interval(estimate, estimate - half, estimate + half)


def bernstein(estimate: float, variance: float, value_range: float, n: int, alpha: float) -> Interval:
    """Empirical Bernstein interval (Maurer & Pontil 2009, Theorem 4), two-sided.

    For terms in an interval of length R, with probability >= 1 - delta one side holds:
    |mean - E| <= sqrt(2 V ln(2/delta) / n) + 7 R ln(2/delta) / (3 (n - 1)),
    V the sample variance (ddof=1). Each side gets delta = alpha / 2 (union bound).
    R is the *observed* range of the terms, not an a-priori bound: with unbounded
    importance weights no a-priori bound exists, so the guarantee is only as good as
    the assumption that the sample saw the extremes.

    >>> bernstein(0.0, 1.0, 2.0, 101, 0.05).high
    0.499...
    """
    if n < 2:
        return _unbounded(estimate)
    log_term = math.log(4 / check_alpha(alpha))
    half = math.sqrt(2 * variance * log_term / n) + 7 * value_range * log_term / (3 * (n - 1))
    return Interval(estimate, estimate - half, estimate + half)


def percentile(estimate: float, replicates: np.ndarray, alpha: float) -> Interval:
    """Percentile bootstrap interval around ``estimate``.

    Replicates that are NaN (a resample where a ratio estimator's denominator was 0)
    are left out: the interval is then conditional on a defined estimate.

    >>> percentile(0.5, np.arange(101.0), 0.1)
    Interval(estimate=0.5, low=5.0, high=95.0)
    """
    alpha = check_alpha(alpha)
    finite = replicates[~np.isnan(replicates)]
    if finite.size == 0:
        return _unbounded(estimate)
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return Interval(estimate, float(low), float(high))
