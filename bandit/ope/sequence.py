"""Confidence sequences: intervals that stay valid however often they are looked at.

A report is read every night. A fixed-sample 95 % interval checked after each of 30
nights excludes a true zero on *some* night far more often than 5 % of the time; a
confidence sequence covers the truth at every night at once with probability 1 − α, so a
finding it shows can be acted on whenever it appears.

This one is the Gaussian-mixture (Robbins) asymptotic confidence sequence of Waudby-Smith,
Arbour, Sinha, Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic
confidence sequences" (Annals of Statistics, 2024; arXiv:2103.06476), Theorem 2.2: for the
mean of n units with sample standard deviation σ̂,

    μ̂ ± σ̂ · sqrt( 2 (n η² + 1) / (n² η²) · log( sqrt(n η² + 1) / α ) ),

two-sided, level 1 − α, valid uniformly over n as n grows (the mixture martingale of
Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic
confidence sequences", with the variance estimated). It needs only n, the mean and the
variance, so it is computed from merged :class:`~bandit.ope.moments.Moments` — nightly
summaries pooled without re-reading old decisions. For a ratio estimator (SNIPS) the
units are the delta-method linearisation, as for the fixed interval.

η only moves where the sequence is tightest: ``tightest_at`` units (the paper's choice
η² = (−2 log α + log(1 − 2 log α)) / n*). At n = n* the half-width is 1.55 times the
fixed-sample 95 % one — the price of looking every night.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bandit.ope.interval import Interval, check_alpha


@dataclass(frozen=True)
class ConfidenceSequence:
    """The Gaussian-mixture asymptotic confidence sequence at level ``1 − alpha``.

    >>> cs = ConfidenceSequence(alpha=0.05, tightest_at=1000)
    >>> round(cs.half_width(sd=1.0, n=1000) / (1.96 / math.sqrt(1000)), 2)
    1.55
    >>> cs.interval(0.5, sd=1.0, n=1000).low < 0.5 - 1.96 / math.sqrt(1000)
    True
    >>> cs.half_width(1.0, 4000) < cs.half_width(1.0, 1000)  # more data, tighter
    True
    """

    alpha: float = 0.05
    #: units at which the sequence is tightest (any fixed value keeps it valid)
    tightest_at: float = 5000.0

    @property
    def eta2(self) -> float:
        log_alpha = math.log(check_alpha(self.alpha))
        return (-2 * log_alpha + math.log(1 - 2 * log_alpha)) / self.tightest_at

    def half_width(self, sd: float, n: float) -> float:
        """Half-width after ``n`` units with per-unit standard deviation ``sd`` (inf below 2)."""
        if n < 2 or not math.isfinite(sd):
            return math.inf
        grown = n * self.eta2 + 1
        return sd * math.sqrt(2 * grown / (n * n * self.eta2) * math.log(math.sqrt(grown) / self.alpha))

    def interval(self, estimate: float, sd: float, n: float) -> Interval:
        half = self.half_width(sd, n)
        return Interval(estimate, estimate - half, estimate + half)

    def units_for(self, sd: float, half_width: float, limit: float = 1e12) -> float:
        """The fewest units after which the half-width is at most ``half_width`` (inf if
        more than ``limit`` would be needed). The width shrinks monotonically past a few
        units, so a bisection on a log scale finds it.

        >>> cs = ConfidenceSequence(tightest_at=1000)
        >>> n = cs.units_for(1.0, 0.1)
        >>> cs.half_width(1.0, n) <= 0.1 < cs.half_width(1.0, n - 1)
        True
        """
        if sd == 0:
            return 2.0
        if not half_width > 0 or self.half_width(sd, limit) > half_width:
            return math.inf
        low, high = 2.0, limit
        while high - low > 1:
            middle = math.floor(math.sqrt(low * high)) if high > 4 * low else (low + high) // 2
            middle = min(max(middle, low + 1), high - 1)
            if self.half_width(sd, middle) <= half_width:
                high = middle
            else:
                low = middle
        return high

    def p_value(self, estimate: float, sd: float, n: float) -> float:
        """Anytime-valid p-value of "the mean is 0": 1 / the mixture martingale (Ville), so
        that p ≤ α exactly when the sequence at level α excludes 0. Valid at any night
        looked at, and what the false-discovery control of a night's findings is fed.

        >>> cs = ConfidenceSequence(alpha=0.05, tightest_at=1000)
        >>> half = cs.half_width(1.0, 1000)
        >>> round(cs.p_value(half, 1.0, 1000), 6)
        0.05
        """
        if n < 2 or sd == 0 or not math.isfinite(sd):
            return 1.0 if estimate == 0 or n < 2 else 0.0
        grown = n * self.eta2 + 1
        z2 = (estimate / sd) ** 2 * n * n * self.eta2 / (2 * grown)
        log_martingale = z2 - 0.5 * math.log(grown)
        return min(1.0, math.exp(-log_martingale)) if log_martingale < 700 else 0.0
