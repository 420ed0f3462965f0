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

from bandit.slates import Candidate
from policies.slates import Eligibility


@dataclass(frozen=True)
class SlateRules:
    """Configurable defaults of design.md, "Not going berserk".

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
    """The user's state that the rules read; built by service/users.py."""

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
        return lambda candidate, chosen: self.blocked_by(candidate, chosen) is None


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
