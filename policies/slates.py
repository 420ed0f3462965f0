"""Slate policies: the learned CCB policy and baselines, all filling slots the same way.

A slate policy only answers one question — the distribution over the candidates still
allowed for one slot, given the context and the slot. :func:`fill_slate` does the rest:
it applies the eligibility rule (no repeats; caps that depend on earlier slots), asks the
policy, samples, and records the exact conditional probability of each slot.
:func:`replay_slate` asks the same questions of any policy for a *logged* slate, which is
how a policy becomes an off-policy target (its probability of what was logged).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bandit.features import encode
from bandit.slates import Candidate, SlateModel, slot_text
from policies.sampling import clean_pmf, sample_index

#: ``eligible(candidate, chosen_so_far)`` — may ``candidate`` fill the next slot?
Eligibility = Callable[[Candidate, Sequence[Candidate]], bool]


def no_repeats(candidate: Candidate, chosen: Sequence[Candidate]) -> bool:
    return all(candidate.id != other.id for other in chosen)


def excluding(per_slot: Sequence[Collection[str]] | None) -> Eligibility:
    """No repeats, and slot k never holds an id in ``per_slot[k]`` (per-slot exclusions).

    Slots are filled in order, so the slot being filled is the number chosen so far; the
    same rule serves :func:`fill_slate` and :func:`replay_slate`, so an off-policy target
    is only ever asked about what the logging policy could have served.

    >>> rule = excluding([{"a"}, set()])
    >>> rule(Candidate("a"), []), rule(Candidate("a"), [Candidate("b")]), rule(Candidate("b"), [Candidate("b")])
    (False, True, False)
    """
    if not per_slot or not any(per_slot):
        return no_repeats
    frozen = [frozenset(ids) for ids in per_slot]

    def eligible(candidate: Candidate, chosen: Sequence[Candidate]) -> bool:
        position = len(chosen)
        return no_repeats(candidate, chosen) and (position >= len(frozen) or candidate.id not in frozen[position])

    return eligible


def both(first: Eligibility, second: Eligibility) -> Eligibility:
    """A candidate must pass both rules (per-slot exclusions and per-slate caps)."""
    if first is no_repeats:
        return second
    return lambda candidate, chosen: first(candidate, chosen) and second(candidate, chosen)


@dataclass(frozen=True)
class SlotChoice:
    slot: int
    slot_id: str
    item_id: str
    probability: float
    allowed: tuple[str, ...]
    distribution: tuple[float, ...]


class SlatePolicy(Protocol):
    name: str

    def slot_distribution(
        self, context: Mapping[str, Any], allowed: Sequence[Candidate], slot_features: Mapping[str, Any], position: int
    ) -> np.ndarray: ...


class LearnedSlatePolicy:
    """The live policy: VW's CCB exploration distribution per slot.

    >>> policy = LearnedSlatePolicy(SlateModel.new(epsilon=0.2))
    >>> policy.slot_distribution({}, [Candidate("a"), Candidate("b")], {}, 0).tolist()
    [0.5, 0.5]
    """

    name = "learned"

    def __init__(self, model: SlateModel) -> None:
        self.model = model

    def slot_distribution(
        self, context: Mapping[str, Any], allowed: Sequence[Candidate], slot_features: Mapping[str, Any], position: int
    ) -> np.ndarray:
        return self.model.slot_pmf(
            encode(context, "U"), [candidate.vw_text for candidate in allowed], slot_text(slot_features, position)
        )


class UniformSlatePolicy:
    """Every allowed candidate equally likely in every slot.

    >>> UniformSlatePolicy().slot_distribution({}, [Candidate("a"), Candidate("b")], {}, 0).tolist()
    [0.5, 0.5]
    """

    name = "uniform"

    def slot_distribution(
        self, context: Mapping[str, Any], allowed: Sequence[Candidate], slot_features: Mapping[str, Any], position: int
    ) -> np.ndarray:
        return np.full(len(allowed), 1.0 / len(allowed))


def fill_slate(
    policy: SlatePolicy,
    context: Mapping[str, Any],
    candidates: Sequence[Candidate],
    slots: Sequence[tuple[str, Mapping[str, Any]]],
    rng: np.random.Generator,
    eligible: Eligibility = no_repeats,
) -> list[SlotChoice]:
    """Fill ``slots`` (``(slot_id, features)`` pairs) in order; stops early if nothing is allowed."""
    chosen: list[Candidate] = []
    result: list[SlotChoice] = []
    for position, (slot_id, slot_features) in enumerate(slots):
        allowed = [candidate for candidate in candidates if eligible(candidate, chosen)]
        if not allowed:
            break
        pmf = clean_pmf(policy.slot_distribution(context, allowed, slot_features, position))
        index = sample_index(pmf, rng)
        chosen.append(allowed[index])
        result.append(
            SlotChoice(
                slot=position,
                slot_id=slot_id,
                item_id=allowed[index].id,
                probability=float(pmf[index]),
                allowed=tuple(candidate.id for candidate in allowed),
                distribution=tuple(float(p) for p in pmf),
            )
        )
    return result


def replay_slate(
    policy: SlatePolicy,
    context: Mapping[str, Any],
    candidates: Sequence[Candidate],
    slots: Sequence[tuple[str, Mapping[str, Any]]],
    served: Sequence[str],
    eligible: Eligibility = no_repeats,
) -> list[float]:
    """The policy's conditional probability of each served item, slot by slot.

    0.0 where the policy would not allow the served item at all (then later slots are
    still replayed with the served prefix, as the cascade estimator needs).
    """
    by_id = {candidate.id: candidate for candidate in candidates}
    chosen: list[Candidate] = []
    probabilities: list[float] = []
    for position, ((_, slot_features), item_id) in enumerate(zip(slots, served)):
        allowed = [candidate for candidate in candidates if eligible(candidate, chosen)]
        ids = [candidate.id for candidate in allowed]
        if item_id in ids:
            pmf = clean_pmf(policy.slot_distribution(context, allowed, slot_features, position))
            probabilities.append(float(pmf[ids.index(item_id)]))
        else:
            probabilities.append(0.0)
        chosen.append(by_id[item_id])
    return probabilities
