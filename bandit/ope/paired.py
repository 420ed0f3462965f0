"""Paired comparisons of two targets on the same rows, summarised chunk by chunk.

Value(a) − value(b) of one estimator (SNIPS by default) on the same logged rows: the
moments of both estimators' columns, stacked, give the delta-method variance of the
difference, gᵀCg with g = (∇a, −∇b), from merged summaries — the same numbers as
:func:`bandit.ope.compare` on the whole log, in flat memory, mergeable across nights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bandit.errors import InvalidInput
from bandit.ope.core import Estimator
from bandit.ope.data import LoggedData
from bandit.ope.estimators import SNIPS
from bandit.ope.moments import Moments


@dataclass(frozen=True, eq=False)
class StreamingComparison:
    """Paired difference value(a) − value(b) of one estimator on the same rows, chunk by chunk.

    Its per-row differences of linearised terms have exactly the variance of
    :func:`bandit.ope.compare`'s.

    >>> from bandit.ope import compare
    >>> log = dict(reward=[1.0, 0.0, 1.0, 1.0], p_log=[0.5, 0.5, 0.5, 0.5])
    >>> a, b = LoggedData(p_target=[1.0, 0.0, 1.0, 0.5], **log), LoggedData(p_target=[0.5, 0.5, 0.5, 0.5], **log)
    >>> streamed = StreamingComparison().update(a, b).result(0.05)
    >>> batch = compare(a, b, SNIPS())
    >>> [round(x, 12) for x in (streamed["difference"], streamed["low"], streamed["p_value"])] == [
    ...     round(x, 12) for x in (batch.difference, batch.low, batch.p_value)]
    True
    """

    estimator: Estimator = SNIPS()
    moments: Moments | None = None

    def update(self, a: LoggedData, b: LoggedData) -> StreamingComparison:
        if len(a) != len(b) or not np.array_equal(a.p_log, b.p_log) or not np.array_equal(a.reward, b.reward):
            raise InvalidInput("a paired comparison needs the same rows, rewards and p_log", field="data_b")
        chunk = Moments.of(np.vstack([self.estimator.columns(a), self.estimator.columns(b)]))
        return StreamingComparison(self.estimator, chunk if self.moments is None else self.moments + chunk)

    def __add__(self, other: StreamingComparison) -> StreamingComparison:
        if self.moments is None or other.moments is None:
            return other if self.moments is None else self
        return StreamingComparison(self.estimator, self.moments + other.moments)

    @property
    def n(self) -> int:
        return 0 if self.moments is None else self.moments.n

    def linearised(self) -> tuple[float, float, int] | None:
        """``(difference, sd, n)``: the difference and the standard deviation of its per-row
        delta-method terms (sd / √n is its standard error); None where the difference is
        undefined (a target with no weight on any row). sd is 0 below two rows."""
        if self.moments is None:
            return None
        half = self.moments.width // 2
        mean_a, mean_b = self.moments.mean[:half], self.moments.mean[half:]
        a, b = float(self.estimator.statistic(mean_a)), float(self.estimator.statistic(mean_b))
        if not (math.isfinite(a) and math.isfinite(b)):
            return None
        n = self.moments.n
        if n < 2:
            return a - b, 0.0, n
        grad = np.concatenate([self.estimator.gradient(mean_a), -self.estimator.gradient(mean_b)])
        spread = float(grad @ self.moments.comoment @ grad)
        # As in Estimator.interval_from_moments: a spread that cancels to rounding noise is 0.
        scale = float(np.abs(grad) @ np.sqrt(np.abs(np.diag(self.moments.comoment)))) ** 2
        return a - b, math.sqrt(spread / (n - 1)) if spread > 1e-12 * scale else 0.0, n

    def result(self, alpha: float) -> dict[str, float | int | None]:
        """``{difference, low, high, p_value, decisions}`` with a fixed-sample t-interval;
        None where undefined (JSON-safe)."""
        out: dict[str, float | int | None] = {"difference": None, "low": None, "high": None, "p_value": None,
                                              "decisions": self.n}
        found = self.linearised()
        if found is None:
            return out
        difference, sd, n = found
        out["difference"] = difference
        if n < 2:
            return out
        se = sd / math.sqrt(n)
        if se == 0:  # every row differs by the same amount: the difference is known
            return {**out, "low": difference, "high": difference, "p_value": float(difference == 0)}
        width = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
        p_value = float(2 * stats.t.sf(abs(difference) / se, n - 1))
        return {**out, "low": difference - width, "high": difference + width, "p_value": p_value}
