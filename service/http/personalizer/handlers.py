"""Rank, Multi-slot Rank, Reward and Activate, mapped onto the slate core.

* Rank → a one-slot slate over the actions that are not excluded; ``ranking`` lists every
  action with its probability: the chosen one first, then the other allowed actions by
  falling probability, then the excluded ones with probability 0.
* Multi-slot Rank → a slate with one slot per Personalizer slot (its features and its
  ``excludedActions``); an action fills at most one slot. A slot left with no eligible
  action (earlier slots took them) is answered without ``rewardActionId``, and so are the
  slots after it, since slots fill in order.
* Reward → a slate outcome of type ``reward`` whose value is the reward, on the slot's
  served action (slot 0 for Rank). With ``PERSONALIZER_REWARD_AGGREGATION=earliest``
  (Personalizer's default) only the first reward of a slot counts: it is stored under a
  fixed outcome id, so later ones are idempotent repeats; ``sum`` adds them (then the
  learner clips to [-1, 1]).
* Activate → the slate activation (its reward window starts then).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bandit.errors import InvalidInput, NotFound
from bandit.features import validate as validate_features
from service.core.errors import StoreUnavailable
from service.decide.requests import parse_model
from service.decide.slates import SlateDecider
from service.http.personalizer.features import flatten
from service.http.personalizer.requests import (
    MultiSlotRankRequest,
    RankableAction,
    RankRequest,
    check_action_ids,
    check_event_id,
    multislot_rewards,
    reward_value,
)
from service.store import Store

#: Personalizer has no user id; all its decisions share this one (pseudonymised like any).
USER_ID = "personalizer"
AGGREGATIONS = ("earliest", "sum")


class PersonalizerApi:
    def __init__(self, slates: SlateDecider, store: Store, config: Mapping[str, Any]) -> None:
        self.slates = slates
        self.store = store
        self.max_features = int(config["MAX_FEATURES"])
        self.max_candidates = int(config["MAX_CANDIDATES"])
        self.aggregation = str(config.get("PERSONALIZER_REWARD_AGGREGATION") or "earliest")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"PERSONALIZER_REWARD_AGGREGATION must be one of {AGGREGATIONS}")

    # ranking ------------------------------------------------------------------------------

    def _features(self, objects: Any, field: str) -> dict[str, Any]:
        features = flatten(objects, field=field)
        validate_features(features, field=field, max_features=self.max_features)
        return features

    def _candidates(self, actions: list[RankableAction], keep: set[str] | None = None) -> list[dict[str, Any]]:
        if len(actions) > self.max_candidates:
            raise InvalidInput(f"at most {self.max_candidates} actions are allowed", field="actions")
        # "repeatable": a Personalizer action may be served again; consumption rules do not apply.
        return [
            {"id": action.id, "features": self._features(action.features, f"actions[{index}].features"), "kind": "repeatable"}
            for index, action in enumerate(actions)
            if keep is None or action.id in keep
        ]

    def _payload(self, request: RankRequest | MultiSlotRankRequest, candidates: list[dict[str, Any]], slots: Any) -> dict[str, Any]:
        check_event_id(request.eventId)
        payload: dict[str, Any] = {
            "user_id": USER_ID,
            "context": self._features(request.contextFeatures, "contextFeatures"),
            "candidates": candidates,
            "slots": slots,
            "defer_activation": bool(request.deferActivation),
        }
        if request.eventId is not None:
            payload["event_id"] = request.eventId
        return payload

    def rank(self, body: Any) -> dict[str, Any]:
        request = parse_model(RankRequest, body)
        ids = check_action_ids(request.actions)
        excluded = set(request.excludedActions or ())
        keep = {action_id for action_id in ids if action_id not in excluded}
        if not keep:
            raise InvalidInput("every action is excluded", field="excludedActions")
        payload = self._payload(request, self._candidates(request.actions, keep), 1)
        origin = {"api": "personalizer", "excluded_actions": [a for a in ids if a in excluded],
                  # Personalizer's baseline for a Rank: the first action not excluded
                  "baseline": [next(a for a in ids if a in keep)]}
        decision, _ = self.slates.decide_document(payload, origin=origin)
        return rank_response(decision)

    def rank_multi_slot(self, body: Any) -> dict[str, Any]:
        request = parse_model(MultiSlotRankRequest, body)
        ids = check_action_ids(request.actions)
        known = set(ids)
        if len(request.slots) > len(ids):
            raise InvalidInput(f"{len(request.slots)} slots but only {len(ids)} actions", field="slots")
        slots, excluded, baselines = [], [], []
        seen_slots: set[str] = set()
        for index, slot in enumerate(request.slots):
            where = f"slots[{index}]"
            if slot.id in seen_slots:
                raise InvalidInput(f"duplicate slot id {slot.id!r}", field=f"{where}.id")
            seen_slots.add(slot.id)
            out = sorted(set(slot.excludedActions or ()) & known)  # unknown ids exclude nothing
            if slot.baselineAction not in known:
                raise InvalidInput("baselineAction must be one of the actions", field=f"{where}.baselineAction")
            if slot.baselineAction in out:
                raise InvalidInput("baselineAction must not be excluded", field=f"{where}.baselineAction")
            if slot.baselineAction in baselines:
                raise InvalidInput("each slot needs its own baselineAction", field=f"{where}.baselineAction")
            slots.append({"id": slot.id, "features": self._features(slot.features, f"{where}.features")})
            excluded.append(out)
            baselines.append(slot.baselineAction)
        payload = self._payload(request, self._candidates(request.actions), slots)
        decision, _ = self.slates.decide_document(
            payload, excluded=excluded, origin={"api": "personalizer", "baseline": baselines}
        )
        return multislot_response(decision)

    # rewards and activation ---------------------------------------------------------------

    def _decision(self, event_id: str) -> dict[str, Any]:
        decision = self.slates.log.get_decision(event_id)  # the store, or this worker's spool
        if decision is None and self.slates.log.down:  # a reward needs the served action: retry later
            raise StoreUnavailable("the store (MongoDB) cannot be reached; retry later")
        if decision is None or decision.get("kind") != "slate":
            raise NotFound(f"no event with id {event_id!r}", field="eventId")
        return decision

    def _record(self, event_id: str, choice: Mapping[str, Any], value: float) -> None:
        request: dict[str, Any] = {"outcomes": [{"item_id": choice["item_id"], "type": "reward", "value": value}]}
        if self.aggregation == "earliest":
            request["outcome_id"] = f"personalizer-reward-slot-{choice['slot']}"
        self.slates.record_outcomes(event_id, request)

    def reward(self, event_id: str, body: Any) -> None:
        value = reward_value(body)
        check_event_id(event_id)
        chosen = self._decision(event_id)["chosen"]
        if not chosen:
            raise InvalidInput("the event served no action to reward", field="eventId")
        self._record(event_id, chosen[0], value)

    def reward_multi_slot(self, event_id: str, body: Any) -> None:
        pairs = multislot_rewards(body)
        check_event_id(event_id)
        decision = self._decision(event_id)
        by_slot = {choice["slot_id"]: choice for choice in decision["chosen"]}
        slot_ids = {slot["id"] for slot in decision["slots"]}
        for index, (slot_id, _) in enumerate(pairs):  # check all before writing any
            if slot_id not in slot_ids:
                raise InvalidInput(f"the event has no slot {slot_id!r}", field=f"reward[{index}].slotId")
            if slot_id not in by_slot:
                raise InvalidInput(f"slot {slot_id!r} was served no action", field=f"reward[{index}].slotId")
        for slot_id, value in pairs:
            self._record(event_id, by_slot[slot_id], value)

    def activate(self, event_id: str) -> None:
        check_event_id(event_id)
        self._decision(event_id)
        self.slates.activate(event_id)


def rank_response(decision: Mapping[str, Any]) -> dict[str, Any]:
    choice = decision["chosen"][0]
    allowed = choice["allowed"]
    probability = dict(zip(allowed, choice["distribution"]))
    rest = sorted((a for a in allowed if a != choice["item_id"]), key=lambda a: (-probability[a], allowed.index(a)))
    ranking = [{"id": choice["item_id"], "probability": choice["probability"]}]
    ranking += [{"id": action_id, "probability": probability[action_id]} for action_id in rest]
    ranking += [{"id": action_id, "probability": 0.0} for action_id in decision.get("origin", {}).get("excluded_actions", [])]
    return {"ranking": ranking, "eventId": decision["_id"], "rewardActionId": choice["item_id"]}


def multislot_response(decision: Mapping[str, Any]) -> dict[str, Any]:
    served = {choice["slot_id"]: choice["item_id"] for choice in decision["chosen"]}
    slots = [
        {"id": slot["id"], **({"rewardActionId": served[slot["id"]]} if slot["id"] in served else {})}
        for slot in decision["slots"]
    ]
    return {"slots": slots, "eventId": decision["_id"]}
