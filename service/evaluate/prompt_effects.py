"""One prompt factor varied, the other held as logged: the weights behind the report's
visibility and format effects (docs/report.md).

**The question.** "Visibility effect, format held as logged": over the prompt decisions
that asked, what would the answer rate be if every one of them had been public — same
user, same moment, same format as logged — and what if every one had been private?

**The weight.** The logging policy drew the action (f, v) with probability π(f, v | x),
which factors as π(f | x) · π(v | x, f), where π(f | x) = Σ_v' π(f, v' | x) and

    π(v | x, f) = π(f, v | x) / (π(f, private | x) + π(f, public | x)).

The target "public, format as logged" keeps the logger's choice to ask and of format and
then sets v = public: τ(f, v | x) = π(f | x) · 1[v = public]. Its importance ratio is

    τ / π = π(f | x) · 1[v = public] / (π(f | x) · π(v | x, f)) = 1[v = public] / π(v | x, f):

the probability of asking and of the format cancel, so the logging probability to divide
by is π(v | x, f), the logged visibility's probability *given the logged format* (and given
that it asked: asking cancels the same way). It is unbiased: given x and f,
E[1[v = public] / π(v | x, f) · r] = Σ_v π(v | x, f) · 1[v = public] / π(v | x, f) · E[r | x, f, v]
= E[r | x, f, public]; averaged over the asked rows it is the estimand. Dividing by the
joint π(f, v | x) instead would value a different target — every format equally often,
whatever the logger chose — so a format change would leak into the visibility effect,
and its weights would be larger (π(v | x, f) ≥ π(f, v | x)). The format effect is the same
with the roles swapped: π(f | x, v) = π(f, v | x) / Σ_f' π(f', v | x).

Both targets ("public" and "private") are valued on the same rows with the same π(v | x, f),
so their difference is a paired comparison. A decision whose action set lacks the other
level (say ``single/public`` is not configured) says nothing about it and is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from bandit.ope import LoggedData
from bandit.ope.design import Design
from policies.prompts import FORMATS, VISIBILITIES
from service.evaluate.policy_values import PROMPT_METRICS

#: The factor varied → its two levels, "a" first (differences are a − b).
FACTORS: dict[str, tuple[str, str]] = {"visibility": ("public", "private"), "format": ("graded", "single")}


def siblings(chosen: Mapping[str, Any], factor: str) -> list[str]:
    """The actions that differ from the logged one in ``factor`` only.

    >>> siblings({"format": "graded", "visibility": "public"}, "visibility")
    ['graded/private', 'graded/public']
    >>> siblings({"format": "graded", "visibility": "public"}, "format")
    ['single/public', 'graded/public']
    """
    if factor == "visibility":
        return [f"{chosen['format']}/{v}" for v in VISIBILITIES]
    if factor == "format":
        return [f"{f}/{chosen['visibility']}" for f in FORMATS]
    raise ValueError(f"factor must be one of {tuple(FACTORS)}, not {factor!r}")


def conditional_probability(decision: Mapping[str, Any], factor: str) -> float | None:
    """π(logged level of ``factor`` | x, the other factor as logged), from the logged
    distribution; None when the decision did not ask or lacks a sibling action.

    >>> d = {"actions": ["none", "single/private", "single/public", "graded/private", "graded/public"],
    ...      "distribution": [0.2, 0.125, 0.375, 0.05, 0.25],
    ...      "chosen": {"format": "single", "visibility": "public", "probability": 0.375}}
    >>> conditional_probability(d, "visibility"), conditional_probability(d, "format")
    (0.75, 0.6)
    """
    chosen = decision["chosen"]
    if chosen.get("format") is None:
        return None
    names = list(decision["actions"])
    wanted = siblings(chosen, factor)
    if any(name not in names for name in wanted):
        return None
    total = sum(float(decision["distribution"][names.index(name)]) for name in wanted)
    return float(chosen["probability"]) / total


def factor_design(decisions: Sequence[Mapping[str, Any]], factor: str) -> tuple[Design, Design]:
    """What the logged distributions promise about the weights of targets a and b over
    ``decisions`` (those :func:`factor_rows` used, :mod:`bandit.ope.design`): target a's
    weight is 1[level a] / π(a | x, other), so E_log[w²] = 1 / π and E_log[w³] = 1 / π².

    >>> d = {"actions": ["none", "single/private", "single/public"], "distribution": [0.5, 0.4, 0.1],
    ...      "chosen": {"format": "single", "visibility": "public", "probability": 0.1}}
    >>> a, b = factor_design([d], "visibility")
    >>> round(a.second, 6), round(a.third, 6), round(b.second, 6)
    (5.0, 25.0, 1.25)
    """
    level_a, level_b = FACTORS[factor]
    sums = [Design(), Design()]
    for decision in decisions:
        names, pmf = list(decision["actions"]), decision["distribution"]
        chosen = decision["chosen"]
        pair = siblings(chosen, factor)
        mass = {name: float(pmf[names.index(name)]) for name in pair}
        total = sum(mass.values())
        for side, level in enumerate((level_a, level_b)):
            name = f"{chosen['format']}/{level}" if factor == "visibility" else f"{level}/{chosen['visibility']}"
            inverse = total / mass[name]
            sums[side] += Design(inverse, inverse * inverse)
    return sums[0], sums[1]


def factor_rows(
    decisions: Sequence[Mapping[str, Any]], factor: str, metrics: Iterable[str]
) -> tuple[list[Mapping[str, Any]], dict[str, tuple[LoggedData, LoggedData]]]:
    """(the decisions used, per metric the rows for target a and target b).

    Target a sets ``factor`` to ``FACTORS[factor][0]``, b to the other level; both have the
    same rows, rewards and p_log = π(logged level | x, other factor), as a paired
    comparison needs. Empty when no decision in ``decisions`` asked.
    """
    level_a, level_b = FACTORS[factor]
    used, p_log = [], []
    for decision in decisions:
        p = conditional_probability(decision, factor)
        if p is not None:
            used.append(decision)
            p_log.append(p)
    if not used:
        return [], {}
    logged = np.array([d["chosen"][factor] for d in used])
    p_a, p_b = (logged == level_a).astype(np.float64), (logged == level_b).astype(np.float64)
    rows = {}
    for metric in metrics:
        reward = np.array([PROMPT_METRICS[metric](d) for d in used])
        rows[metric] = (LoggedData(reward=reward, p_log=p_log, p_target=p_a),
                        LoggedData(reward=reward, p_log=p_log, p_target=p_b))
    return used, rows
