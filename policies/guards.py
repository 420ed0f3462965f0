"""Not going berserk: exclusions and per-slate caps, applied before sampling.

Pure functions of a :class:`UserView` (what elicit knows about the user right now), so
the same rules run when serving and when replaying a logged slate for off-policy
evaluation. Exclusions remove candidates outright; caps make a candidate ineligible for
the next slot once the slate already holds enough of its category or creator. Both act
before the policy's distribution is computed, so the logged probabilities stay exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bandit.slates import Candidate
from policies.slates import Eligibility


@dataclass(frozen=True)
class SlateRules:
    """Configurable defaults of docs/design.md, "Graded thumbs and not going berserk".

    >>> SlateRules().cap_per_category, SlateRules().durable_cooldown_days
    (2, 90.0)
    """

    exclude_consumed: bool = True
    durable_cooldown_days: float = 90.0
    exhaustion_share: float = 0.8
    cap_per_category: int = 2
    cap_per_creator: int = 1
    lift_days: float = 14.0


@dataclass(frozen=True)
class UserView:
    """The user's state that the rules read; built by service/decide/slate_state.py."""

    consumed: frozenset[str] = frozenset()
    durable_categories: frozenset[str] = frozenset()  # purchased durable, still cooling down
    thumbs_down: frozenset[str] = frozenset()
    lifted_categories: frozenset[str] = frozenset()  # double_up within lift_days
    lifted_creators: frozenset[str] = frozenset()
    exhausted_creators: frozenset[str] = frozenset()
    satiation: dict[str, dict[str, Any]] = field(default_factory=dict)  # item id → features


@dataclass(frozen=True)
class CapState:
    """What the cap rule needs, stored with each decision so replays apply the same caps."""

    per_category: int
    per_creator: int
    lifted_categories: tuple[str, ...] = ()
    lifted_creators: tuple[str, ...] = ()
    exhausted_creators: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "per_category": self.per_category,
            "per_creator": self.per_creator,
            "lifted_categories": list(self.lifted_categories),
            "lifted_creators": list(self.lifted_creators),
            "exhausted_creators": list(self.exhausted_creators),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CapState | None:
        if not data:
            return None
        return cls(
            int(data["per_category"]),
            int(data["per_creator"]),
            tuple(data.get("lifted_categories", ())),
            tuple(data.get("lifted_creators", ())),
            tuple(data.get("exhausted_creators", ())),
        )

    def blocked_by(self, candidate: Candidate, chosen: Sequence[Candidate]) -> str | None:
        """Why ``candidate`` may not fill the next slot: ``creator_exhausted``, ``cap``, or None.

        >>> caps = CapState(2, 1, exhausted_creators=("c9",))
        >>> a, b, c = Candidate("a", category="x", creator="c9"), Candidate("b", creator="c9"), Candidate("c", category="x")
        >>> caps.blocked_by(b, [a]), caps.blocked_by(c, [a]), caps.blocked_by(c, [a, Candidate("d", category="x")])
        ('creator_exhausted', None, 'cap')
        """
        if any(candidate.id == other.id for other in chosen):
            return "repeat"
        creator = candidate.creator
        if creator is not None:
            same_creator = sum(other.creator == creator for other in chosen)
            if creator in self.exhausted_creators and same_creator >= 1:
                return "creator_exhausted"
            if creator not in self.lifted_creators and same_creator >= self.per_creator:
                return "cap"
        category = candidate.category
        if category is not None and category not in self.lifted_categories:
            if sum(other.category == category for other in chosen) >= self.per_category:
                return "cap"
        return None

    def eligibility(self) -> Eligibility:
        """:meth:`blocked_by` as a rule for :func:`~policies.slates.fill_slate`, which asks it
        for every candidate of every slot (~300 times a 50-candidate slate) about the same
        few chosen prefixes: what a prefix holds is counted once per prefix, not per ask.

        >>> rule = CapState(2, 1).eligibility()
        >>> a, b = Candidate("a", category="x", creator="c1"), Candidate("b", category="x", creator="c1")
        >>> rule(b, []), rule(b, [a]), rule(a, [a])
        (True, False, False)
        """
        lifted_creators, exhausted = frozenset(self.lifted_creators), frozenset(self.exhausted_creators)
        lifted_categories = frozenset(self.lifted_categories)
        tallies: dict[tuple[int, ...], tuple[tuple[Candidate, ...], _Tally]] = {}

        def eligible(candidate: Candidate, chosen: Sequence[Candidate]) -> bool:
            # Keyed by the identities of the chosen items (cheap: asked ~250 times a slate).
            # The entry holds the items themselves, so no identity is reused while it lives;
            # items are frozen, so an identity fixes what the rule reads of it.
            key = tuple(map(id, chosen))
            found = tallies.get(key)
            if found is None:
                if len(tallies) > 64:
                    tallies.clear()
                found = tallies[key] = (tuple(chosen), _Tally.of(chosen))
            tally = found[1]
            if candidate.id in tally.ids:
                return False
            creator = candidate.creator
            if creator is not None:
                same_creator = tally.creators.get(creator, 0)
                if creator in exhausted and same_creator >= 1:
                    return False
                if creator not in lifted_creators and same_creator >= self.per_creator:
                    return False
            category = candidate.category
            if category is not None and category not in lifted_categories:
                return tally.categories.get(category, 0) < self.per_category
            return True

        return eligible


