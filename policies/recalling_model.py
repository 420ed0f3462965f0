"""A slate model that remembers its last answers, for replays that ask the same question twice."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bandit.slates import SlateModel


class RecallingModel:
    """A :class:`SlateModel` that remembers its last slot distributions by their exact inputs.

    Replaying a logged slate, ``learned`` and ``cap_free_greedy`` (the same model) often
    ask the same question — always for slot 0, and later whenever the caps did not bind —
    and a VW predict is the report's most expensive step. The key is the whole input, so
    an answer is only ever reused for the very same example; ``size`` bounds the memory
    (a slate asks at most a few questions per target).

    >>> model = RecallingModel(SlateModel.new(epsilon=0.2))
    >>> first = model.slot_pmf("|U u=a", ["|I id=x", "|I id=y"], "|S position=0")
    >>> again = model.slot_pmf("|U u=a", ["|I id=x", "|I id=y"], "|S position=0")
    >>> again.tolist() == first.tolist(), model.predicts
    (True, 1)
    """

    def __init__(self, model: SlateModel, size: int = 64) -> None:
        self.model, self.size, self.predicts = model, size, 0
        self._memo: dict[tuple[str, tuple[str, ...], str], np.ndarray] = {}

    def slot_pmf(self, context_text: str, action_texts: Sequence[str], slot_features_text: str) -> np.ndarray:
        key = (context_text, tuple(action_texts), slot_features_text)
        pmf = self._memo.get(key)
        if pmf is None:
            if len(self._memo) >= self.size:
                self._memo.clear()
            pmf = self._memo[key] = self.model.slot_pmf(context_text, action_texts, slot_features_text)
            self.predicts += 1
        return pmf.copy()  # callers own their array
