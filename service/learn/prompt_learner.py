"""The prompt kind of the learner: reward = the response that came inside the window.

A prompt decision's reward is joined from its own document (``response``, written by
``POST /v1/prompts/<event_id>/response``): an answer, a dismissal or an abandoned session
if it arrived by ``window_end``; nothing (ignored) otherwise; "no prompt" has its own
reward. The claim/publish scheme is :class:`service.learn.learner.KindLearner`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bandit.actions import ActionModel
from policies.prompts import PromptAction, PromptContext
from policies.rewards import PromptReward
from service.core.clock import Clock
from service.learn.learner import KindLearner
from service.store import Store
from service.store.models import ModelRegistry


def prompt_reward(decision: Mapping[str, Any], reward: PromptReward) -> float:
    chosen = decision["chosen"]
    response = decision.get("response")
    counted = response["type"] if response and response["t"] <= decision["window_end"] else None
    return reward.reward(chosen["format"], chosen["visibility"], counted)


class PromptLearner(KindLearner[ActionModel]):
    kind = "prompt"

    def __init__(self, store: Store, registry: ModelRegistry[ActionModel], config: Mapping[str, Any], clock: Clock) -> None:
        super().__init__(store, registry, config, clock)
        self.reward = PromptReward(dict(config["PROMPT_REWARDS"]))

    def rewards(self, due: list[dict[str, Any]]) -> dict[str, Any]:
        return {decision["_id"]: prompt_reward(decision, self.reward) for decision in due}

    def learn(self, model: ActionModel, decision: Mapping[str, Any], reward: Any) -> int:
        """One ``cb_explore_adf`` example over the actions as logged (cost = −reward)."""
        actions = [PromptAction.parse(name) for name in decision["actions"]]
        chosen = decision["chosen"]
        model.learn(
            PromptContext.of(decision).vw_text, [action.vw_text for action in actions],
            chosen=int(chosen["index"]), cost=-float(reward), probability=float(chosen["probability"]),
        )
        return 1
