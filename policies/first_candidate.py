"""The application's own choice as a slate policy: the first allowed candidate in each slot.

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
