"""Synthetic prompt decisions as the prompt decider logs them, with answer rates chosen by the
test: the exact truth of every effect is known. Logged like the shipped defaults: VW's
ε-greedy (ε = 0.1) on one action, cleaned, then the exploration floor (0.3) mixed in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from policies.prompts import DEFAULT_PROMPT_ACTIONS, parse_actions, with_floor
from policies.sampling import clean_pmf

ACTIONS = list(DEFAULT_PROMPT_ACTIONS)
DAY_MS = 86_400_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z, the test clock's start

AnswerRate = Callable[[str, str], float]  # (format, visibility) -> P(answer)


def logged_distribution(greedy: str, epsilon: float = 0.1, floor: float = 0.3) -> np.ndarray:
    """What the decider logs when the model's greedy action is ``greedy``."""
    raw = np.full(len(ACTIONS), epsilon / len(ACTIONS))
    raw[ACTIONS.index(greedy)] += 1 - epsilon
    return with_floor(clean_pmf(raw), parse_actions(ACTIONS), floor)


def prompt_log(store: Any, start_ms: int, n: int, rng: np.random.Generator, answer_rate: AnswerRate,
               prefix: str = "p", greedy: tuple[str, ...] = ("graded/private", "single/private")) -> list[dict[str, Any]]:
    """``n`` joined prompt decisions in ``[start_ms, start_ms + 1 day)``, inserted in the store."""
    docs = []
    for i in range(n):
        pmf = logged_distribution(greedy[i % len(greedy)])
        index = int(rng.choice(len(ACTIONS), p=pmf))
        action = ACTIONS[index]
        fmt, _, visibility = action.partition("/")
        t = start_ms + int(i * DAY_MS / n)
        asked = action != "none"
        answered = asked and rng.random() < answer_rate(fmt, visibility)
        doc = {
            "_id": f"{prefix}{i}", "kind": "prompt", "t": t, "user": f"u{i % 97}", "item_id": "m", "context": {},
            "derived": {}, "actions": ACTIONS, "distribution": [float(p) for p in pmf], "ask": asked,
            "chosen": {"index": index, "action": action, "format": fmt if asked else None,
                       "visibility": visibility if asked else None, "probability": float(pmf[index])},
            "exploration": {"epsilon": 0.1, "min_share": 0.01, "floor": 0.3},
            "activated": True, "activated_at": t, "window_end": t + 600_000, "learn_version": 1, "learned_at": t + 600_000,
            "reward": 1.0 if answered else 0.0, "policy": "learned", "model_version": "prompt-v0",
            "response": {"type": "thumbs_up", "t": t + 1, "applied_at": t + 1} if answered else None,
        }
        docs.append(doc)
    store.decisions.insert_many(docs)  # prompt decisions are stored as they are (only slates are compacted)
    return docs


def effect_truth(docs: list[dict[str, Any]], answer_rate: AnswerRate) -> float:
    """The visibility effect (format as logged) over the asked decisions, exactly."""
    asked = [d["chosen"]["format"] for d in docs if d["ask"]]
    return float(np.mean([answer_rate(f, "public") - answer_rate(f, "private") for f in asked]))
