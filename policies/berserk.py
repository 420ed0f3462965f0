"""The berserk index: how strongly slates over-react to a like (docs/design.md).

For each like (``up`` or ``double_up``) given on day D−1: the share of the user's slate
slots on day D whose item shares the liked item's category or creator, minus the same
share over the 7 days before the like. Zero means the like changed nothing; a large
positive value is the "momos every day" flood that teaches users to stop liking.

A like whose user saw no slate on day D, or none in the 7 days before, says nothing about
a change and is skipped (and counted as skipped).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from scipy import stats

DAY_MS = 86_400_000
BASELINE_DAYS = 7


@dataclass(frozen=True)
class Like:
    user: str
    item_id: str
    value: str  # "up" | "double_up"
    t: int
    category: str | None
    creator: str | None


@dataclass(frozen=True)
class Slot:
    t: int
    category: str | None
    creator: str | None


@dataclass(frozen=True)
class BerserkIndex:
    """Mean change in share, overall and by like value; None where no like counted.

    ``changes`` holds the per-like changes behind each mean (by like value), so a reader
    can put an interval on them (:meth:`interval`); it is left out of ``repr`` and
    equality so that the index reads and compares as before.
    """

    overall: float | None
    up: float | None
    double_up: float | None
    likes: int
    skipped: int
    changes: Mapping[str, tuple[float, ...]] = field(default_factory=dict, repr=False, compare=False)

    def interval(self, value: str, alpha: float = 0.05) -> tuple[float | None, float | None]:
        """t-interval of the mean change after likes of ``value`` ("up", "double_up" or
        "overall"); (None, None) with fewer than two likes. Treats likes as independent —
        two likes of one user share that user's slates, so it is somewhat too narrow then.

        >>> BerserkIndex(0.5, 0.5, None, 3, 0, {"up": (0.4, 0.5, 0.6)}).interval("up")
        (0.251..., 0.748...)
        >>> BerserkIndex(0.5, 0.5, None, 1, 0, {"up": (0.5,)}).interval("up")
        (None, None)
        """
        values = [x for v in self.changes.values() for x in v] if value == "overall" else list(self.changes.get(value, ()))
        n = len(values)
        if n < 2:
            return None, None
        mean = sum(values) / n
        se = math.sqrt(sum((x - mean) ** 2 for x in values) / (n - 1) / n)
        half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
        return mean - half, mean + half

    def as_dict(self) -> dict[str, float | int | None]:
        return {"overall": self.overall, "up": self.up, "double_up": self.double_up, "likes": self.likes, "skipped": self.skipped}


def share_like(like: Like, slots: Sequence[Slot]) -> float:
    """Share of ``slots`` from the liked item's category or creator.

    >>> like = Like("u", "m1", "up", 0, "momos", "chef")
    >>> share_like(like, [Slot(1, "momos", "x"), Slot(2, "pizza", "chef"), Slot(3, "pizza", "y"), Slot(4, None, None)])
    0.5
    """
    hits = sum(
        (like.category is not None and slot.category == like.category)
        or (like.creator is not None and slot.creator == like.creator)
        for slot in slots
    )
    return hits / len(slots)


def berserk_index(likes: Iterable[Like], slots_of_user: dict[str, Sequence[Slot]], day_start_ms: int) -> BerserkIndex:
    """Index for day D (``day_start_ms`` = 00:00 of D) from likes on D−1 and every user's slots.

    >>> likes = [Like("a", "m1", "up", -3_600_000, "momos", None)]
    >>> slots = {"a": [Slot(-2 * DAY_MS, "momos", None), Slot(-2 * DAY_MS, "pizza", None),
    ...                Slot(1_000, "momos", None), Slot(2_000, "momos", None)]}
    >>> index = berserk_index(likes, slots, 0)
    >>> index, index.changes
    (BerserkIndex(overall=0.5, up=0.5, double_up=None, likes=1, skipped=0), {'up': (0.5,), 'double_up': ()})
    """
    deltas: dict[str, list[float]] = {"up": [], "double_up": []}
    skipped = 0
    for like in likes:
        slots = slots_of_user.get(like.user, ())
        after = [s for s in slots if day_start_ms <= s.t < day_start_ms + DAY_MS]
        before = [s for s in slots if like.t - BASELINE_DAYS * DAY_MS <= s.t < like.t]
        if not after or not before:
            skipped += 1
            continue
        deltas.setdefault(like.value, []).append(share_like(like, after) - share_like(like, before))

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    every = [delta for values in deltas.values() for delta in values]
    return BerserkIndex(mean(every), mean(deltas["up"]), mean(deltas["double_up"]), len(every), skipped,
                        {value: tuple(changes) for value, changes in deltas.items()})
