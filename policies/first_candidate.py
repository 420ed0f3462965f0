"""The application's own choice: the first allowed candidate in each slot (or the baseline
the request names), as an off-policy target and as apprentice mode's slate.

Personalizer's "baseline" is the action the application would have shown without it — the
request's ``baselineAction``, else the first action. elicit's slates keep the client's
candidate order, so the baseline fills each slot with the earliest candidate still allowed
there. Offline evaluations compare it with the learned settings (service/evaluate/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bandit.slates import Candidate
from policies.slates import Eligibility, SlotChoice, no_repeats


class FirstCandidateSlatePolicy:
    """All mass on the first allowed candidate (after ``clean_pmf``'s floor when replayed).

    >>> FirstCandidateSlatePolicy().slot_distribution({}, [Candidate("b"), Candidate("a")], {}, 0).tolist()
    [1.0, 0.0]
    """

    name = "baseline"

    def slot_distribution(
        self, context: Mapping[str, Any], allowed: Sequence[Candidate], slot_features: Mapping[str, Any], position: int
    ) -> np.ndarray:
        pmf = np.zeros(len(allowed))
        if len(allowed):
            pmf[0] = 1.0
        return pmf


def baseline_slate(
    candidates: Sequence[Candidate],
    slots: Sequence[tuple[str, Mapping[str, Any]]],
    eligible: Eligibility = no_repeats,
    baselines: Sequence[str | None] = (),
) -> list[SlotChoice]:
    """Apprentice mode's slate: each slot holds its baseline (``baselines[k]``, the
    Personalizer request's ``baselineAction``, when given and allowed there), else the first
    allowed candidate — deterministically, so the logged probability, 1, is the true one.

    >>> cands = [Candidate("a"), Candidate("b"), Candidate("c")]
    >>> [(c.item_id, c.probability, c.distribution) for c in baseline_slate(cands, [("s0", {}), ("s1", {})], baselines=["b"])]
    [('b', 1.0, (0.0, 1.0, 0.0)), ('a', 1.0, (1.0, 0.0))]
    """
    chosen: list[Candidate] = []
    result: list[SlotChoice] = []
    for position, (slot_id, _) in enumerate(slots):
        allowed = [candidate for candidate in candidates if eligible(candidate, chosen)]
        if not allowed:
            break
        wanted = baselines[position] if position < len(baselines) else None
        ids = [candidate.id for candidate in allowed]
        index = ids.index(wanted) if wanted in ids else 0
        chosen.append(allowed[index])
        result.append(SlotChoice(slot=position, slot_id=slot_id, item_id=ids[index], probability=1.0,
                                 allowed=tuple(ids), distribution=tuple(float(i == index) for i in range(len(ids)))))
    return result
