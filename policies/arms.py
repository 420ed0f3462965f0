"""What an experiment arm may change about a decision, and how — exact probabilities kept.

An arm's settings are a small, closed vocabulary (unknown keys are refused by name), each
testing one hypothesis of docs/design.md at the level of users rather than decisions:

``over_reaction``
    slates react to a like as a naive recommender would: for ``days`` after a like (``on``:
    ``up`` — an up or a double up — or ``double_up`` only) the liked item's category and
    creator are exempt from the per-slate caps, and ``share`` of every slot's probability goes
    to their items (spread as the model spreads it among them). The default behaviour
    (caps, no flood) is the control.
``prompt_visibility``
    every asking prompt the user sees is ``public`` (or ``private``): the mass of each
    format goes to that visibility, whatever the model prefers.

Both act on the distribution *before* it is sampled, so the logged probability is the
arm's: :func:`flooded` mixes, :func:`with_visibility` moves mass. (A multiplicative boost
would not flood: the learned distribution is epsilon-greedy, ~0.9 on one item and ~0.003
on each other, so even 50× on the liked items left the greedy one in front — measured: a
berserk index of +0.135 against +0.020 capped, too weak to burn anyone.)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from bandit.slates import Candidate
from policies.prompts import VISIBILITIES, PromptAction
from policies.slates import SlatePolicy, SlotAsker, asking

LIKE_TRIGGERS = ("up", "double_up")
#: The settings an arm may carry; ``sets`` of an experiment is the union over its arms.
SETTINGS = ("over_reaction", "prompt_visibility")
MAX_DAYS = 365.0


class SettingError(ValueError):
    """A setting elicit will not accept; ``field`` names it relative to the settings object."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class OverReaction:
    """React to a like as a naive recommender would (see the module docstring).

    >>> OverReaction.parse({"on": "up", "days": 7, "share": 0.8})
    OverReaction(on='up', days=7.0, share=0.8)
    >>> OverReaction("double_up").triggers
    ('double_up',)
    """

    on: str = "up"
    days: float = 7.0
    share: float = 0.8

    @property
    def triggers(self) -> tuple[str, ...]:
        return LIKE_TRIGGERS if self.on == "up" else ("double_up",)

    @classmethod
    def parse(cls, raw: Any) -> OverReaction:
        if not isinstance(raw, Mapping):
            raise SettingError("over_reaction must be an object {on, days, share}", "over_reaction")
        unknown = sorted(set(raw) - {"on", "days", "share"})
        if unknown:
            raise SettingError(f"unknown over_reaction setting {unknown[0]!r}", f"over_reaction.{unknown[0]}")
        on = raw.get("on", cls.on)
        if on not in LIKE_TRIGGERS:
            raise SettingError(f"over_reaction.on must be one of {LIKE_TRIGGERS}", "over_reaction.on")
        days = _number(raw.get("days", cls.days), "over_reaction.days", 0.0, MAX_DAYS)
        share = _number(raw.get("share", cls.share), "over_reaction.share", 0.0, 0.99)
        return cls(str(on), days, share)

    def as_dict(self) -> dict[str, Any]:
        return {"on": self.on, "days": self.days, "share": self.share}


@dataclass(frozen=True)
class ArmSettings:
    """The settings of one arm; the empty one is elicit's default behaviour.

    >>> ArmSettings.parse({"prompt_visibility": "public"}).prompt_visibility
    'public'
    >>> ArmSettings.parse({"colour": "red"})
    Traceback (most recent call last):
    ...
    policies.arms.SettingError: unknown setting 'colour'; known: over_reaction, prompt_visibility
    >>> ArmSettings().sets
    frozenset()
    """

    over_reaction: OverReaction | None = None
    prompt_visibility: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> ArmSettings:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise SettingError("settings must be an object", "")
        for key in raw:
            if key not in SETTINGS:
                raise SettingError(f"unknown setting {key!r}; known: {', '.join(SETTINGS)}", str(key))
        over = raw.get("over_reaction")
        visibility = raw.get("prompt_visibility")
        if visibility is not None and visibility not in VISIBILITIES:
            raise SettingError(f"prompt_visibility must be one of {VISIBILITIES}", "prompt_visibility")
        return cls(OverReaction.parse(over) if over is not None else None, visibility)

    @property
    def sets(self) -> frozenset[str]:
        """The names of the settings this arm changes (for the overlap rule)."""
        return frozenset(name for name in SETTINGS if getattr(self, name) is not None)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.over_reaction is not None:
            out["over_reaction"] = self.over_reaction.as_dict()
        if self.prompt_visibility is not None:
            out["prompt_visibility"] = self.prompt_visibility
        return out


