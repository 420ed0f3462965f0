"""A slate model that remembers its last answers, for replays that ask the same question twice."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

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
            pmf = self._remember(key, self.model.slot_pmf(context_text, action_texts, slot_features_text))
        return pmf.copy()  # callers own their array

    @contextmanager
    def slate(self, context_text: str, action_texts: Sequence[str]) -> Iterator[Callable[[Sequence[int], str], np.ndarray]]:
        """``SlateModel.slate`` with the memory: VW parses the actions only when a question
        is not remembered, and then once for all the slate's questions (a replay's second
        target often asks only remembered ones).

        >>> model = RecallingModel(SlateModel.new(epsilon=0.2))
        >>> with model.slate("|U u=a", ["|I id=x", "|I id=y", "|I id=z"]) as pmf:
        ...     first = pmf([0, 2], "|S position=0")
        >>> again = model.slot_pmf("|U u=a", ["|I id=x", "|I id=z"], "|S position=0")
        >>> again.tolist() == first.tolist(), model.predicts
        (True, 1)
        """
        with ExitStack() as stack:
            session: Callable[[Sequence[int], str], np.ndarray] | None = None

            def pmf(keep: Sequence[int], slot_features_text: str) -> np.ndarray:
                nonlocal session
                key = (context_text, tuple(action_texts[i] for i in keep), slot_features_text)
                found = self._memo.get(key)
                if found is None:
                    if session is None:
                        session = stack.enter_context(self.model.slate(context_text, action_texts))
                    found = self._remember(key, session(keep, slot_features_text))
                return found.copy()

            yield pmf

    def _remember(self, key: tuple[str, tuple[str, ...], str], pmf: np.ndarray) -> np.ndarray:
        if len(self._memo) >= self.size:
            self._memo.clear()
        self._memo[key] = pmf
        self.predicts += 1
        return pmf
