"""One choice among a small set of actions on Vowpal Wabbit's ``--cb_explore_adf``.

Feedback prompts choose one action (no prompt, or a format and a visibility) per decision.
Each decision is one ADF example: a ``shared`` line with the context, then one line per
action with the action's own features. VW returns its exploration distribution over the
action lines, in their order; learning puts the label ``0:cost:probability`` on the line
of the action that was served (for ADF the number before the first colon is ignored).

Namespaces (the first letter is VW's interaction index): ``U`` the context the client
sent, ``D`` the context elicit derived from its own records (prompt history, answer rates,
consumption, berserk exposure), ``A`` action features. Default interactions:
``-q UA -q DA``, so every context feature gets its own weight per action feature.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bandit.vw import VWModel

DEFAULT_ACTION_ARGS = "--cb_explore_adf -q UA -q DA --quiet"


def action_example(context_text: str, action_texts: Sequence[str], chosen: int | None = None, label: str = "") -> list[str]:
    """The ADF lines; ``label`` goes on line ``chosen`` when learning."""
    # An empty feature part must still carry a bar, or VW reads the line as a bad label.
    lines = [f"shared {context_text or '|'}"]
    for index, text in enumerate(action_texts):
        prefix = f"{label} " if index == chosen else ""
        lines.append(f"{prefix}{text or '|'}")
    return lines


class ActionModel:
    """A contextual bandit over a list of actions described by their features.

    >>> model = ActionModel.new(epsilon=0.2)
    >>> model.pmf("|U device=tv", ["|A action=none", "|A action=a", "|A action=b", "|A action=c"]).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """

    def __init__(self, vw: VWModel) -> None:
        self.vw = vw

    @classmethod
    def new(cls, epsilon: float = 0.1, args: str = DEFAULT_ACTION_ARGS) -> ActionModel:
        return cls(VWModel(f"{args} --epsilon {epsilon}"))

    def pmf(self, context_text: str, action_texts: Sequence[str]) -> np.ndarray:
        """VW's exploration distribution over ``action_texts`` (float64, in their order)."""
        scores = self.vw.predict_one(action_example(context_text, action_texts))
        pmf = np.zeros(len(action_texts), dtype=np.float64)
        for index, probability in scores:
            pmf[index] = probability
        return pmf

    def learn(self, context_text: str, action_texts: Sequence[str], chosen: int, cost: float, probability: float) -> None:
        label = f"0:{cost!r}:{probability!r}"
        self.vw.learn_one(action_example(context_text, action_texts, chosen, label))

    def to_bytes(self) -> bytes:
        return self.vw.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ActionModel:
        return cls(VWModel.from_bytes(data))
