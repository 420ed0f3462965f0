"""One read of a window's decisions of a kind, counted for data health on the way.

Data health counts every decision of the window (:class:`KindTally`); the slate section
and the prompt pass (service/reports/prompt_pass.py) value the joined ones. So the read
that values them counts them too (:func:`joined_chunks`) and leaves the tally in
``ctx.shared``, where data health (service/reports/health.py) finds it: one read, not two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from service.log.decisions import evaluated, logged_probabilities
from service.reports.context import ReportContext

#: Decisions a tally is fed at a time when data health reads the window itself.
CHUNK = 1000


def slates_without_outcome(ctx: ReportContext, joined: Sequence[Mapping[str, Any]]) -> int:
    """Joined slates for which no outcome event arrived inside the reward window."""
    outcomes = ctx.store.outcomes_for([str(d["_id"]) for d in joined])
    return sum(1 for d in joined if not any(o["t"] <= d["window_end"] for o in outcomes[str(d["_id"])]))


def prompts_ignored(ctx: ReportContext, joined: Sequence[Mapping[str, Any]]) -> int:
    """Joined prompts that asked and got no response."""
    return sum(1 for d in joined if d.get("ask") and d.get("response") is None)


IGNORED: dict[str, tuple[str, Callable[[ReportContext, Sequence[Mapping[str, Any]]], int]]] = {
    "slate": ("joined slates with no outcome at all inside the reward window", slates_without_outcome),
    "prompt": ("joined prompts that asked and got no response", prompts_ignored),
}


@dataclass
class KindTally:
    """What ``data_health`` counts for one kind, fed batch by batch (by its own pass over the
    log, or by the slate section's, which reads the same decisions: one read, not two)."""

    kind: str
    decisions: int = 0
    activated: int = 0
    joined: int = 0
    ignored: int = 0
    smallest: float = math.inf
    smallest_joint: float = math.inf

    def add(self, ctx: ReportContext, batch: Sequence[Mapping[str, Any]]) -> None:
        self.decisions += len(batch)
        self.activated += sum(1 for d in batch if d.get("activated"))
        done = [d for d in batch if d.get("learn_version") is not None]
        self.joined += len(done)
        if done:
            self.ignored += IGNORED[self.kind][1](ctx, done)
        for d in batch:
            probabilities = logged_probabilities(d)
            if probabilities:
                self.smallest = min(self.smallest, *probabilities)
                self.smallest_joint = min(self.smallest_joint, math.prod(probabilities))

    def __add__(self, other: KindTally) -> KindTally:
        """Both tallies' counts (a window read in partitions: service/reports/partitions.py)."""
        return KindTally(self.kind, self.decisions + other.decisions, self.activated + other.activated,
                         self.joined + other.joined, self.ignored + other.ignored, min(self.smallest, other.smallest),
                         min(self.smallest_joint, other.smallest_joint))

    def result(self) -> dict[str, Any]:
        decisions, joined = self.decisions, self.joined
        return {
            "decisions": decisions,
            "activated": self.activated,
            "joined": joined,
            "share_joined": joined / decisions if decisions else None,
            "ignored": self.ignored,
            "share_ignored": self.ignored / joined if joined else None,
            "ignored_means": IGNORED[self.kind][0],
            "smallest_probability": None if self.smallest == math.inf else self.smallest,
            "smallest_joint_probability": None if self.smallest_joint == math.inf else self.smallest_joint,
        }


def joined_chunks(ctx: ReportContext, kind: str, size: int, light: bool = False) -> Iterator[list[Mapping[str, Any]]]:
    """One read of the window's ``kind`` decisions: each is counted for data health (the
    tally is left in ``ctx.shared`` when the read ends), and the joined ones
    (:func:`~service.log.decisions.evaluated`) come out in chunks of ``size``. Batches
    are a chunk long too: the tally asks the store for their outcomes once per batch, and
    on nx-27017 each ask waits for the window read's next piece."""
    tally = KindTally(kind)
    chunk: list[Mapping[str, Any]] = []
    query = ctx.window_query(kind=kind)
    iterator = ctx.tracked(ctx.store.iter_decisions(query, light=True) if light else ctx.store.iter_decisions(query))
    while batch := list(islice(iterator, size)):
        tally.add(ctx, batch)
        for decision in batch:
            if evaluated(decision):
                chunk.append(decision)
                if len(chunk) == size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk
    ctx.shared[tally_key(kind)] = tally


def tally_key(kind: str) -> str:
    """Where a section that read every ``kind`` decision of the window leaves its tally."""
    return f"data_health:{kind}"