@dataclass(frozen=True)
class _Tally:
    """What a chosen prefix holds: its ids, and how many items of each creator and category."""

    ids: frozenset[str]
    creators: Counter[str]
    categories: Counter[str]

    @classmethod
    def of(cls, chosen: Sequence[Candidate]) -> _Tally:
        return cls(frozenset(other.id for other in chosen),
                   Counter(other.creator for other in chosen if other.creator is not None),
                   category_counts(chosen))


def cap_state(rules: SlateRules, view: UserView) -> CapState:
    return CapState(
        rules.cap_per_category,
        rules.cap_per_creator,
        tuple(sorted(view.lifted_categories)),
        tuple(sorted(view.lifted_creators)),
        tuple(sorted(view.exhausted_creators)),
    )


def apply_exclusions(
    candidates: Sequence[Candidate], view: UserView, rules: SlateRules
) -> tuple[list[Candidate], list[dict[str, str]]]:
    """Split candidates into those that may be served and ``{"item_id", "reason"}`` records.

    >>> view = UserView(consumed=frozenset({"a", "r"}), durable_categories=frozenset({"ovens"}), thumbs_down=frozenset({"d"}))
    >>> pool = [Candidate("a"), Candidate("r", kind="repeatable"), Candidate("o", category="ovens"), Candidate("d"), Candidate("x")]
    >>> kept, excluded = apply_exclusions(pool, view, SlateRules())
    >>> [c.id for c in kept], excluded
    (['r', 'x'], [{'item_id': 'a', 'reason': 'consumed'}, {'item_id': 'o', 'reason': 'durable_cooldown'}, {'item_id': 'd', 'reason': 'thumbs_down'}])
    """
    kept: list[Candidate] = []
    excluded: list[dict[str, str]] = []
    for candidate in candidates:
        if candidate.id in view.thumbs_down:
            reason = "thumbs_down"
        elif rules.exclude_consumed and candidate.id in view.consumed and candidate.kind != "repeatable":
            reason = "consumed"
        elif candidate.category is not None and candidate.category in view.durable_categories:
            reason = "durable_cooldown"
        else:
            kept.append(candidate)
            continue
        excluded.append({"item_id": candidate.id, "reason": reason})
    return kept, excluded


def capped_at_end(candidates: Sequence[Candidate], chosen: Sequence[Candidate], caps: CapState) -> list[dict[str, str]]:
    """Unserved candidates a cap kept out of the slate, with the cap that did it."""
    served = {candidate.id for candidate in chosen}
    records = []
    for candidate in candidates:
        if candidate.id in served:
            continue
        reason = caps.blocked_by(candidate, chosen)
        if reason in ("cap", "creator_exhausted"):
            records.append({"item_id": candidate.id, "reason": reason})
    return records


def category_counts(chosen: Sequence[Candidate]) -> Counter[str]:
    return Counter(candidate.category for candidate in chosen if candidate.category is not None)


