"""One question's evidence, in a form that pools across nights.

A nightly report answers the same questions every night: the visibility effect, the
format effect, each baseline against the live policy, the berserk index. Each night's
answer rests on sums that merge (:class:`~bandit.ope.moments.Moments`), so the evidence
of many nights is the sum of the nights' evidence — no old decision is read again — and
a confidence sequence over the pooled figure (:mod:`bandit.ope.sequence`) may be looked
at every night. Two kinds:

* ``mean``: the mean of per-unit terms (a slate's cascade-IPS difference from the live
  policy, a like's berserk change): moments of one column;
* ``paired``: value(a) − value(b) of SNIPS on the same rows
  (:class:`~bandit.ope.paired.StreamingComparison`): moments of four columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bandit.errors import InvalidInput
from bandit.ope.design import Design, design_concern
from bandit.ope.estimators import SNIPS
from bandit.ope.moments import Moments
from bandit.ope.paired import StreamingComparison

KINDS = ("mean", "paired")


@dataclass(frozen=True, eq=False)
class Evidence:
    """Mergeable statistics of one question; :meth:`linearised` gives its estimate.

    >>> night = Evidence.of_values([0.5, -0.5, 1.0])
    >>> pooled = night + Evidence.of_values([0.0])
    >>> pooled.linearised()[0], pooled.n
    (0.25, 4)
    >>> Evidence.from_dict(pooled.to_dict()).linearised() == pooled.linearised()
    True
    """

    kind: str
    moments: Moments | None = None
    #: What the propensities promise about each compared target's weights, summed over the
    #: units (:mod:`bandit.ope.design`; None: not known): a heavy or skewed tail the sample
    #: never reached still shows.
    design: tuple[Design, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput(f"evidence kind must be one of {KINDS}, not {self.kind!r}", field="kind")

    @classmethod
    def of_values(cls, values: Any) -> Evidence:
        array = np.asarray(values, dtype=np.float64)
        return cls("mean", Moments.of(array[None, :]) if array.size else None)

    @classmethod
    def of_comparison(cls, comparison: StreamingComparison, design: tuple[Design, ...] | None = None) -> Evidence:
        if not isinstance(comparison.estimator, SNIPS):
            raise InvalidInput("pooled paired evidence is SNIPS only", field="estimator")
        return cls("paired", comparison.moments, design)

    @property
    def n(self) -> int:
        return 0 if self.moments is None else self.moments.n

    def __add__(self, other: Evidence) -> Evidence:
        if other.kind != self.kind:
            raise InvalidInput(f"cannot pool {self.kind} evidence with {other.kind}", field="kind")
        if self.moments is None or other.moments is None:
            return other if self.moments is None else self
        design = None
        if self.design is not None and other.design is not None and len(self.design) == len(other.design):
            design = tuple(a + b for a, b in zip(self.design, other.design))
        return Evidence(self.kind, self.moments + other.moments, design)

    def design_ess(self) -> float | None:
        """The smallest design effective sample size of the compared targets.

        >>> Evidence.of_values([1.0, 2.0]).design_ess() is None
        True
        >>> Evidence("mean", Evidence.of_values([1.0, 2.0]).moments, design=(Design(8.0, 8.0),)).design_ess()
        0.5
        """
        if not self.design:
            return None
        found = [d.ess(self.n) for d in self.design]
        return min((x for x in found if x is not None), default=None)

    def concern(self) -> str | None:
        """Why the weights cannot carry a normal interval yet (:func:`design_concern`)."""
        return design_concern(self.design, self.n)

    def linearised(self) -> tuple[float, float, int] | None:
        """``(estimate, sd, n)``: the estimate and the standard deviation of its per-unit
        (for ``paired``: delta-method) terms; None while undefined."""
        if self.moments is None:
            return None
        if self.kind == "paired":
            return StreamingComparison(SNIPS(), self.moments).linearised()
        return float(self.moments.mean[0]), math.sqrt(self.moments.variance()), self.moments.n

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "moments": None if self.moments is None else self.moments.to_dict(),
                "design": None if self.design is None else [[d.second, d.third] for d in self.design]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        moments, design = data.get("moments"), data.get("design")
        return cls(str(data["kind"]), None if moments is None else Moments.from_dict(moments),
                   None if design is None else tuple(Design(float(s), float(t)) for s, t in design))
