"""Paired comparison of two target policies evaluated on the same log.

Both estimates reuse the same rows, so their errors are strongly correlated; the
interval of the difference comes from the per-unit differences of the estimators'
linearised terms, which is much tighter than combining two separate intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bandit.errors import InvalidInput
from bandit.ope.core import Estimator
from bandit.ope.data import LoggedData
from bandit.ope.estimators import IPS
from bandit.ope.interval import Interval, check_alpha


@dataclass(frozen=True)
class Comparison:
    """Estimate of value(a) - value(b), its t-interval and two-sided p-value."""

    difference: float
    low: float
    high: float
    p_value: float
    a: Interval
    b: Interval


def _check_same_log(data_a: LoggedData, data_b: LoggedData) -> None:
    if len(data_a) != len(data_b):
        raise InvalidInput(f"data_b has {len(data_b)} rows, data_a has {len(data_a)}", field="data_b")
    for name in ("reward", "p_log", "slot", "decision"):
        a, b = getattr(data_a, name), getattr(data_b, name)
        if (a is None) != (b is None) or (a is not None and not np.array_equal(a, b)):
            raise InvalidInput(f"data_a and data_b must share the same log: {name} differs", field="data_b")


def compare(
    data_a: LoggedData, data_b: LoggedData, estimator: Estimator = IPS(), alpha: float = 0.05
) -> Comparison:
    """Compare target a with target b on one log (same rows, rewards and p_log).

    >>> log = dict(reward=[1.0, 0.0, 1.0, 1.0], p_log=[0.5, 0.5, 0.5, 0.5])
    >>> result = compare(LoggedData(p_target=[1.0, 0.0, 1.0, 0.5], **log),
    ...                  LoggedData(p_target=[0.5, 0.5, 0.5, 0.5], **log))
    >>> result.difference  # IPS: (2 + 0 + 2 + 1)/4 - (1 + 0 + 1 + 1)/4
    0.5
    """
    check_alpha(alpha)
    _check_same_log(data_a, data_b)
    differences = estimator.influence(data_a) - estimator.influence(data_b)
    n = differences.size
    difference = float(differences.mean())
    interval_a = estimator.interval(data_a, alpha)
    interval_b = estimator.interval(data_b, alpha)
    if n < 2:
        return Comparison(difference, -math.inf, math.inf, math.nan, interval_a, interval_b)
    se = float(differences.std(ddof=1)) / math.sqrt(n)
    if se == 0:
        # Identical per-unit differences: the difference is known exactly.
        return Comparison(difference, difference, difference, float(difference == 0), interval_a, interval_b)
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
    p_value = float(2 * stats.t.sf(abs(difference) / se, n - 1))
    return Comparison(difference, difference - half, difference + half, p_value, interval_a, interval_b)
