"""Many comparisons a night: the share of false findings among them, controlled.

A report compares a dozen targets and several effects every night. Each at 5 % would
let about one false finding through every other night. The Benjamini–Hochberg procedure
(Benjamini & Hochberg 1995) keeps the *expected share of false findings among the
findings* at ``q``: sort the p-values, find the largest k with p₍ₖ₎ ≤ k·q/m, and call the
k smallest findings. It holds for independent p-values and for positively dependent ones
(Benjamini & Yekutieli 2001), which is what paired comparisons on one log give.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def benjamini_hochberg(p_values: Sequence[float | None], q: float = 0.05) -> list[bool]:
    """Which hypotheses are rejected (findings) at false-discovery rate ``q``; a p-value of
    None (no test: an undefined difference) is never a finding and does not count in m.

    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5], q=0.05)
    [True, False, False, False]
    >>> benjamini_hochberg([0.01, 0.02, 0.03, None], q=0.05)
    [True, True, True, False]
    """
    tested = [(p, i) for i, p in enumerate(p_values) if p is not None and np.isfinite(p)]
    found = [False] * len(p_values)
    if not tested:
        return found
    tested.sort()
    m = len(tested)
    passing = [k for k, (p, _) in enumerate(tested, start=1) if p <= k * q / m]
    for _, index in tested[: max(passing, default=0)]:
        found[index] = True
    return found
