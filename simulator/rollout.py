"""On-policy rollouts: the true value of a fixed prompt policy, measured inside the simulator.

No service is involved: the simulated users see slates (random by default), consume, and
after each consumption the policy under test decides whether and how to ask. Its value per
decision uses docs/design.md's prompt rewards (policies/rewards.py), so it is the quantity the
off-policy report estimates for that policy — on the context distribution this policy
itself creates (fatigue depends on how often it asks).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from policies.rewards import DEFAULT_PROMPT_REWARDS
from simulator.params import DAY_MS, HOUR_MS, PROMPT_ACTIONS, START_MS, SimulationParams
from simulator.population import Population
from simulator.user import User

#: ``(context, actions) -> probabilities`` aligned with ``actions`` (a sequence) or keyed by name.
PromptPolicy = Callable[[dict[str, Any], list[str]], Sequence[float] | Mapping[str, float]]
#: ``(population, user, candidates, now_ms) -> items`` in slot order.
SlatePolicy = Callable[[Population, User, list[dict[str, Any]], int], list[dict[str, Any]]]


@dataclass(frozen=True)
class PolicyValue:
    """A policy's true value per decision with its Monte Carlo standard error, and its rates.

    Rates are per decision (a "none" decision counts, as no answer and no annoyance), so for an
    always-ask policy they are rates per prompt.

    >>> PolicyValue(0.5, 0.01, 0.4, 0.2, 1.0, 100).annoyance_rate
    0.2
    """

    value: float
    stderr: float  # of the value: per-decision iid approximation (ignores within-user correlation)
    answer_rate: float
    annoyance_rate: float  # dismissed + abandoned
    prompt_rate: float  # share of decisions that showed a prompt
    decisions: int


def always(action: str) -> PromptPolicy:
    """The fixed policy that always takes ``action``.

    >>> always("graded/public")({}, ["none", "graded/public"])
    [0.0, 1.0]
    """
    if action not in PROMPT_ACTIONS:
        raise ValueError(f"unknown prompt action {action!r}; expected one of {PROMPT_ACTIONS}")
    return lambda context, actions: [float(a == action) for a in actions]


def random_slate(population: Population, user: User, candidates: list[dict[str, Any]], now_ms: int) -> list[dict[str, Any]]:
    """The default slate policy: the first ``slots`` candidates (already a uniform draw)."""
    return candidates[: population.params.slots]


def berserk_slate(population: Population, user: User, candidates: list[dict[str, Any]], now_ms: int) -> list[dict[str, Any]]:
    """A recommender that over-reacts: after a like, fill the slate with its category or creator."""
    if not user.likes:
        return random_slate(population, user, candidates, now_ms)
    liked = population.by_id[user.likes[-1][0]]
    same = [i for i in population.catalogue
            if (i["category"] == liked["category"] or i["creator"] == liked["creator"]) and i["id"] != liked["id"]]
    picks = user.rng.choice(len(same), size=min(len(same), population.params.slots), replace=False) if same else []
    flood = [same[int(i)] for i in picks]
    return (flood + random_slate(population, user, candidates, now_ms))[: population.params.slots]


def _probabilities(policy: PromptPolicy, context: dict[str, Any], actions: list[str]) -> np.ndarray:
    raw = policy(context, actions)
    probs = np.asarray([raw.get(a, 0.0) for a in actions] if isinstance(raw, Mapping) else list(raw), dtype=float)
    if probs.shape != (len(actions),) or (probs < 0).any() or not math.isclose(probs.sum(), 1.0, abs_tol=1e-6):
        raise ValueError(f"a prompt policy must return a distribution over {actions}, got {raw!r}")
    return probs / probs.sum()


def prompt_policy_value(
    params: SimulationParams,
    policy: PromptPolicy,
    n_users: int | None = None,
    days: int = 7,
    seed: int | None = None,
    slate_policy: SlatePolicy = random_slate,
    rewards: Mapping[str, float] = DEFAULT_PROMPT_REWARDS,
) -> PolicyValue:
    """Run ``policy`` on-policy for ``days`` over ``n_users`` fresh users; its true value per decision.

    Each user has ``params.sessions_per_day`` sessions a day at random hours; each session
    shows one slate of ``params.slots`` from ``params.candidates`` candidates, and every item
    consumed or purchased is followed by one prompt decision (context: the session context,
    ``prompts_today`` and ``consumed``). An abandoned prompt ends the session.

    >>> none = prompt_policy_value(SimulationParams(), always("none"), n_users=20, days=1)
    >>> none.value, none.answer_rate, none.decisions > 0
    (0.0, 0.0, True)
    """
    params = replace(params, users=params.users if n_users is None else n_users,
                     seed=params.seed if seed is None else seed)
    population = Population(params)
    actions = list(PROMPT_ACTIONS)
    policy_rng = population.rng
    values: list[float] = []
    outcomes: Counter[str] = Counter()
    for day in range(days):
        for user in population.users:
            hours = np.sort(user.rng.choice(24, size=params.sessions_per_day, replace=False))
            for hour in hours:
                now = START_MS + day * DAY_MS + int(hour) * HOUR_MS
                slate_items = slate_policy(population, user, population.candidates(user, params.candidates), now)
                slate = [{"slot": k, "item_id": item["id"]} for k, item in enumerate(slate_items)]
                for reaction in population.react_to_slate(user, slate, now):
                    if reaction["type"] not in ("consume", "purchase"):
                        continue
                    now += 60_000  # the prompt comes a minute after the item is finished
                    context = population.prompt_context(user, reaction["item_id"], now)
                    action = actions[int(policy_rng.choice(len(actions), p=_probabilities(policy, context, actions)))]
                    fmt, _, visibility = action.partition("/")
                    answer = population.answer_prompt(user, reaction["item_id"], action != "none",
                                                      fmt or None, visibility or None, now)
                    outcome = _outcome(action, answer)
                    outcomes[outcome] += 1
                    values.append(_reward(rewards, outcome, fmt, visibility))
                    if outcome == "abandoned":
                        break
    n = len(values)
    mean = float(np.mean(values)) if n else 0.0
    stderr = float(np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    return PolicyValue(
        value=mean,
        stderr=stderr,
        answer_rate=outcomes["answered"] / n if n else 0.0,
        annoyance_rate=(outcomes["dismissed"] + outcomes["abandoned"]) / n if n else 0.0,
        prompt_rate=(n - outcomes["no_prompt"]) / n if n else 0.0,
        decisions=n,
    )


def _outcome(action: str, answer: str | None) -> str:
    if action == "none":
        return "no_prompt"
    if answer is None:
        return "ignored"
    return answer if answer in ("dismissed", "abandoned") else "answered"


def _reward(rewards: Mapping[str, float], outcome: str, fmt: str, visibility: str) -> float:
    if outcome != "answered":
        return float(rewards[outcome])
    bonus = rewards.get("public_bonus", 0.0) if visibility == "public" else 0.0
    return float(rewards["graded_answer" if fmt == "graded" else "single_answer"] + bonus)
