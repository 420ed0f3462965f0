"""Ground truth the nightly report is checked against.

Which numbers are exact and which are Monte Carlo:

- **Visibility and format effects are exact.** They are taken at a *fresh* prompt (the
  user's first of the day, not burnt), where the answer probability is
  ``(1 − abandon_base) × a × (1 − graded_effort if graded) × (1 − s if public)``. Given a
  :class:`Population`, the effect is the exact average of that probability over its users;
  given :class:`SimulationParams`, it is the expectation over the infinite population, which
  is the same formula at the Beta means because it is bilinear in the independent traits
  a and s. Later prompts of a day scale both arms by the same fatigue factor, so the
  *relative* visibility effect, 1 − E[a·s]/E[a], does not depend on fatigue.
- **Policy values are Monte Carlo** (simulator/rollout.py): fatigue, abandonment and burnt
  users make the value depend on the state distribution the policy itself creates.
  :func:`monte_carlo_visibility_effect` measures the visibility effect through the same dice
  as the driver's prompts, which is how the tests check the exact numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from policies.rewards import DEFAULT_PROMPT_REWARDS
from simulator.behaviour import prompt_probabilities
from simulator.params import DAY_MS, FORMATS, PROMPT_ACTIONS, START_MS, SimulationParams
from simulator.population import Population
from simulator.rollout import PolicyValue, always, prompt_policy_value
from simulator.user import User

__all__ = ["PolicyValue", "always", "prompt_policy_value", "answer_rate", "visibility_effect", "format_effect",
           "expected_reward", "monte_carlo_visibility_effect", "ground_truth", "truth_table"]

BITS = {"single": 1.0, "graded": math.log2(3)}  # information of one answer: one of two, one of three


def answer_rate(source: Population | SimulationParams, fmt: str, visibility: str) -> float:
    """Exact P(answer) of a fresh prompt, averaged over ``source``'s users (or the infinite population).

    >>> round(answer_rate(SimulationParams(), "single", "private"), 4)
    0.495
    """
    if isinstance(source, Population):
        a = np.array([u.traits.answer_propensity for u in source.users])
        s = np.array([u.traits.sensitivity for u in source.users])
        return float(np.mean(prompt_probabilities(source.params, a, s, fmt, visibility)["answered"]))
    return prompt_probabilities(source, source.answer_rate, source.mean_sensitivity, fmt, visibility)["answered"]


def visibility_effect(source: Population | SimulationParams) -> dict[str, float]:
    """Answer rate always-public minus always-private, format held: per format and a uniform mix.

    >>> effect = visibility_effect(SimulationParams())
    >>> round(effect["single"], 4), round(effect["graded"], 4), round(effect["mix"], 3)
    (-0.198, -0.1683, -0.183)
    """
    effect = {fmt: answer_rate(source, fmt, "public") - answer_rate(source, fmt, "private") for fmt in FORMATS}
    effect["mix"] = float(np.mean([effect[fmt] for fmt in FORMATS]))
    return effect


def format_effect(source: Population | SimulationParams) -> dict[str, float]:
    """Graded vs single: answer rates and bits per prompt, per visibility and a uniform mix.

    >>> effect = format_effect(SimulationParams())
    >>> round(effect["answer_rate_effect"], 4), round(effect["bits_effect"], 4)
    (-0.0594, 0.1375)
    """
    rate = {(f, v): answer_rate(source, f, v) for f in FORMATS for v in ("private", "public")}
    out: dict[str, float] = {}
    for label, vis in (("private", ("private",)), ("public", ("public",)), ("", ("private", "public"))):
        suffix = f"_{label}" if label else ""
        single = float(np.mean([rate["single", v] for v in vis]))
        graded = float(np.mean([rate["graded", v] for v in vis]))
        out[f"answer_rate_single{suffix}"] = single
        out[f"answer_rate_graded{suffix}"] = graded
        out[f"answer_rate_effect{suffix}"] = graded - single
        out[f"bits_single{suffix}"] = single * BITS["single"]
        out[f"bits_graded{suffix}"] = graded * BITS["graded"]
        out[f"bits_effect{suffix}"] = graded * BITS["graded"] - single * BITS["single"]
    return out


def expected_reward(population: Population, user: User | int, action: str, now_ms: int,
                    rewards: Mapping[str, float] = DEFAULT_PROMPT_REWARDS) -> float:
    """Exact expected prompt reward of ``action`` for this user in their state at ``now_ms``.

    The truth behind an off-policy estimate: averaged over *logged* decisions (each weighted
    by the target's probability of each action), it is the target's value on the logged
    contexts, whereas :func:`prompt_policy_value` is its value on the contexts it creates itself.

    >>> population = Population(SimulationParams(users=1))
    >>> expected_reward(population, 0, "none", START_MS)
    0.0
    """
    if action == "none":
        return float(rewards["no_prompt"])
    fmt, _, visibility = action.partition("/")
    p = population.answer_probabilities(user, fmt, visibility, now_ms)
    answer = rewards["graded_answer" if fmt == "graded" else "single_answer"]
    answer += rewards.get("public_bonus", 0.0) if visibility == "public" else 0.0
    return float(p["answered"] * answer + p["dismissed"] * rewards["dismissed"]
                 + p["abandoned"] * rewards["abandoned"] + p["ignored"] * rewards["ignored"])


def monte_carlo_visibility_effect(params: SimulationParams, fmt: str, prompts_per_user: int = 20) -> tuple[float, float]:
    """(estimate, standard error) of :func:`visibility_effect` for ``fmt``, through ``answer_prompt``'s dice.

    Every user of a fresh population answers ``prompts_per_user`` private and as many public
    prompts, each on its own event-day (so each is the day's first) and with no slates shown
    (so nobody is burnt): the conditions under which the exact effect is defined.
    """
    population = Population(params)
    answered = {"private": [], "public": []}
    for user in population.users:
        for day in range(prompts_per_user):
            for offset, visibility in enumerate(("private", "public")):
                now = START_MS + (2 * day + offset) * DAY_MS
                value = population.answer_prompt(user, "item0", True, fmt, visibility, now)
                answered[visibility].append(value is not None and value.startswith(("thumbs", "double")))
    rates = {v: float(np.mean(x)) for v, x in answered.items()}
    var = sum(rates[v] * (1 - rates[v]) / len(answered[v]) for v in rates)
    return rates["public"] - rates["private"], math.sqrt(var)


def ground_truth(params: SimulationParams, n_users: int = 500, days: int = 7, seed: int | None = None) -> dict[str, float]:
    """Named truths for a truth-vs-report table: exact effects (infinite population) and always-X values."""
    truth: dict[str, float] = {f"visibility_effect.{k}": v for k, v in visibility_effect(params).items()}
    truth.update({f"format_effect.{k}": v for k, v in format_effect(params).items()})
    for action in PROMPT_ACTIONS:
        result = prompt_policy_value(params, always(action), n_users=n_users, days=days, seed=seed)
        truth[f"value.always_{action}"] = result.value
        truth[f"answer_rate.always_{action}"] = result.answer_rate
    return truth


def truth_table(
    truth: Mapping[str, float], report: Mapping[str, tuple[float, float, float]], ess: Mapping[str, float] | None = None
) -> str:
    """A plain-text table of every name in ``report``: truth, estimate, interval, covered?
    With ``ess``, a column of effective sample sizes: below ~30 an interval is not to be
    trusted (bandit/ope/diagnostics.py, MIN_EFFECTIVE_SAMPLE), and a miss there says so.

    >>> print(truth_table({"effect": -0.2, "other": 1.0}, {"effect": (-0.18, -0.25, -0.11), "new": (1, 0, 2)}))
    name     truth     estimate  interval            covers
    effect   -0.2000   -0.1800   [-0.2500, -0.1100]  yes
    new      —         1.0000    [0.0000, 2.0000]    —
    >>> print(truth_table({"effect": -0.2}, {"effect": (-0.18, -0.25, -0.11)}, {"effect": 12.34}))
    name    truth    estimate  interval            covers  ESS
    effect  -0.2000  -0.1800   [-0.2500, -0.1100]  yes     12
    """
    rows: list[tuple[str, ...]] = [("name", "truth", "estimate", "interval", "covers") + (("ESS",) if ess is not None else ())]
    for name, (estimate, low, high) in report.items():
        true: Any = truth.get(name)
        covers = "—" if true is None else ("yes" if low <= true <= high else "NO")
        size = () if ess is None else ("—" if ess.get(name) is None else f"{ess[name]:.0f}",)
        rows.append((name, "—" if true is None else f"{true:.4f}", f"{estimate:.4f}", f"[{low:.4f}, {high:.4f}]", covers) + size)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
