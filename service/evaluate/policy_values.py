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
from bandit.ope.design import Design
from policies.prompts import PromptPolicy, replay_distribution, replay_prompt
from policies.slate_baselines import CapFreeGreedySlatePolicy
from policies.slates import Eligibility, SlatePolicy, excluding, replay_slate
from service.log.decisions import candidates_of, eligibility_of, forced_visibility, slot_pairs

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


def prompt_replay(decisions: list[Mapping[str, Any]], target: PromptPolicy) -> tuple[np.ndarray, Design]:
    """``target``'s probability of each logged action, and what the logged distributions
    promise about its weights (Σ E_log[w²] and Σ E_log[w³] over the decisions,
    :mod:`bandit.ope.design`), seen in the sample or not."""
    p_target, second, third = np.empty(len(decisions)), 0.0, 0.0
    for row, decision in enumerate(decisions):
        pmf = replay_distribution(target, decision)
        logged = np.asarray(decision["distribution"], dtype=np.float64)
        p_target[row] = pmf[list(decision["actions"]).index(decision["chosen"]["action"])]
        ratio = pmf / logged
        second += float(np.sum(pmf * ratio))
        third += float(np.sum(pmf * ratio * ratio))
    return p_target, Design(second, third)


def prompt_rows(
    decisions: list[Mapping[str, Any]], target: PromptPolicy | None, metrics: Iterable[str] = tuple(PROMPT_METRICS),
    p_target: np.ndarray | None = None,
) -> dict[str, LoggedData]:
    """One row per prompt decision for each metric, replaying ``target`` once for all of
    them (the replay — a VW prediction for the learned policy — is the expensive part);
    ``p_target``: that replay, when the caller made it (:func:`prompt_replay`)."""
    p_log = np.array([d["chosen"]["probability"] for d in decisions], dtype=np.float64)
    if p_target is None:
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
    """Value (or answer / annoyance rate) of each prompt target on the log. Decisions whose
    visibility an experiment arm imposed are left out: they had no chance of the other one."""
    supported = lambda: (d for d in decisions() if forced_visibility(d) is None)  # noqa: E731
    return _evaluate(supported, targets, lambda chunk, target: prompt_chunk(chunk, target, metric), estimators, alpha)
