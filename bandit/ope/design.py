"""What the logging propensities promise about a target's weights, drawn or not.

An interval built from a sample's variance cannot see weights the sample never drew. With
ε-greedy logging the rare explored actions (and, for slates, their products over slots)
carry weights of K/ε and more: a sample of a few hundred mostly misses them, its variance
and effective sample size look fine, and the estimate misses the truth by many standard
errors. The logged distributions know better: for each unit, the expected second and third
powers of the target's weight under the logger,

    E_log[w²] = Σ_a target(a)² / logger(a),    E_log[w³] = Σ_a target(a)³ / logger(a)²,

summed over the units (:class:`Design`). Two checks follow, both before any sample is
trusted with a normal interval:

* the *design effective sample size* n² / Σ E[w²] (Kish's, in expectation) must reach
  ``MIN_EFFECTIVE_SAMPLE``;
* the weights' skewness γ₁ (from the pooled moments, E[w] = 1) must be small for n:
  Cochran's rule for the normal approximation of a mean, n > 25 γ₁² (Cochran, *Sampling
  Techniques*, 1977, §2.15). Skewed weights make a t-interval miss on one side far more
  often than α/2 — the slate report's differences from the live policy did, at ε = 0.1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bandit.ope.diagnostics import MIN_EFFECTIVE_SAMPLE

#: Cochran's rule: a mean of n units is close enough to normal when n > COCHRAN · γ₁².
COCHRAN = 25.0


@dataclass(frozen=True)
class Design:
    """Σ over units of E_log[w²] and E_log[w³] of one target's weight.

    >>> even = Design(second=100.0, third=100.0)  # weights of 1 on 100 units
    >>> even.ess(100), even.skewness(100), even.units_needed(100)
    (100.0, 0.0, 0.0)
    >>> rare = Design(second=100 * 10.0, third=100 * 100.0)  # logged 1 in 10, weight 10
    >>> rare.ess(100), round(rare.skewness(100), 2), round(rare.units_needed(100))
    (10.0, 2.67, 178)
    """

    second: float = 0.0
    third: float = 0.0

    def __add__(self, other: Design) -> Design:
        return Design(self.second + other.second, self.third + other.third)

    def ess(self, n: int) -> float | None:
        return n * n / self.second if n and self.second > 0 else None

    def skewness(self, n: int) -> float | None:
        """γ₁ of one unit's weight, from the pooled moments (mean weight 1)."""
        if not n:
            return None
        m2, m3 = self.second / n, self.third / n
        variance = m2 - 1.0
        if variance <= 1e-12:
            return 0.0
        return (m3 - 3.0 * m2 + 2.0) / variance ** 1.5

    def units_needed(self, n: int) -> float:
        """Cochran's n for these weights: 25 γ₁² units."""
        skew = self.skewness(n)
        return 0.0 if skew is None else COCHRAN * skew * skew


def design_concern(designs: Sequence[Design] | None, n: int) -> str | None:
    """Why the weights cannot carry a normal interval yet, or None when they can (or the
    design is unknown: the sample's own diagnostics then decide).

    >>> design_concern([Design(100.0, 100.0)], 100) is None
    True
    >>> design_concern([Design(1000.0, 10000.0)], 100)
    'heavy-tailed weights: the logged propensities promise an effective sample size of only 10.0 of 100'
    >>> design_concern([Design(200.0, 800.0)], 100)  # ESS 50 is enough; skewness 4 is not, at 100
    'skewed weights: their skewness 4.00 needs at least 400 units for a normal interval (Cochran), not 100'
    """
    if not designs or not n:
        return None
    for design in designs:
        ess = design.ess(n)
        if ess is not None and ess < MIN_EFFECTIVE_SAMPLE:
            return (f"heavy-tailed weights: the logged propensities promise an effective sample size of only "
                    f"{ess:.1f} of {n}")
    for design in designs:
        needed = design.units_needed(n)
        if needed > n:
            return (f"skewed weights: their skewness {design.skewness(n):.2f} needs at least {math.ceil(needed)} units "
                    f"for a normal interval (Cochran), not {n}")
    return None
