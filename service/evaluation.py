"""Off-policy evaluation of named policies on elicit's own log (or an exported one).

Reads joined, activated decisions chunk by chunk, re-runs each target policy on the logged
context to get its probability of what was logged (policies/slates.py ``replay_slate``),
and merges streaming statistics, so memory stays flat however long the log. Slates are
valued by cascade IPS (slot k weighted by the product of the ratios of slots 0..k) and its
self-normalised variant; the ``logged`` target reproduces the on-policy average and is a
check that the log is consistent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
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
from policies.prompts import PromptPolicy, replay_prompt
from policies.slates import SlatePolicy, replay_slate
from service.slates import candidates_of, eligibility_of

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


def evaluation_query(kind: str, since_ms: int, until_ms: int) -> dict[str, Any]:
    """Decisions that count: activated, joined with their outcomes, inside the window."""
    return {"kind": kind, "t": {"$gte": since_ms, "$lt": until_ms}, "activated": True, "learn_version": {"$ne": None}}


def _slots(decision: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(slot["id"], slot.get("features") or {}) for slot in decision["slots"]]


def slate_chunk(decisions: list[Mapping[str, Any]], target: SlatePolicy | None) -> LoggedData:
    """Rows (one per served slot) with ``target``'s replayed probabilities; None = logged."""
    reward, p_log, p_target, slot, decision_ids = [], [], [], [], []
    for decision in decisions:
        chosen = decision["chosen"]
        logged = [choice["probability"] for choice in chosen]
        if target is None:
            replayed = logged
        else:
            replayed = replay_slate(
                target, decision["context"], candidates_of(decision), _slots(decision), [c["item_id"] for c in chosen],
                eligibility_of(decision),
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
) -> list[PolicyValue]:
    """Value of each target on the log; ``decisions`` is called once per pass over it."""
    return _evaluate(decisions, targets, slate_chunk, estimators, alpha)

#: What a prompt decision is worth under each metric: the learner's reward, or indicators.
PROMPT_METRICS: dict[str, Callable[[Mapping[str, Any]], float]] = {
    "reward": lambda d: float(d.get("reward") or 0.0),
    "answered": lambda d: float(_counted_response(d) in ("thumbs_down", "thumbs_up", "double_thumbs_up")),
    "annoyed": lambda d: float(_counted_response(d) in ("dismissed", "abandoned")),
}


def _counted_response(decision: Mapping[str, Any]) -> str | None:
    response = decision.get("response")
    return response["type"] if response and response["t"] <= decision["window_end"] else None


def prompt_chunk(decisions: list[Mapping[str, Any]], target: PromptPolicy | None, metric: str = "reward") -> LoggedData:
    """One row per prompt decision, with ``target``'s probability of the logged action."""
    value = PROMPT_METRICS[metric]
    p_log = np.array([d["chosen"]["probability"] for d in decisions], dtype=np.float64)
    p_target = p_log if target is None else np.array([replay_prompt(target, d) for d in decisions])
    return LoggedData(reward=np.array([value(d) for d in decisions]), p_log=p_log, p_target=p_target)


def evaluate_prompts(
    decisions: Callable[[], Iterable[Mapping[str, Any]]],
    targets: Mapping[str, PromptPolicy | None],
    alpha: float = 0.05,
    metric: str = "reward",
    estimators: tuple[Estimator, ...] = (IPS(), SNIPS()),
) -> list[PolicyValue]:
    """Value (or answer / annoyance rate) of each prompt target on the log."""
    return _evaluate(decisions, targets, lambda chunk, target: prompt_chunk(chunk, target, metric), estimators, alpha)
