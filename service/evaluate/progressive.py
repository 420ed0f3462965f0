"""Progressive validation: a learning setting's value, out of sample, on the log itself.

The decisions of a window are replayed in time order. Each is first *scored* — the
policy of a model trained only on the decisions before it gives its probability of what
was logged — and only then *learned*. The scored rows go to the OPE engine
(:mod:`bandit.ope`), so the value and its interval are an off-policy estimate of what a
learner with this setting, started at the window's beginning, would have earned: no
decision ever trains the model that scores it (tests/service/evaluate/test_progressive.py
plants a log on which a leak would show).

Decisions are scored ``step`` at a time before those ``step`` are learned: each is still
scored by a model of earlier decisions only (a slightly staler one, as a live learner's
is), and the scoring of a run of decisions shares one numpy pass.

What a setting is, how its model is made and learns, and what scores it are given as
callables: this module does not know VW's arguments or the learner (service/evaluate may
not import service/learn; the runtime wires them, service/runtime/evaluations.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from bandit.errors import InvalidInput
from bandit.ope import Diagnostics, Interval, LoggedData, StreamingDiagnostics, StreamingEstimate
from bandit.ope.core import Estimator

Decisions = Callable[[], Iterable[Mapping[str, Any]]]
#: ``rows(decisions, target)``: one row per logged action with ``target``'s probability of it.
Rows = Callable[[list[Mapping[str, Any]], Any], LoggedData]


@dataclass(frozen=True)
class Learning:
    """How a kind's models are made, learn and become off-policy targets."""

    new_model: Callable[[str], Any]  # VW arguments → an untrained model
    learn: Callable[[Any, list[Mapping[str, Any]]], None]  # learns decisions (with their stored rewards), in order
    target: Callable[[Any], Any]  # model → the policy served from it
    rows: Rows
    estimator: Estimator


@dataclass(frozen=True)
class Scored:
    """One candidate's value: a progressive one (``vw_args`` set) or a fixed policy's."""

    name: str
    vw_args: str | None
    interval: Interval
    decisions: int
    diagnostics: Diagnostics

    @property
    def value(self) -> float:
        return self.interval.estimate

    def as_dict(self) -> dict[str, Any]:
        d = self.diagnostics
        return {"name": self.name, "vw_args": self.vw_args, "value": self.interval.estimate,
                "low": self.interval.low, "high": self.interval.high, "decisions": self.decisions,
                "effective_sample_size": d.effective_sample_size, "max_weight": d.max_weight}


def progressive_value(
    decisions: Decisions, learning: Learning, vw_args: str, name: str = "", alpha: float = 0.05, step: int = 10
) -> Scored:
    """``vw_args``' progressive-validation value over ``decisions()`` (time order)."""
    model = learning.new_model(vw_args)
    summary, diagnostics, count = StreamingEstimate(learning.estimator), StreamingDiagnostics(), 0
    iterator = iter(decisions())
    while run := list(islice(iterator, step)):
        data = learning.rows(run, learning.target(model))  # scored first ...
        summary, diagnostics = summary.update(data), diagnostics.update(data)
        learning.learn(model, run)  # ... learned after
        count += len(run)
    return _scored(name or vw_args, vw_args, summary, diagnostics, count, alpha)


def fixed_value(decisions: Decisions, rows: Rows, estimator: Estimator, target: Any, name: str,
                alpha: float = 0.05, chunk: int = 1000) -> Scored:
    """The value of a policy that does not learn (uniform, the baseline, the logged one)."""
    summary, diagnostics, count = StreamingEstimate(estimator), StreamingDiagnostics(), 0
    iterator = iter(decisions())
    while run := list(islice(iterator, chunk)):
        data = rows(run, target)
        summary, diagnostics = summary.update(data), diagnostics.update(data)
        count += len(run)
    return _scored(name, None, summary, diagnostics, count, alpha)


def _scored(name: str, vw_args: str | None, summary: StreamingEstimate, diagnostics: StreamingDiagnostics,
            count: int, alpha: float) -> Scored:
    if count == 0:
        raise InvalidInput("no joined, activated decisions in the window", field="since")
    return Scored(name, vw_args, summary.interval(alpha), count, diagnostics.result())
