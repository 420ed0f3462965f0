"""The optimizer: a staged search over VW learning settings, scored by progressive validation.

Four stages, each trying a few values of one option on top of the best setting so far and
keeping the one with the highest progressive-validation value (ties: the earlier, simpler
one):

1. **interactions** — which namespace pairs are crossed (``-q``); slates: ``U`` context,
   ``A`` item features, ``I`` item identity, ``S`` slot, ``X`` satiation; prompts: ``U``
   client context, ``D`` derived context, ``A`` action;
2. **cb_type** — ``ips``, ``dr`` or ``mtr``;
3. **learning rate** — ``-l`` 0.1, 0.5 (VW's default) or 2;
4. **L1** — none, 1e-6 or 1e-4.

A stage's values are a small grid, not a full product: 5 + 3 + 3 + 3 settings at most (fewer
when one comes back, they are scored once), each a full pass over the window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from service.evaluate.progressive import Scored

INTERACTIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "slate": ((), ("UA",), ("UA", "UI"), ("UA", "UI", "SA", "SI"), ("UA", "UI", "SA", "SI", "UX")),
    "prompt": ((), ("UA",), ("DA",), ("UA", "DA")),
}
REDUCTION = {"slate": "--ccb_explore_adf", "prompt": "--cb_explore_adf"}


@dataclass(frozen=True)
class Candidate:
    """One point of the search space, written out as VW arguments by :meth:`args`.

    >>> Candidate("slate", ("UA", "UI"), "dr", 0.1, 1e-6).args
    '--ccb_explore_adf -q UA -q UI --cb_type dr -l 0.1 --l1 1e-06 --quiet'
    >>> Candidate("prompt").args
    '--cb_explore_adf --quiet'
    """

    kind: str
    interactions: tuple[str, ...] = ()
    cb_type: str | None = None
    learning_rate: float | None = None
    l1: float | None = None

    @property
    def args(self) -> str:
        parts = [REDUCTION[self.kind], *(f"-q {pair}" for pair in self.interactions)]
        if self.cb_type:
            parts.append(f"--cb_type {self.cb_type}")
        if self.learning_rate is not None:
            parts.append(f"-l {self.learning_rate!r}")
        if self.l1:
            parts.append(f"--l1 {self.l1!r}")
        return " ".join([*parts, "--quiet"])


@dataclass(frozen=True)
class Stage:
    name: str
    values: Sequence[Any]
    field_name: str


STAGES: tuple[Stage, ...] = (
    Stage("interactions", (), "interactions"),  # values by kind: INTERACTIONS
    Stage("cb_type", ("ips", "dr", "mtr"), "cb_type"),
    Stage("learning rate", (0.1, 0.5, 2.0), "learning_rate"),
    Stage("L1", (None, 1e-6, 1e-4), "l1"),
)


@dataclass
class SearchResult:
    best: Scored
    stages: list[dict[str, Any]] = field(default_factory=list)


def staged_search(kind: str, score: Callable[[str], Scored], stages: Sequence[Stage] = STAGES) -> SearchResult:
    """The best setting found, and each stage's tries (``score(vw_args)`` is progressive validation)."""
    seen: dict[str, Scored] = {}

    def scored(args: str) -> Scored:
        if args not in seen:
            seen[args] = score(args)
        return seen[args]

    current = Candidate(kind)
    record: list[dict[str, Any]] = []
    for stage in stages:
        values = INTERACTIONS[kind] if stage.field_name == "interactions" and not stage.values else stage.values
        tries = [(replace(current, **{stage.field_name: value}), value) for value in values]
        results = [(candidate, value, scored(candidate.args)) for candidate, value in tries]
        chosen = max(results, key=lambda r: r[2].value)  # max keeps the first of equal values
        record.append({"stage": stage.name, "chose": _shown(chosen[1]),
                       "tried": [{"setting": _shown(value), **result.as_dict()} for _, value, result in results]})
        current = chosen[0]
    return SearchResult(scored(current.args), record)


def _shown(value: Any) -> Any:
    return " ".join(f"-q {pair}" for pair in value) or "none" if isinstance(value, tuple) else value
