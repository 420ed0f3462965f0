"""The learner's slate examples as VW text, built with per-learner caches.

A logged slate decision becomes one single-slot CCB example per served slot (see
:func:`service.learner.learn_slate_decision`, the reference this must match line for line).
Building them through :func:`service.slates.candidates_of` makes a ``Candidate`` per
candidate and a JSON key per item text lookup in every decision, although the same items,
satiation values, slots and contexts come back decision after decision: that was a third
of the learner's Python time. Here every such part is encoded once per learner and found
again by a cheap content key.

The keys are ``marshal`` (format 2) bytes of the value: C-fast, and faithful to both
content, key order and type — ``True``, ``1`` and ``"1"`` compare or print alike yet are
different VW text, and are different keys — while format 2 has no back-references, so
equal values give equal bytes.
A value marshal cannot write (not a plain JSON-like type) is encoded without caching.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from bandit.features import encode
from bandit.slates import ITEM_TEXTS, satiation_text, slot_example, slot_text

T = TypeVar("T")
MARSHAL_FORMAT = 2  # the newest format without back-references (they follow object identity)


class TextMemo:
    """Encoded text by the marshalled content it was encoded from; cleared when full.

    >>> memo = TextMemo(limit=2)
    >>> memo.get(("a", 1), lambda: "a:1"), memo.get(("a", 1), lambda: "recomputed")
    ('a:1', 'a:1')
    >>> memo.get(("a", True), lambda: "a=true")  # True is not 1 here
    'a=true'
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._texts: dict[bytes, str] = {}

    def get(self, value: Any, compute: Callable[[], str]) -> str:
        try:
            key = marshal.dumps(value, MARSHAL_FORMAT)
        except ValueError:  # a type marshal does not know: correct, just not cached
            return compute()
        found = self._texts.get(key)
        if found is None:
            if len(self._texts) >= self.limit:
                self._texts.clear()  # a huge catalogue encodes again, no worse than before
            found = self._texts[key] = compute()
        return found


class SlateExamples:
    """The text of a logged slate decision's learning examples, one per served slot.

    >>> decision = {
    ...     "context": {"device": "tv"},
    ...     "candidates": [{"id": "a", "features": {"x": 1}, "kind": "single", "satiation": {"exp_cat": 0.5}},
    ...                    {"id": "b", "features": {}, "category": "c1"}],
    ...     "slots": [{"id": "0", "features": {}}],
    ...     "chosen": [{"slot": 0, "item_id": "b", "allowed": ["a", "b"], "probability": 0.5}],
    ... }
    >>> for line in SlateExamples().examples(decision, [1.0])[0]:
    ...     print(line)
    ccb shared |U device=tv
    ccb action |I id=a kind=single |A x:1 |X exp_cat:0.5
    ccb action |I id=b kind=single category=c1
    ccb slot 1:-1.0:0.5 |S position=0
    """

    def __init__(self, limit: int = 200_000) -> None:
        self._items = TextMemo(limit)
        self._satiation = TextMemo(limit)
        self._slots = TextMemo(limit)
        self._contexts = TextMemo(limit)

    def examples(self, decision: Mapping[str, Any], rewards: Sequence[float]) -> list[list[str]]:
        """One example (its lines) per served slot, labelled with the slot's reward."""
        by_id = {candidate["id"]: candidate for candidate in decision["candidates"]}
        action_texts: dict[str, str] = {}
        context = decision["context"]
        context_text = self._contexts.get(context, lambda: encode(context, "U"))
        examples = []
        for choice, slot_reward in zip(decision["chosen"], rewards):
            allowed = choice["allowed"]
            actions = []
            for item_id in allowed:
                text = action_texts.get(item_id)
                if text is None:
                    text = action_texts[item_id] = self._candidate_text(by_id[item_id])
                actions.append(text)
            position = choice["slot"]
            features = decision["slots"][position].get("features") or {}
            slot_features = self._slots.get((features, position), lambda: slot_text(features, position))
            # The label exactly as SlateModel.learn_slot writes it.
            label = f"{allowed.index(choice['item_id'])}:{-slot_reward!r}:{choice['probability']!r}"
            examples.append(slot_example(context_text, actions, slot_features, label))
        return examples

    def _candidate_text(self, candidate: Mapping[str, Any]) -> str:
        """What ``Candidate.vw_text`` gives for this logged candidate (``candidates_of``'s defaults)."""
        item_id, category, creator = candidate["id"], candidate.get("category"), candidate.get("creator")
        kind, features = candidate.get("kind") or "single", candidate.get("features") or {}
        item = self._items.get(
            (item_id, category, creator, kind, features),
            lambda: ITEM_TEXTS.text(ITEM_TEXTS.key(item_id, category, creator, kind, features),
                                    item_id, category, creator, kind, features),
        )
        values = candidate.get("satiation") or {}
        satiation = self._satiation.get(values, lambda: satiation_text(values))
        return f"{item} {satiation}" if satiation else item
