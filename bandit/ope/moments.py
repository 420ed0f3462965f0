"""Mergeable sufficient statistics of per-unit columns (Chan, Golub & LeVeque 1979).

Every estimator is a smooth function of column means, and its Gaussian and Bernstein
intervals need only the columns' count, means, co-moments and ranges. Keeping these
(and not sums of squares) lets a log be summarised chunk by chunk and merged in any
order with the same numbers, to rounding, as one pass over everything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Moments:
    """Count, mean, co-moment matrix sum((x - mean)(x - mean)^T) and range per column.

    >>> a = Moments.of(np.array([[1.0, 2.0]]))
    >>> b = Moments.of(np.array([[3.0, 4.0]]))
    >>> both = a + b
    >>> both.n, float(both.mean[0]), float(both.comoment[0, 0])
    (4, 2.5, 5.0)
    """

    n: int
    mean: np.ndarray  # (m,)
    comoment: np.ndarray  # (m, m)
    low: np.ndarray  # (m,) column minima
    high: np.ndarray  # (m,) column maxima

    @classmethod
    def of(cls, columns: np.ndarray) -> Moments:
        """Moments of an (m, n) array: m columns over n units."""
        mean = columns.mean(axis=1)
        centred = columns - mean[:, None]
        return cls(columns.shape[1], mean, centred @ centred.T, columns.min(axis=1), columns.max(axis=1))

    def to_dict(self) -> dict[str, object]:
        """Plain JSON values (lists of floats), so a night's summary can be stored and merged
        with later nights'; :meth:`from_dict` reads it back exactly (floats round-trip).

        >>> m = Moments.of(np.array([[1.0, 2.0, 4.0]]))
        >>> back = Moments.from_dict(m.to_dict())
        >>> back.n, back.mean.tolist() == m.mean.tolist(), back.comoment.tolist() == m.comoment.tolist()
        (3, True, True)
        """
        return {"n": self.n, "mean": self.mean.tolist(), "comoment": self.comoment.tolist(),
                "low": self.low.tolist(), "high": self.high.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Moments:
        return cls(int(data["n"]), np.asarray(data["mean"], dtype=np.float64),  # type: ignore[arg-type]
                   np.asarray(data["comoment"], dtype=np.float64), np.asarray(data["low"], dtype=np.float64),  # type: ignore[arg-type]
                   np.asarray(data["high"], dtype=np.float64))  # type: ignore[arg-type]

    def variance(self, column: int = 0) -> float:
        """Sample variance (ddof=1) of one column; 0 below two units."""
        return float(self.comoment[column, column]) / (self.n - 1) if self.n > 1 else 0.0

    @property
    def width(self) -> int:
        return int(self.mean.size)

    def padded(self, width: int) -> Moments:
        """The same moments with all-zero columns appended up to ``width``.

        Slate estimators have a column block per slot position; a chunk whose slates
        are shorter simply never saw the later slots, which is what zeros say.
        """
        extra = width - self.width
        if extra <= 0:
            return self
        return Moments(
            self.n,
            np.pad(self.mean, (0, extra)),
            np.pad(self.comoment, ((0, extra), (0, extra))),
            np.pad(self.low, (0, extra)),
            np.pad(self.high, (0, extra)),
        )

    def __add__(self, other: Moments) -> Moments:
        width = max(self.width, other.width)
        a, b = self.padded(width), other.padded(width)
        n = a.n + b.n
        delta = b.mean - a.mean
        # Chan et al.: shift the mean by the weighted delta and add the between-chunk
        # term; no large sums of squares are ever subtracted.
        mean = a.mean + delta * (b.n / n)
        comoment = a.comoment + b.comoment + np.outer(delta, delta) * (a.n * b.n / n)
        return Moments(n, mean, comoment, np.minimum(a.low, b.low), np.maximum(a.high, b.high))
