"""Arm against arm in a randomised experiment whose unit is the user: per-user ratio metrics
with user-level (cluster-robust) intervals that stay valid however often they are read.

A metric of an arm is a ratio of sums over its users — likes given per slate shown is
Σ likes / Σ slates — so a user with many slates weighs more, as in the log, and the
dependence between one user's decisions is kept inside that user: the unit of the
variance is the user (cluster-robust, by the delta method), never the decision. Users
are assigned to arms independently of everything (a keyed hash), so the difference of
two arms' ratios estimates the effect of the arm.

The interval on the difference is the asymptotic confidence sequence of
:mod:`bandit.ope.sequence` applied to the estimator's influence function — the
construction Waudby-Smith et al. (2024, §3) give for average treatment effects in
randomised experiments. With n users, a share π_a of them in arm a and σ_a² the variance of
arm a's linearised per-user terms ``(num − R_a·den) / mean(den)``, the difference
R_t − R_c has per-unit variance ``σ_t²/π_t + σ_c²/π_c``; the relative effect R_t/R_c − 1
has ``σ_t²/(R_c² π_t) + R_t² σ_c²/(R_c⁴ π_c)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bandit.ope.interval import Interval
from bandit.ope.sequence import ConfidenceSequence


@dataclass(frozen=True)
class ArmMetric:
    """One arm's ratio-of-sums metric: per-user numerators and denominators.

    >>> arm = ArmMetric(np.array([1.0, 3.0]), np.array([2.0, 2.0]))
    >>> arm.users, arm.value
    (2, 1.0)
    >>> arm.linearised().tolist()
    [-0.5, 0.5]
    """

    numerator: np.ndarray
    denominator: np.ndarray

    @classmethod
    def of(cls, numerator: list[float], denominator: list[float]) -> ArmMetric:
        """Users with a zero denominator (no slate, no prompt) say nothing about the ratio."""
        num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
        keep = den > 0
        return cls(num[keep], den[keep])

    @property
    def users(self) -> int:
        return int(self.denominator.size)

    @property
    def value(self) -> float:
        total = float(self.denominator.sum())
        return float(self.numerator.sum()) / total if total > 0 else math.nan

    def linearised(self) -> np.ndarray:
        """Each user's term of the delta method: mean zero, variance = the ratio's per-user variance."""
        if self.users == 0:
            return np.zeros(0)
        return (self.numerator - self.value * self.denominator) / float(self.denominator.mean())

    @property
    def variance(self) -> float:
        return float(np.var(self.linearised(), ddof=1)) if self.users > 1 else math.inf


@dataclass(frozen=True)
class ArmContrast:
    """Treatment against control: the values, the difference and the relative effect with
    their confidence-sequence intervals, and the anytime-valid p-value of "no difference"."""

    treatment: float
    control: float
    difference: Interval
    relative: Interval
    p_value: float
    users: tuple[int, int]

    @property
    def found(self) -> bool:
        """Whether the interval excludes zero (before any multiple-testing control)."""
        return self.difference.low > 0 or self.difference.high < 0


def contrast(treatment: ArmMetric, control: ArmMetric, sequence: ConfidenceSequence) -> ArmContrast:
    """The difference ``treatment − control`` of two arms' ratios, with a confidence sequence.

    >>> rng = np.random.default_rng(0)
    >>> t = ArmMetric(rng.poisson(2.0, 4000).astype(float), np.full(4000, 10.0))
    >>> c = ArmMetric(rng.poisson(3.0, 4000).astype(float), np.full(4000, 10.0))
    >>> result = contrast(t, c, ConfidenceSequence(0.05, 5000))
    >>> result.difference.low < -0.1 < result.difference.high, result.relative.low < -1 / 3 < result.relative.high
    (True, True)
    >>> result.p_value < 1e-6
    True
    """
    n_t, n_c = treatment.users, control.users
    r_t, r_c = treatment.value, control.value
    empty = Interval(math.nan, -math.inf, math.inf)
    if n_t < 2 or n_c < 2 or not (math.isfinite(r_t) and math.isfinite(r_c)):
        return ArmContrast(r_t, r_c, empty, empty, 1.0, (n_t, n_c))
    n = n_t + n_c
    share_t, share_c = n_t / n, n_c / n
    var_t, var_c = treatment.variance, control.variance
    sd = math.sqrt(var_t / share_t + var_c / share_c)
    difference = sequence.interval(r_t - r_c, sd, n)
    p_value = sequence.p_value(r_t - r_c, sd, n) if sd > 0 else (1.0 if r_t == r_c else 0.0)
    if r_c > 0:
        sd_relative = math.sqrt(var_t / (r_c**2 * share_t) + r_t**2 * var_c / (r_c**4 * share_c))
        relative = sequence.interval(r_t / r_c - 1.0, sd_relative, n)
    else:
        relative = empty
    return ArmContrast(r_t, r_c, difference, relative, p_value, (n_t, n_c))