@dataclass(frozen=True)
class CapArrays:
    """:class:`CapState` of D decisions at once, over their candidates padded to C columns.

    The nightly report replays every logged slate under its logged caps; asking
    :meth:`CapState.blocked_by` for each candidate, slot and target is millions of Python
    calls a night, so :func:`allowed_masks` applies the same rule to whole arrays.
    Decisions logged without caps have ``capped`` False: only repeats and exclusions apply.

    >>> caps = CapArrays.of([CapState(2, 1, exhausted_creators=("c9",)), None], [["c9", None], []], [[None, "x"], []])
    >>> caps.per_creator.ravel().tolist(), caps.exhausted.tolist(), caps.capped.ravel().tolist()
    ([1, 0], [[True, False], [False, False]], [True, False])
    """

    capped: np.ndarray  # (D, 1) bool: the decision logged caps
    per_creator: np.ndarray  # (D, 1) int
    per_category: np.ndarray  # (D, 1) int
    exhausted: np.ndarray  # (D, C) bool: the candidate's creator is exhausted
    lifted_creator: np.ndarray  # (D, C) bool
    lifted_category: np.ndarray  # (D, C) bool

    @classmethod
    def of(cls, caps: Sequence[CapState | None], creators: Sequence[Sequence[str | None]],
           categories: Sequence[Sequence[str | None]], width: int | None = None) -> CapArrays:
        """From each decision's caps and its candidates' creators and categories; rows
        shorter than ``width`` (default: the longest) are padding beyond their end."""
        shape = (len(caps), max(map(len, creators), default=0) if width is None else width)
        exhausted, lifted_creator, lifted_category = (np.zeros(shape, dtype=bool) for _ in range(3))
        for d, state in enumerate(caps):
            # Python only where a set is non-empty: most users have no lift and no exhausted creator.
            if state is None:
                continue
            n = len(creators[d])
            if state.exhausted_creators:
                exhausted[d, :n] = [c in state.exhausted_creators for c in creators[d]]
            if state.lifted_creators:
                lifted_creator[d, :n] = [c in state.lifted_creators for c in creators[d]]
            if state.lifted_categories:
                lifted_category[d, :n] = [c in state.lifted_categories for c in categories[d]]
        return cls(
            np.array([[state is not None] for state in caps], dtype=bool).reshape(-1, 1),
            np.array([state.per_creator if state else 0 for state in caps], dtype=np.int64).reshape(-1, 1),
            np.array([state.per_category if state else 0 for state in caps], dtype=np.int64).reshape(-1, 1),
            exhausted, lifted_creator, lifted_category,
        )

    def blocked(self, creator: np.ndarray, category: np.ndarray, same_creator: np.ndarray,
                same_category: np.ndarray) -> np.ndarray:
        """:meth:`CapState.blocked_by` but the repeat test, for every candidate: codes < 0 are None;
        ``same_*`` count the chosen items sharing each candidate's creator / category."""
        by_creator = (creator >= 0) & ((self.exhausted & (same_creator >= 1))
                                       | (~self.lifted_creator & (same_creator >= self.per_creator)))
        by_category = (category >= 0) & ~self.lifted_category & (same_category >= self.per_category)
        return self.capped & (by_creator | by_category)


def allowed_masks(ident: np.ndarray, creator: np.ndarray, category: np.ndarray, valid: np.ndarray,
                  served: np.ndarray, excluded: np.ndarray | None, caps: CapArrays | None) -> np.ndarray:
    """Which candidates each slot allowed, replaying the served prefix: ``(D, S, C)`` bool.

    ``ident``, ``creator``, ``category``: ``(D, C)`` integer codes of the candidates' ids,
    creators and categories (equal code = equal string; < 0 = None); ``valid``: real, not
    padding; ``served``: ``(D, S)`` column of the item served in each slot (< 0: no such
    slot); ``excluded``: ``(D, S, C)`` per-slot exclusions; ``caps`` None replays without
    caps (no repeats and exclusions only). The same rule as
    ``service.log.decisions.eligibility_of`` (or ``policies.slates.excluding``), slot by slot.

    >>> codes = np.array([[0, 1, 2]])
    >>> caps = CapArrays.of([CapState(1, 1)], [[None] * 3], [["x", "x", "y"]])
    >>> allowed_masks(codes, -np.ones_like(codes), np.array([[0, 0, 1]]), codes >= 0, np.array([[0, 2]]), None, caps).astype(int).tolist()
    [[[1, 1, 1], [0, 0, 1]]]
    """
    rows = np.arange(ident.shape[0])
    taken = np.zeros(ident.shape, dtype=bool)
    same_creator = np.zeros(ident.shape, dtype=np.int64)
    same_category = np.zeros(ident.shape, dtype=np.int64)
    masks = np.zeros((ident.shape[0], served.shape[1], ident.shape[1]), dtype=bool)
    for k in range(served.shape[1]):
        blocked = taken if excluded is None else taken | excluded[:, k]
        if caps is not None:
            blocked = blocked | caps.blocked(creator, category, same_creator, same_category)
        masks[:, k] = valid & ~blocked
        present = (served[:, k] >= 0)[:, None]
        column = np.maximum(served[:, k], 0)
        taken |= present & (ident == ident[rows, column][:, None])
        same_creator += present & (creator >= 0) & (creator == creator[rows, column][:, None])
        same_category += present & (category >= 0) & (category == category[rows, column][:, None])
    return masks
