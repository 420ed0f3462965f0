"""Slates on Vowpal Wabbit's conditional contextual bandit (``--ccb_explore_adf``).

Slots are filled in order without replacement. VW's CCB reduction conditions each slot on
the actions VW itself chose for the earlier slots; elicit must condition on what *it*
served — after per-slate caps that depend on the earlier choices (design.md, "Not going
berserk") — so a slate is asked of VW one slot at a time: a CCB example with the shared
context, only the candidates still allowed for this slot, and one slot carrying the slot's
own features and its position. VW returns that slot's exploration distribution, which is
exactly the conditional distribution the policy samples from; learning uses the same
single-slot examples with the served slot's label.

Namespaces (the first letter is VW's interaction index): ``U`` shared context, ``A``
client item features, ``I`` item identity (id, category, creator, kind), ``X`` satiation
(the user's decayed exposure to the item's category and creator, policies/guards.py),
``S`` slot features and position. Default interactions: ``-q UA -q UI -q SA -q SI``;
satiation enters linearly, enough for VW to learn diminishing returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from bandit.features import encode
from bandit.vw import VWModel

DEFAULT_SLATE_ARGS = "--ccb_explore_adf -q UA -q UI -q SA -q SI --quiet"


@dataclass(frozen=True)
class Candidate:
    """One item a slate may hold, with the text VW sees for it encoded once."""

    id: str
    features: Mapping[str, Any] = field(default_factory=dict)
    category: str | None = None
    creator: str | None = None
    kind: str = "single"
    satiation: Mapping[str, Any] = field(default_factory=dict)  # per-user, computed by elicit

    @cached_property
    def vw_text(self) -> str:
        """Encoded once per candidate object: a slate asks for it once per slot."""
        identity: dict[str, Any] = {"id": self.id, "kind": self.kind}
        if self.category is not None:
            identity["category"] = self.category
        if self.creator is not None:
            identity["creator"] = self.creator
        parts = (encode(identity, "I"), encode(self.features, "A"), encode(self.satiation, "X"))
        return " ".join(part for part in parts if part)


def slot_text(features: Mapping[str, Any], position: int) -> str:
    """The slot's own features plus its position (so slot 0 and slot 4 can differ)."""
    return f"{encode({'position': str(position)}, 'S')} {encode(features, 'Sf')}".rstrip()


def slot_example(
    context_text: str, action_texts: Sequence[str], slot_features_text: str, label: str = ""
) -> list[str]:
    """A single-slot CCB example; ``label`` is ``"index:cost:probability"`` when learning."""
    # An empty feature part must still carry a bar, or VW reads the line as a bad label.
    lines = [f"ccb shared {context_text or '|'}"]
    lines.extend(f"ccb action {text or '|'}" for text in action_texts)
    lines.append(f"ccb slot {label} {slot_features_text or '|'}")
    return lines


class SlateModel:
    """A CCB learner asked one slot at a time.

    >>> model = SlateModel.new(epsilon=0.2)
    >>> pmf = model.slot_pmf("|U user=a", ["|I id=x", "|I id=y", "|I id=z"], slot_text({}, 0))
    >>> pmf.round(4).tolist()
    [0.3333, 0.3333, 0.3333]
    """

    def __init__(self, vw: VWModel) -> None:
        self.vw = vw

    @classmethod
    def new(cls, epsilon: float = 0.1, args: str = DEFAULT_SLATE_ARGS) -> SlateModel:
        return cls(VWModel(f"{args} --epsilon {epsilon}"))

    def slot_pmf(self, context_text: str, action_texts: Sequence[str], slot_features_text: str) -> np.ndarray:
        """VW's exploration distribution over ``action_texts`` for one slot (float64)."""
        (scores,) = self.vw.predict_one(slot_example(context_text, action_texts, slot_features_text))
        pmf = np.zeros(len(action_texts), dtype=np.float64)
        for index, probability in scores:
            pmf[index] = probability
        return pmf

    def learn_slot(
        self,
        context_text: str,
        action_texts: Sequence[str],
        slot_features_text: str,
        chosen: int,
        cost: float,
        probability: float,
    ) -> None:
        label = f"{chosen}:{cost!r}:{probability!r}"
        self.vw.learn_one(slot_example(context_text, action_texts, slot_features_text, label))

    def to_bytes(self) -> bytes:
        return self.vw.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> SlateModel:
        return cls(VWModel.from_bytes(data))