def _number(value: Any, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        raise SettingError(f"{field} must be a number in [{low:g}, {high:g}]", field)
    return float(value)


def flooded(pmf: np.ndarray, favoured: np.ndarray, share: float) -> np.ndarray:
    """``(1 − share) · pmf + share · pmf`` restricted to the ``favoured`` entries (uniform
    over them where the model gives them no mass); ``pmf`` itself when none is favoured.

    >>> flooded(np.array([0.9, 0.05, 0.05]), np.array([False, True, True]), 0.8).round(3).tolist()
    [0.18, 0.41, 0.41]
    >>> flooded(np.array([0.5, 0.5]), np.array([False, False]), 0.8).tolist()
    [0.5, 0.5]
    """
    base = np.asarray(pmf, dtype=np.float64)
    if not favoured.any():
        return base
    inside = np.where(favoured, base, 0.0)
    total = inside.sum()
    inside = inside / total if total > 0 else favoured / favoured.sum()
    return (1.0 - share) * base / base.sum() + share * inside


def with_visibility(pmf: np.ndarray, actions: Sequence[PromptAction], visibility: str) -> np.ndarray:
    """Every asking action's mass moved to the same format at ``visibility``; an action set
    without that visibility for a format keeps the format's mass where it was.

    >>> from policies.prompts import DEFAULT_PROMPT_ACTIONS, parse_actions
    >>> actions = parse_actions(DEFAULT_PROMPT_ACTIONS)  # none, single/private, single/public, graded/...
    >>> with_visibility(np.array([0.2, 0.1, 0.3, 0.25, 0.15]), actions, "public").round(6).tolist()
    [0.2, 0.0, 0.4, 0.0, 0.4]
    """
    out = np.asarray(pmf, dtype=np.float64).copy()
    index = {(a.format, a.visibility): i for i, a in enumerate(actions)}
    for i, action in enumerate(actions):
        target = index.get((action.format, visibility))
        if action.ask and action.visibility != visibility and target is not None:
            out[target] += out[i]
            out[i] = 0.0
    return out


class OverReactingSlatePolicy:
    """A slate policy whose every slot distribution gives ``share`` to the liked categories
    and creators (:func:`flooded`), before :func:`~policies.slates.fill_slate` cleans and
    samples it — so the logged probability is this policy's.

    >>> from policies.slates import UniformSlatePolicy
    >>> policy = OverReactingSlatePolicy(UniformSlatePolicy(), frozenset({"x"}), frozenset(), 0.5)
    >>> policy.slot_distribution({}, [Candidate("a", category="x"), Candidate("b")], {}, 0).tolist()
    [0.75, 0.25]
    """

    name = "over_reacting"

    def __init__(self, base: SlatePolicy, categories: frozenset[str], creators: frozenset[str], share: float) -> None:
        self.base = base
        self.categories = categories
        self.creators = creators
        self.share = share

    def _favoured(self, candidates: Sequence[Candidate]) -> np.ndarray:
        return np.array([c.category in self.categories or c.creator in self.creators for c in candidates], dtype=bool)

    def slot_distribution(self, context: Mapping[str, Any], allowed: Sequence[Candidate], slot_features: Mapping[str, Any],
                          position: int) -> np.ndarray:
        pmf = self.base.slot_distribution(context, allowed, slot_features, position)
        return flooded(pmf, self._favoured(allowed), self.share)

    @contextmanager
    def slate(self, context: Mapping[str, Any], candidates: Sequence[Candidate]) -> Iterator[SlotAsker]:
        favoured = self._favoured(candidates)
        with asking(self.base, context, candidates) as ask:
            yield lambda keep, slot_features, position: flooded(ask(keep, slot_features, position), favoured[list(keep)],
                                                                self.share)
