"""One simulated person: fixed traits drawn at birth, and state that evolves in event time.

All state is kept in event time (epoch ms passed in by the caller), never the wall clock, so
a driver that advances an injected clock gets the same behaviour however fast it runs.
Decayed exposures are stored as (value, time of last update) and decayed lazily on read:
``value × 2^(−Δt / half-life)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.params import DAY_MS


@dataclass(frozen=True)
class UserTraits:
    """What a user is, drawn once from the user's own seed stream.

    >>> t = UserTraits(0, "user0", np.array([1.0, 0.5]), np.array([1.2]), 0.6, 0.3, "tv", "low")
    >>> t.favourite_category
    0
    """

    index: int
    user_id: str
    taste: np.ndarray  # per category, scaled so the favourite is 1.0
    creator_affinity: np.ndarray  # per creator, log-normal with mean 1
    answer_propensity: float  # P(answer) of a fresh single/private prompt, before abandonment
    sensitivity: float  # privacy sensitivity s in [0, 1]: public answers × (1 − s)
    device: str
    social: str  # "high" | "low": a noisy, observable hint of sensitivity (big audience → more private)

    @property
    def favourite_category(self) -> int:
        return int(np.argmax(self.taste))


@dataclass
class PendingLike:
    """A like whose following day is being watched for a flood of the same category/creator."""

    category: str
    creator: str
    t_ms: int
    slots: int = 0
    hits: int = 0


@dataclass
class User:
    """Traits plus evolving state; owns the generator behind this user's behaviour.

    >>> u = User(UserTraits(0, "u", np.ones(1), np.ones(1), 0.5, 0.0, "tv", "low"), np.random.default_rng(0), 2.0)
    >>> u.add_exposure("cat0", 1.0, now_ms=0)
    >>> u.exposure("cat0", now_ms=2 * DAY_MS)
    0.5
    >>> u.note_prompt(now_ms=5); u.note_prompt(now_ms=6); u.prompts_today(now_ms=7), u.prompts_today(DAY_MS)
    (2, 0)
    """

    traits: UserTraits
    rng: np.random.Generator
    half_life_days: float
    consumed: dict[str, int] = field(default_factory=dict)  # item id → times consumed or purchased
    purchases: dict[str, int] = field(default_factory=dict)  # category → time of last durable purchase
    likes: list[tuple[str, int]] = field(default_factory=list)  # (item id, time) of every like
    burnt: bool = False  # once burnt, stays burnt: trust lost to a flood is not regained here
    _exposure: dict[str, tuple[float, int]] = field(default_factory=dict)
    _prompt_day: int = -1
    _prompts_today: int = 0
    _pending: list[PendingLike] = field(default_factory=list)

    # --- satiation ------------------------------------------------------------------------
    def exposure(self, key: str, now_ms: int) -> float:
        """Decayed exposure to a category (``cat3``) or creator (``creator12``) at ``now_ms``."""
        value, t = self._exposure.get(key, (0.0, now_ms))
        return value * 0.5 ** (max(0, now_ms - t) / (self.half_life_days * DAY_MS))

    def add_exposure(self, key: str, amount: float, now_ms: int) -> None:
        self._exposure[key] = (self.exposure(key, now_ms) + amount, now_ms)

    # --- prompt fatigue --------------------------------------------------------------------
    def prompts_today(self, now_ms: int) -> int:
        """Prompts already shown this event-day (UTC days)."""
        return self._prompts_today if now_ms // DAY_MS == self._prompt_day else 0

    def note_prompt(self, now_ms: int) -> None:
        self._prompts_today = self.prompts_today(now_ms) + 1
        self._prompt_day = now_ms // DAY_MS

    # --- burnt-ness ------------------------------------------------------------------------
    def record_like(self, item: dict[str, Any], now_ms: int) -> None:
        """Start watching the day after this like for slates flooded with its category/creator."""
        self.likes.append((item["id"], now_ms))
        self._pending.append(PendingLike(item["category"], item["creator"], now_ms))

    def observe_slot(self, item: dict[str, Any], now_ms: int) -> None:
        """Count a slate slot shown at ``now_ms`` against every like still being watched."""
        for like in self._pending:
            if like.t_ms < now_ms <= like.t_ms + DAY_MS:
                like.slots += 1
                like.hits += item["category"] == like.category or item["creator"] == like.creator

    def settle(self, now_ms: int, threshold: float) -> None:
        """Judge the likes whose day has passed: a flooded one burns the user."""
        still = []
        for like in self._pending:
            if now_ms <= like.t_ms + DAY_MS:
                still.append(like)
            elif like.slots and like.hits / like.slots > threshold:
                self.burnt = True
        self._pending = still
