"""What the log's propensities promise a slate target's weights will be, drawn or not.

Cascade IPS weights slot k of a decision by the product of the ratios target / logger of
slots 0..k. With ε-greedy logging a target that disagrees with the logger meets ratios of
K / ε on the slots where the logger explored, and their products across slots are rare
and huge: a sample of a few hundred decisions mostly never draws them, so its variance —
and its effective sample size — look fine while the estimate misses the truth by many
standard errors. The sample cannot see what it has not drawn; the logged distributions
can. For each slot along the logged path,

    m_k = Σ_a target(a | prefix)² / logger(a | prefix)   (and the same with cubes, / logger²)

is the expected squared (cubed) ratio under the logger (over the logger's support; the
target's mass outside it is what IPS cannot value, reported apart as its mean weight).
The product of m over a decision's slots plugs the logged prefix into E_log[W²] (E[W³])
of its last slot's cascade weight: the decision's :class:`~bandit.ope.design.Design`, from
which the report judges whether a normal interval can be trusted yet
(:func:`bandit.ope.design.design_concern`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bandit.ope.design import Design
from policies.sampling import clean_pmf
from policies.slates import SlatePolicy, asking
from service.evaluate.policy_values import ignores_caps, replay_rule
from service.log.decisions import candidates_of, slot_pairs


def design_weight(target: SlatePolicy, decision: Mapping[str, Any], ignore_caps: bool | None = None) -> Design | None:
    """∏_k m_k over the decision's served slots, squares and cubes (module docstring); None
    where the decision does not carry its logged distributions (a light read) or has no slots.

    >>> from policies.slates import UniformSlatePolicy
    >>> doc = {"context": {}, "candidates": [{"id": "a"}, {"id": "b"}], "slots": [{"id": "s0"}],
    ...        "chosen": [{"item_id": "a", "allowed": ["a", "b"], "distribution": [0.9, 0.1]}]}
    >>> found = design_weight(UniformSlatePolicy(), doc)  # (1/2)² / 0.9 + (1/2)² / 0.1, and cubes / logger²
    >>> round(found.second, 4), round(found.third, 4)
    (2.7778, 12.6543)
    """
    chosen = decision.get("chosen") or []
    if not chosen or any("distribution" not in c or "allowed" not in c for c in chosen):
        return None
    candidates = candidates_of(decision)
    cap_free = ignores_caps(target) if ignore_caps is None else ignore_caps
    rule = replay_rule(decision, cap_free)
    by_id = {c.id: c for c in candidates}
    prefix: list[Any] = []
    second = third = 1.0
    with asking(target, decision["context"], candidates) as ask:
        for position, ((_, features), logged) in enumerate(zip(slot_pairs(decision), chosen)):
            keep = [i for i, c in enumerate(candidates) if rule(c, prefix)]
            if not keep:
                break
            pmf = clean_pmf(ask(keep, features, position))
            logger = dict(zip(logged["allowed"], logged["distribution"]))
            p_log = np.array([float(logger.get(candidates[i].id, 0.0)) for i in keep])
            inside = p_log > 0
            ratio = pmf[inside] / p_log[inside]
            second *= float(np.sum(pmf[inside] * ratio))
            third *= float(np.sum(pmf[inside] * ratio * ratio))
            prefix.append(by_id[logged["item_id"]])
    return Design(second, third)
