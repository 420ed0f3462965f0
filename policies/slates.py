"""Slate policies: the learned CCB policy and baselines, all filling slots the same way.

A slate policy only answers one question — the distribution over the candidates still
allowed for one slot, given the context and the slot. :func:`fill_slate` does the rest:
it applies the eligibility rule (no repeats; caps that depend on earlier slots), asks the
policy, samples, and records the exact conditional probability of each slot.
:func:`replay_slate` asks the same questions of any policy for a *logged* slate, which is
how a policy becomes an off-policy target (its probability of what was logged).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bandit.features import encode
from bandit.slates import Candidate, SlateModel, slot_text
from policies.sampling import MIN_SHARE, clean_pmf, sample_index

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


#: ``ask(keep, slot_features, position)``: a policy's slot distribution over the candidates
#: at positions ``keep`` of a slate's candidate list.
SlotAsker = Callable[[Sequence[int], Mapping[str, Any], int], np.ndarray]


@contextmanager
def asking(policy: SlatePolicy, context: Mapping[str, Any], candidates: Sequence[Candidate]) -> Iterator[SlotAsker]:
    """The policy's questions for one slate: its own ``slate`` session where it has one
    (:meth:`LearnedSlatePolicy.slate`), else :meth:`SlatePolicy.slot_distribution`."""
    session = getattr(policy, "slate", None)
    if session is not None:
        with session(context, candidates) as ask:
            yield ask
        return
    yield one_by_one(policy, context, candidates)


def one_by_one(policy: SlatePolicy, context: Mapping[str, Any], candidates: Sequence[Candidate]) -> SlotAsker:
    return lambda keep, slot_features, position: policy.slot_distribution(
        context, [candidates[i] for i in keep], slot_features, position)


class LearnedSlatePolicy:
    """The live policy: VW's CCB exploration distribution per slot.

    >>> policy = LearnedSlatePolicy(SlateModel.new(epsilon=0.2))
    >>> policy.slot_distribution({}, [Candidate("a"), Candidate("b")], {}, 0).tolist()
    [0.5, 0.5]
    """

    name = "learned"

    def __init__(self, model: SlateModel) -> None:
        self.model = model
        # The context's and the slots' texts, by their repr: a slate asks about one context
        # slot after slot, and a replay of both model targets asked ten times per decision.
        self._texts: dict[tuple[str, int], str] = {}

    def slot_distribution(
        self, context: Mapping[str, Any], allowed: Sequence[Candidate], slot_features: Mapping[str, Any], position: int
    ) -> np.ndarray:
        return self.model.slot_pmf(
            self._text(context, -1), [candidate.vw_text for candidate in allowed], self._text(slot_features, position)
        )

    @contextmanager
    def slate(self, context: Mapping[str, Any], candidates: Sequence[Candidate]) -> Iterator[SlotAsker]:
        """:meth:`slot_distribution` for one context and candidate list, slot after slot, with
        VW parsing the candidates once (bandit/slates.py, ``SlateModel.slate``)."""
        if not hasattr(self.model, "slate"):  # a model without slate sessions: slot by slot
            yield one_by_one(self, context, candidates)
            return
        with self.model.slate(self._text(context, -1), [candidate.vw_text for candidate in candidates]) as pmf:
            yield lambda keep, slot_features, position: pmf(keep, self._text(slot_features, position))

    def _text(self, features: Mapping[str, Any], position: int) -> str:
        """``encode(features, "U")`` (``position`` -1) or ``slot_text(features, position)``,
        remembered for plain dicts: their repr names every key, value and type exactly
        (1, 1.0, True and "1" differ), so equal reprs encode alike."""
        encoded = (lambda: encode(features, "U")) if position < 0 else (lambda: slot_text(features, position))
        if type(features) is not dict:
            return encoded()
        key = (repr(features), position)
        text = self._texts.get(key)
        if text is None:
            if len(self._texts) >= 64:  # a handful of slots per decision: keep it small
                self._texts.clear()
            text = self._texts[key] = encoded()
        return text


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

    def served_probabilities(self, allowed: np.ndarray, served: np.ndarray, ids: Sequence[str], ident: np.ndarray) -> np.ndarray:
        """Vectorised replay (see :func:`served_probabilities`): 1/k among k allowed."""
        count = allowed.sum(axis=2)
        uniform = 1.0 / np.maximum(count, 1)
        return clean_served(uniform, uniform, count)


class VectorSlatePolicy(SlatePolicy, Protocol):
    """A policy whose replay needs no per-slot call: the nightly report replays it for a
    whole chunk of logged slates at once (:func:`served_probabilities`)."""

    def served_probabilities(self, allowed: np.ndarray, served: np.ndarray, ids: Sequence[str], ident: np.ndarray) -> np.ndarray:
        """``(D, S)``: the cleaned probability of the served item of each slot, assuming it was
        allowed. ``allowed`` ``(D, S, C)`` masks, ``served`` ``(D, S)`` candidate columns,
        ``ident`` ``(D, C)`` codes of candidate ids into ``ids``."""
        ...


def clean_served(raw: np.ndarray, smallest: np.ndarray, count: np.ndarray, min_share: float = MIN_SHARE) -> np.ndarray:
    """:func:`clean_pmf` of many distributions at once, at one entry each: ``raw`` is that
    entry of a normalised distribution over ``count`` actions and ``smallest`` its least entry.

    >>> pmf = np.array([0.0, 0.25, 0.75])
    >>> clean_served(pmf, np.full(3, 0.0), np.full(3, 3)).tolist() == clean_pmf(pmf).tolist()
    True
    """
    floor = min_share / np.maximum(count, 1)
    return np.where(smallest < floor, (1.0 - min_share) * raw + floor, raw)


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
    with asking(policy, context, candidates) as ask:
        for position, (slot_id, slot_features) in enumerate(slots):
            keep = [i for i, candidate in enumerate(candidates) if eligible(candidate, chosen)]
            if not keep:
                break
            pmf = clean_pmf(ask(keep, slot_features, position))
            index = sample_index(pmf, rng)
            served = candidates[keep[index]]
            chosen.append(served)
            result.append(
                SlotChoice(
                    slot=position,
                    slot_id=slot_id,
                    item_id=served.id,
                    probability=float(pmf[index]),
                    allowed=tuple(candidates[i].id for i in keep),
                    distribution=tuple(float(p) for p in pmf),
                )
            )
    return result


def replay_allowed(
    policy: SlatePolicy,
    context: Mapping[str, Any],
    candidates: Sequence[Candidate],
    slots: Sequence[tuple[str, Mapping[str, Any]]],
    served: Sequence[int],
    allowed: np.ndarray,
) -> list[float]:
    """:func:`replay_slate` with each slot's allowed set given as a row of ``allowed``
    (``policies.guards.allowed_masks``) and the served items as candidate indices.

    The policy is asked exactly what :func:`replay_slate` asks it, through its slate session
    where it has one (answers bit for bit the same), so the probabilities are the same;
    candidate ids must be distinct (the served item is found by position).

    >>> cands = [Candidate("a"), Candidate("b"), Candidate("c")]
    >>> masks = np.array([[True, True, True], [False, True, True]])
    >>> replay_allowed(UniformSlatePolicy(), {}, cands, [("s0", {}), ("s1", {})], [0, 2], masks)
    [0.3333333333333333, 0.5]
    """
    probabilities: list[float] = []
    with asking(policy, context, candidates) as ask:
        for position, ((_, slot_features), index) in enumerate(zip(slots, served)):
            row = allowed[position]
            if not row[index]:
                probabilities.append(0.0)
                continue
            columns = np.flatnonzero(row)
            pmf = clean_pmf(ask(columns.tolist(), slot_features, position))
            probabilities.append(float(pmf[int(np.searchsorted(columns, index))]))
    return probabilities


def _asked(policy: SlatePolicy, context: Mapping[str, Any], allowed: Sequence[Candidate],
           slot_features: Mapping[str, Any], position: int, index: int) -> float:
    """The cleaned probability of ``allowed[index]`` (:func:`replay_slate`'s question)."""
    return float(clean_pmf(policy.slot_distribution(context, allowed, slot_features, position))[index])


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
            probabilities.append(_asked(policy, context, allowed, slot_features, position, ids.index(item_id)))
        else:
            probabilities.append(0.0)
        chosen.append(by_id[item_id])
    return probabilities
