"""What every estimator shares: a value that is a smooth function of column means.

An estimator says three things: the per-unit ``columns`` it averages (units are rows,
or decisions for slates), the ``statistic`` turning column means into the estimate,
and that statistic's ``gradient``. From these alone follow the point estimate, the
delta-method terms for Gaussian and Bernstein intervals, the bootstrap, streaming and
paired comparison — each written once, here.
"""

from __future__ import annotations

import math

import numpy as np

from bandit.errors import InvalidInput
from bandit.ope import bootstrap, interval
from bandit.ope.data import LoggedData
from bandit.ope.interval import Interval
from bandit.ope.moments import Moments


class Estimator:
    """Base of all estimators; subclasses are frozen dataclasses."""

    def columns(self, data: LoggedData) -> np.ndarray:
        """(m, units) array whose column means determine the estimate."""
        raise NotImplementedError

    def statistic(self, means: np.ndarray) -> np.ndarray:
        """Estimate from column means of shape (..., m); NaN where undefined."""
        return means[..., 0]

    def gradient(self, means: np.ndarray) -> np.ndarray:
        """d statistic / d means, shape (m,). The default suits one linear column."""
        return np.ones(1)

    def value(self, means: np.ndarray) -> float:
        """The estimate from column means, refusing an undefined one."""
        result = float(self.statistic(means))
        if not math.isfinite(result):
            raise InvalidInput(
                f"{type(self).__name__} is undefined here: the target policy gives zero "
                "weight to every logged action it would need",
                field="p_target",
            )
        return result

    def estimate(self, data: LoggedData) -> float:
        return self.value(self.columns(data).mean(axis=1))

    def influence(self, data: LoggedData) -> np.ndarray:
        """Per-unit terms whose mean is the estimate (delta-method linearisation).

        For linear estimators these are just the per-unit values.
        """
        columns = self.columns(data)
        means = columns.mean(axis=1)
        return self.value(means) + self.gradient(means) @ (columns - means[:, None])

    def interval(
        self,
        data: LoggedData,
        alpha: float = 0.05,
        method: str = "gaussian",
        n_boot: int = 1000,
        seed: int = 0,
    ) -> Interval:
        """Two-sided 1 - alpha interval: "gaussian", "bernstein" or "bootstrap"."""
        interval.check_method(method)
        interval.check_alpha(alpha)
        columns = self.columns(data)
        if method != "bootstrap":
            return self.interval_from_moments(Moments.of(columns), alpha, method)
        if not (isinstance(n_boot, int) and n_boot >= 1):
            raise InvalidInput(f"n_boot must be a positive integer, got {n_boot!r}", field="n_boot")
        estimate = self.value(columns.mean(axis=1))
        replicates = self.statistic(bootstrap.replicate_means(columns, n_boot, seed))
        return interval.percentile(estimate, replicates, alpha)

    def interval_from_moments(self, moments: Moments, alpha: float, method: str) -> Interval:
        """Gaussian or Bernstein interval from summary statistics alone."""
        interval.check_method(method, ("gaussian", "bernstein"))
        estimate = self.value(moments.mean)
        grad = self.gradient(moments.mean)
        grad = np.pad(grad, (0, moments.width - grad.size))
        spread = float(grad @ moments.comoment @ grad)
        # The linearised terms can be constant although the columns are not (SNIPS with
        # one row of non-zero weight): then grad' C grad cancels to rounding noise, whose
        # square root would be a spurious width that differs between batch and merged
        # summaries. Spread below 1e-12 of the uncancelled scale is zero.
        scale = float(np.abs(grad) @ np.sqrt(np.abs(np.diag(moments.comoment)))) ** 2
        variance = (spread if spread > 1e-12 * scale else 0.0) / max(moments.n - 1, 1)
        if method == "gaussian":
            return interval.gaussian(estimate, variance, moments.n, alpha)
        # Range of the linearised terms, bounded column by column so that streaming
        # summaries give it too; exact (the observed range) for one linear column.
        value_range = float(np.abs(grad) @ (moments.high - moments.low))
        return interval.bernstein(estimate, variance, value_range, moments.n, alpha)
