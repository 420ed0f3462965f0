"""Off-policy evaluation of named policies on elicit's own log (or an exported one).

Reads joined, activated decisions chunk by chunk, re-runs each target policy on the logged
context to get its probability of what was logged (policies/slates.py ``replay_slate``),
and merges streaming statistics, so memory stays flat however long the log. Slates are
valued by cascade IPS (slot k weighted by the product of the ratios of slots 0..k) and its
self-normalised variant; the ``logged`` target reproduces the on-policy average and is a
check that the log is consistent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
from scipy import stats

from bandit.errors import InvalidInput
from bandit.ope import (
    IPS,
    SNIPS,
    CascadeIPS,
    Diagnostics,
    Interval,
    LoggedData,
    SNCascadeIPS,
    StreamingDiagnostics,
    StreamingEstimate,
)
from bandit.ope.core import Estimator
from bandit.ope.moments import Moments
from policies.prompts import PromptPolicy, replay_prompt
from policies.slate_baselines import CapFreeGreedySlatePolicy
from policies.slates import Eligibility, SlatePolicy, excluding, replay_slate
from service.log.decisions import candidates_of, eligibility_of, slot_pairs

CHUNK = 5000


@dataclass(frozen=True)
class PolicyValue:
    """One row of an evaluation table."""

    policy: str
    estimator: str
    interval: Interval
    decisions: int
    diagnostics: Diagnostics  # over rows: one per served slot

    def as_dict(self) -> dict[str, Any]:
        d = self.diagnostics
        return {
            "policy": self.policy,
            "estimator": self.estimator,
            "value": self.interval.estimate,
            "low": self.interval.low,
            "high": self.interval.high,
            "decisions": self.decisions,
            "rows": d.n,
            "effective_sample_size": d.effective_sample_size,
            "max_weight": d.max_weight,
            "mean_weight": d.mean_weight,
            "zero_target_share": d.zero_target_share,
        }


def ignores_caps(target: SlatePolicy | None) -> bool:
    """Whether ``target`` is replayed without the logged per-slate caps (by default: the
    cap-free greedy baseline, whose point is to measure what the caps cost or gain)."""
    return bool(getattr(target, "ignores_caps", isinstance(target, CapFreeGreedySlatePolicy)))


def replay_rule(decision: Mapping[str, Any], ignore_caps: bool) -> Eligibility:
    """The logged eligibility rule, or — ignoring caps — no repeats plus the decision's
    per-slot exclusions only (what the client excluded stays excluded)."""
    if not ignore_caps:
        return eligibility_of(decision)
    return excluding([slot.get("excluded") or () for slot in decision["slots"]])


def slate_chunk(
    decisions: list[Mapping[str, Any]], target: SlatePolicy | None, ignore_caps: bool | None = None
) -> LoggedData:
    """Rows (one per served slot) with ``target``'s replayed probabilities; None = logged.

    ``ignore_caps`` (default: :func:`ignores_caps`) replays the target without the caps in
    force when the slate was served. Its value then covers slates the logging policy could
    never serve: IPS counts the target's mass on capped items as reward 0 (the
    self-normalised variant renormalises it away). How much mass that is shows in the
    diagnostics' ``mean_weight`` (≈ 1 − the target's mass outside what the logger could
    serve, per slot), not in ``zero_target_share``: the floor of ``clean_pmf`` keeps the
    target's probability of every allowed logged item above 0.
    """
    cap_free = ignores_caps(target) if ignore_caps is None else ignore_caps
    reward, p_log, p_target, slot, decision_ids = [], [], [], [], []
    for decision in decisions:
        chosen = decision["chosen"]
        logged = [choice["probability"] for choice in chosen]
        if target is None:
            replayed = logged
        else:
            replayed = replay_slate(
                target, decision["context"], candidates_of(decision), slot_pairs(decision), [c["item_id"] for c in chosen],
                replay_rule(decision, cap_free),
            )
        rewards = decision.get("reward") or [0.0] * len(chosen)
        for position, choice in enumerate(chosen):
            reward.append(float(rewards[position]))
            p_log.append(logged[position])
            p_target.append(replayed[position])
            slot.append(choice["slot"])
            decision_ids.append(str(decision["_id"]))
    return LoggedData(
        reward=np.array(reward), p_log=np.array(p_log), p_target=np.array(p_target),
        slot=np.array(slot), decision=np.array(decision_ids),
    )


def _chunks(decisions: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(decisions)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _evaluate(
    decisions: Callable[[], Iterable[Mapping[str, Any]]],
    targets: Mapping[str, Any],
    rows: Callable[[list[Mapping[str, Any]], Any], LoggedData],
    estimators: tuple[Estimator, ...],
    alpha: float,
) -> list[PolicyValue]:
    """Stream the log once per target, merging chunk statistics (flat memory)."""
    results: list[PolicyValue] = []
    for name, target in targets.items():
        sums = [StreamingEstimate(estimator) for estimator in estimators]
        diagnostics = StreamingDiagnostics()
        for chunk in _chunks(decisions(), CHUNK):
            data = rows(chunk, target)
            sums = [summary.update(data) for summary in sums]
            diagnostics = diagnostics.update(data)
        if diagnostics.n == 0:
            raise InvalidInput("no joined, activated decisions in the window", field="since")
        for estimator, summary in zip(estimators, sums):
            results.append(
                PolicyValue(name, type(estimator).__name__, summary.interval(alpha), summary.n, diagnostics.result())
            )
    return results


def evaluate_slates(
    decisions: Callable[[], Iterable[Mapping[str, Any]]],
    targets: Mapping[str, SlatePolicy | None],
    alpha: float = 0.05,
    estimators: tuple[Estimator, ...] = (CascadeIPS(), SNCascadeIPS()),
    ignore_caps: Collection[str] | None = None,
) -> list[PolicyValue]:
    """Value of each target on the log; ``decisions`` is called once per pass over it.

    ``ignore_caps``: names of the targets replayed without the logged caps (default: each
    target's own :func:`ignores_caps`); see :func:`slate_chunk` for what that means.
    """

    def rows(chunk: list[Mapping[str, Any]], target: SlatePolicy | None) -> LoggedData:
        cap_free = None if ignore_caps is None else any(targets[name] is target for name in ignore_caps)
        return slate_chunk(chunk, target, cap_free)

    return _evaluate(decisions, targets, rows, estimators, alpha)

#: Answers to a prompt (the other responses, dismissed and abandoned, are annoyance).
ANSWERS = ("thumbs_down", "thumbs_up", "double_thumbs_up")
#: Information an answer carries: log2 of the number of answer levels of its format.
BITS = {"single": 1.0, "graded": math.log2(3)}


def _counted_response(decision: Mapping[str, Any]) -> str | None:
    response = decision.get("response")
    return response["type"] if response and response["t"] <= decision["window_end"] else None


def answered(decision: Mapping[str, Any]) -> float:
    """1.0 when the prompt got an answer (any thumb) inside its response window."""
    return float(_counted_response(decision) in ANSWERS)


#: What a prompt decision is worth under each metric: the learner's reward, or indicators.
PROMPT_METRICS: dict[str, Callable[[Mapping[str, Any]], float]] = {
    "reward": lambda d: float(d.get("reward") or 0.0),
    "answered": answered,
    "annoyed": lambda d: float(_counted_response(d) in ("dismissed", "abandoned")),
    "bits": lambda d: BITS.get(d["chosen"]["format"] or "", 0.0) * answered(d),
}


def prompt_rows(
    decisions: list[Mapping[str, Any]], target: PromptPolicy | None, metrics: Iterable[str] = tuple(PROMPT_METRICS)
) -> dict[str, LoggedData]:
    """One row per prompt decision for each metric, replaying ``target`` once for all of
    them (the replay — a VW prediction for the learned policy — is the expensive part)."""
    p_log = np.array([d["chosen"]["probability"] for d in decisions], dtype=np.float64)
    p_target = p_log if target is None else np.array([replay_prompt(target, d) for d in decisions])
    return {
        metric: LoggedData(reward=np.array([PROMPT_METRICS[metric](d) for d in decisions]), p_log=p_log, p_target=p_target)
        for metric in metrics
    }


def prompt_chunk(decisions: list[Mapping[str, Any]], target: PromptPolicy | None, metric: str = "reward") -> LoggedData:
    """One row per prompt decision, with ``target``'s probability of the logged action."""
    return prompt_rows(decisions, target, (metric,))[metric]


def evaluate_prompts(
    decisions: Callable[[], Iterable[Mapping[str, Any]]],
    targets: Mapping[str, PromptPolicy | None],
    alpha: float = 0.05,
    metric: str = "reward",
    estimators: tuple[Estimator, ...] = (IPS(), SNIPS()),
) -> list[PolicyValue]:
    """Value (or answer / annoyance rate) of each prompt target on the log."""
    return _evaluate(decisions, targets, lambda chunk, target: prompt_chunk(chunk, target, metric), estimators, alpha)


@dataclass(frozen=True, eq=False)
class StreamingComparison:
    """Paired difference value(a) − value(b) of one estimator on the same rows, chunk by chunk.

    Keeps the :class:`Moments` of both estimators' columns stacked, so the delta-method
    variance of the difference, gᵀCg with g = (∇a, −∇b), comes out of merged summaries:
    the same numbers as :func:`bandit.ope.compare` on the whole log (its per-row
    differences of linearised terms have exactly this variance), in flat memory.

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

    def result(self, alpha: float) -> dict[str, float | int | None]:
        """``{difference, low, high, p_value, decisions}``; None where undefined (JSON-safe)."""
        out: dict[str, float | int | None] = {"difference": None, "low": None, "high": None, "p_value": None,
                                              "decisions": self.n}
        if self.moments is None:
            return out
        half = self.moments.width // 2
        mean_a, mean_b = self.moments.mean[:half], self.moments.mean[half:]
        a, b = float(self.estimator.statistic(mean_a)), float(self.estimator.statistic(mean_b))
        if not (math.isfinite(a) and math.isfinite(b)):  # a target with no weight on any row
            return out
        n, difference = self.moments.n, a - b
        out["difference"] = difference
        if n < 2:
            return out
        grad = np.concatenate([self.estimator.gradient(mean_a), -self.estimator.gradient(mean_b)])
        spread = float(grad @ self.moments.comoment @ grad)
        # As in Estimator.interval_from_moments: a spread that cancels to rounding noise is 0.
        scale = float(np.abs(grad) @ np.sqrt(np.abs(np.diag(self.moments.comoment)))) ** 2
        se = math.sqrt(spread / (n - 1) / n) if spread > 1e-12 * scale else 0.0
        if se == 0:  # every row differs by the same amount: the difference is known
            return {**out, "low": difference, "high": difference, "p_value": float(difference == 0)}
        width = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
        p_value = float(2 * stats.t.sf(abs(difference) / se, n - 1))
        return {**out, "low": difference - width, "high": difference + width, "p_value": p_value}
