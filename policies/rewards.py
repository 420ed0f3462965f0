"""Reward functions: configuration with documented defaults (docs/design.md, "Rewards").

A slate slot's reward is the sum of its item's outcome weights inside the reward window,
each weight multiplied by the outcome's ``value`` (default 1: a half-watched video can send
``consume`` with value 0.5), then clipped to [-1, 1]. VW minimises cost, so cost = -reward.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DEFAULT_SLATE_REWARDS: dict[str, float] = {
    "consume": 1.0,
    "purchase": 1.0,
    "click": 0.3,
    "skip": 0.0,
    "double_thumbs_up": 1.0,
    "thumbs_up": 0.5,
    "thumbs_down": -1.0,
    # A reward the client computed itself (Personalizer's Reward, service/http/personalizer): its
    # value is the slot's reward, so keep the weight at 1.0.
    "reward": 1.0,
}

DEFAULT_PROMPT_REWARDS: dict[str, float] = {
    "graded_answer": math.log2(3),  # ≈ 1.585 bits: one of three answers
    "single_answer": 1.0,  # one bit
    "dismissed": -0.1,
    "ignored": 0.0,
    "abandoned": -1.0,
    "no_prompt": 0.0,
    "public_bonus": 0.0,
}

OUTCOME_TYPES: tuple[str, ...] = tuple(DEFAULT_SLATE_REWARDS)


@dataclass(frozen=True)
class SlateReward:
    """Per-slot reward from the outcomes of one decision.

    >>> reward = SlateReward()
    >>> reward.slot_rewards(["a", "b"], [("a", "click", 1.0), ("a", "consume", 1.0), ("b", "thumbs_down", 1.0)])
    [1.0, -1.0]
    """

    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_SLATE_REWARDS)))

    def slot_rewards(self, items: list[str], outcomes: Iterable[tuple[str, str, float]]) -> list[float]:
        totals = dict.fromkeys(items, 0.0)
        for item_id, kind, value in outcomes:
            if item_id in totals:
                totals[item_id] += self.weights.get(kind, 0.0) * value
        return [min(1.0, max(-1.0, totals[item])) for item in items]


#: What a user can do with a prompt. Answers are explicit feedback; see :data:`ANSWER_VALUES`.
PROMPT_RESPONSES: tuple[str, ...] = ("thumbs_down", "thumbs_up", "double_thumbs_up", "dismissed", "abandoned")
#: Answer → the value stored in ``feedback`` (docs/design.md, "Graded thumbs and not going berserk").
ANSWER_VALUES: dict[str, str] = {"thumbs_down": "down", "thumbs_up": "up", "double_thumbs_up": "double_up"}


@dataclass(frozen=True)
class PromptReward:
    """The reward of one prompt decision: information elicited minus annoyance.

    ``fmt`` is None for "no prompt"; ``response`` is None when nothing came inside the
    window (ignored). A public answer earns ``public_bonus`` on top.

    >>> reward = PromptReward()
    >>> round(reward.reward("graded", "private", "thumbs_up"), 3), reward.reward("single", "public", "thumbs_down")
    (1.585, 1.0)
    >>> reward.reward(None, None, None), reward.reward("single", "private", None), reward.reward("graded", "public", "abandoned")
    (0.0, 0.0, -1.0)
    """

    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_PROMPT_REWARDS)))

    def reward(self, fmt: str | None, visibility: str | None, response: str | None) -> float:
        w = {**DEFAULT_PROMPT_REWARDS, **self.weights}
        if fmt is None:
            return float(w["no_prompt"])
        if response is None:
            return float(w["ignored"])
        if response in ("dismissed", "abandoned"):
            return float(w[response])
        if response not in ANSWER_VALUES:
            raise ValueError(f"unknown prompt response {response!r}")
        answer = w["graded_answer"] if fmt == "graded" else w["single_answer"]
        return float(answer + (w["public_bonus"] if visibility == "public" else 0.0))
