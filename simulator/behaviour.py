"""The behaviour model as exact probabilities: what a user does, before any dice are rolled.

Kept apart from the sampling (population.py) so that ground truth (truth.py) can take
expectations of the very same formulas instead of re-deriving them.

Consumption: ``P = min(max_consume, base_consume × taste[category] × affinity[creator]
× exp(−a·E_category − b·E_creator) × position_decay**slot)``, zero for a single-kind item
already consumed, a durable already bought, or any durable of a category whose need a
durable purchase ended less than ``durable_need_days`` ago.

A shown prompt ends in exactly one of four ways, with k = prompts already shown today:
``abandoned`` with ``min(abandon_max, abandon_base + abandon_per_prompt·k)``; else
``answered`` with ``propensity × (1 − graded_effort if graded) × (1 − s if public)
× fatigue**k × (burnt_multiplier if burnt)``; of the rest a ``dismiss_share`` is dismissed,
the others ignored. So P(answer | public) = P(answer | private) × (1 − s) exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simulator.catalogue import category_index, creator_index
from simulator.params import DAY_MS, SimulationParams
from simulator.user import User

PROMPT_OUTCOMES = ("answered", "dismissed", "abandoned", "ignored")


def appeal(params: SimulationParams, user: User, item: dict[str, Any], now_ms: int) -> float:
    """How much the user wants this item now, before position effects (0 = not at all)."""
    kind = item["kind"]
    if kind != "repeatable" and item["id"] in user.consumed:
        return 0.0  # a film seen, an oven bought: not wanted again
    if kind == "durable":
        bought = user.purchases.get(item["category"])
        if bought is not None and now_ms - bought < params.durable_need_days * DAY_MS:
            return 0.0  # the need for this category's durables is met for months
    satiation = math.exp(
        -params.category_satiation * user.exposure(item["category"], now_ms)
        - params.creator_satiation * user.exposure(item["creator"], now_ms)
    )
    traits = user.traits
    return float(traits.taste[category_index(item)] * traits.creator_affinity[creator_index(item)] * satiation)


def consume_probability(params: SimulationParams, user: User, item: dict[str, Any], slot: int, now_ms: int) -> float:
    """P(consume, or purchase for a durable) of ``item`` shown in ``slot`` (0-based) at ``now_ms``."""
    p = params.base_consume * appeal(params, user, item, now_ms) * params.position_decay**slot
    return min(params.max_consume, p)


def liking(user: User, item: dict[str, Any]) -> float:
    """How much the user likes the item once consumed, in [0, 1]: taste × creator affinity, no satiation.

    Satiation lowers the wish to consume more, not the judgement of what was consumed.
    """
    traits = user.traits
    return float(min(1.0, traits.taste[category_index(item)] * traits.creator_affinity[creator_index(item)]))


def thumb_probabilities(params: SimulationParams, like: float, fmt: str) -> dict[str, float]:
    """P(each thumb | answered): the liking plus Gaussian noise, cut at the thresholds.

    >>> p = thumb_probabilities(SimulationParams(), 0.9, "graded")
    >>> p["double_thumbs_up"] > p["thumbs_up"] > p["thumbs_down"]
    True
    >>> thumb_probabilities(SimulationParams(), 0.9, "single")["double_thumbs_up"]
    0.0
    """
    def below(x: float) -> float:  # P(liking + noise < x)
        return 0.5 * (1.0 + math.erf((x - like) / (params.thumb_noise * math.sqrt(2.0))))

    down = below(params.down_below)
    double = 1.0 - below(params.double_above) if fmt == "graded" else 0.0
    return {"thumbs_down": down, "thumbs_up": max(0.0, 1.0 - down - double), "double_thumbs_up": double}


def prompt_probabilities(
    params: SimulationParams,
    propensity: float | np.ndarray,
    sensitivity: float | np.ndarray,
    fmt: str,
    visibility: str,
    prompts_today: int | np.ndarray = 0,
    burnt: bool | np.ndarray = False,
) -> dict[str, Any]:
    """P(each of :data:`PROMPT_OUTCOMES`) of a shown prompt; works elementwise on arrays.

    >>> p = prompt_probabilities(SimulationParams(), 0.5, 0.4, "single", "public")
    >>> round(p["answered"], 4), round(sum(p.values()), 12)
    (0.297, 1.0)
    """
    k = np.asarray(prompts_today, dtype=float)
    abandoned = np.minimum(params.abandon_max, params.abandon_base + params.abandon_per_prompt * k)
    answer = np.asarray(propensity, dtype=float) * params.fatigue**k
    if fmt == "graded":
        answer = answer * (1.0 - params.graded_effort)
    if visibility == "public":
        answer = answer * (1.0 - np.asarray(sensitivity, dtype=float))
    answer = np.where(burnt, answer * params.burnt_multiplier, answer)
    answered = (1.0 - abandoned) * np.clip(answer, 0.0, 1.0)
    dismissed = (1.0 - abandoned - answered) * params.dismiss_share
    ignored = 1.0 - abandoned - answered - dismissed
    out = {"answered": answered, "dismissed": dismissed, "abandoned": abandoned, "ignored": ignored}
    scalar = all(np.ndim(v) == 0 for v in (propensity, sensitivity, prompts_today, burnt))
    return {name: float(value) for name, value in out.items()} if scalar else out
