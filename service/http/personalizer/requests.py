"""Personalizer request bodies, checked with Personalizer's own field names.

Field names, required fields and lengths follow the public REST specification (v1.0,
v1.1-preview.1..3, 2022-09-01-preview: the bodies are the same in all of them). Unknown
fields are ignored, as Personalizer ignored them; ``null`` is accepted wherever a field
is optional, because some generated clients send it. Every failure is an
:class:`~bandit.errors.InvalidInput` whose ``field`` becomes the error's ``target``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bandit.errors import InvalidInput, MalformedRequest
from service.decide.requests import parse_model

Id = Annotated[str, Field(min_length=1, max_length=256)]
#: elicit keeps event ids to 128 characters (native API); Personalizer allowed 256.
MAX_EVENT_ID = 128


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class RankableAction(_Body):
    id: Id
    features: list[Any] | None = None


class RankRequest(_Body):
    contextFeatures: list[Any] | None = None
    actions: list[RankableAction] = Field(min_length=1)
    excludedActions: list[Id] | None = None
    eventId: Id | None = None
    deferActivation: bool | None = None


class SlotRequest(_Body):
    id: Id
    features: list[Any] | None = None
    excludedActions: list[Id] | None = None
    baselineAction: Id


class MultiSlotRankRequest(_Body):
    contextFeatures: list[Any] | None = None
    actions: list[RankableAction] = Field(min_length=1)
    slots: list[SlotRequest] = Field(min_length=1)
    eventId: Id | None = None
    deferActivation: bool | None = None


class SlotReward(_Body):
    slotId: Id
    value: float


class RewardRequest(_Body):
    value: float


class MultiSlotRewardRequest(_Body):
    reward: list[SlotReward] = Field(min_length=1)


def check_reward(value: float, field: str) -> float:
    """Personalizer's rule: a finite number from -1 to 1 inclusive."""
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise InvalidInput("reward must be a number between -1 and 1 inclusive", field=field)
    return float(value)


def reward_value(body: Any) -> float:
    """Reward's body: ``{"value": x}`` as specified, or a bare number as some clients sent it."""
    if isinstance(body, (int, float)) and not isinstance(body, bool):
        return check_reward(float(body), "value")
    if not isinstance(body, dict):
        raise MalformedRequest('body must be {"value": <number>}', field="body")
    if "value" not in body:
        raise InvalidInput("value is required", field="value")
    return check_reward(parse_model(RewardRequest, body).value, "value")


def multislot_rewards(body: Any) -> list[tuple[str, float]]:
    """``(slotId, value)`` pairs, each slot at most once."""
    request = parse_model(MultiSlotRewardRequest, body)
    seen: set[str] = set()
    pairs = []
    for index, reward in enumerate(request.reward):
        if reward.slotId in seen:
            raise InvalidInput(f"slot {reward.slotId!r} is rewarded twice", field=f"reward[{index}].slotId")
        seen.add(reward.slotId)
        pairs.append((reward.slotId, check_reward(reward.value, f"reward[{index}].value")))
    return pairs


def check_event_id(event_id: str | None, field: str = "eventId") -> None:
    if event_id is not None and len(event_id) > MAX_EVENT_ID:
        raise InvalidInput(f"elicit keeps event ids to {MAX_EVENT_ID} characters", field=field)


def check_action_ids(actions: list[RankableAction]) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    for index, action in enumerate(actions):
        if action.id in seen:
            raise InvalidInput(f"duplicate action id {action.id!r}", field=f"actions[{index}].id")
        seen.add(action.id)
        ids.append(action.id)
    return ids
