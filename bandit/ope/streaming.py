"""Streaming estimates: summarise a log chunk by chunk, merge summaries in any order.

A summary keeps only :class:`~bandit.ope.moments.Moments` of the estimator's columns,
so it is O(columns) in size whatever the log's length, and merged summaries give the
batch estimate and Gaussian/Bernstein intervals to rounding. Bootstrap needs the rows
and is therefore batch-only. Slate chunks must hold whole decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from bandit.errors import InvalidInput
from bandit.ope.core import Estimator
from bandit.ope.data import LoggedData
from bandit.ope.interval import Interval
from bandit.ope.moments import Moments


@dataclass(frozen=True, eq=False)
class StreamingEstimate:
    """Mergeable sufficient statistics of one estimator.

    >>> from bandit.ope.estimators import IPS
    >>> chunk = LoggedData(reward=[1.0, 0.0], p_log=[0.5, 0.5], p_target=[1.0, 1.0])
    >>> left = StreamingEstimate(IPS()).update(chunk)
    >>> right = StreamingEstimate(IPS()).update(chunk)
    >>> (left + right).estimate(), (left + right).n
    (1.0, 4)
    """

    estimator: Estimator
    moments: Moments | None = None

    @property
    def n(self) -> int:
        """Units seen: rows, or decisions for slate estimators."""
        return 0 if self.moments is None else self.moments.n

    def update(self, chunk: LoggedData) -> StreamingEstimate:
        """A new summary that also covers ``chunk``; ``self`` is left unchanged."""
        return self + StreamingEstimate(self.estimator, Moments.of(self.estimator.columns(chunk)))

    def __add__(self, other: StreamingEstimate) -> StreamingEstimate:
        if other.estimator != self.estimator:
            raise InvalidInput(
                f"cannot merge summaries of {self.estimator!r} and {other.estimator!r}", field="estimator"
            )
        if self.moments is None or other.moments is None:
            return other if self.moments is None else self
        return StreamingEstimate(self.estimator, self.moments + other.moments)

    def _summary(self) -> Moments:
        if self.moments is None:
            raise InvalidInput("no data has been added to this summary", field="data")
        return self.moments

    def estimate(self) -> float:
        return self.estimator.value(self._summary().mean)

    def interval(self, alpha: float = 0.05, method: str = "gaussian") -> Interval:
        """Gaussian or Bernstein interval, equal to the batch one on the same rows."""
        return self.estimator.interval_from_moments(self._summary(), alpha, method)
