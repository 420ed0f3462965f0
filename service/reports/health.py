"""Report section ``data_health``: can the log in this window answer anything at all?

Per decision kind: how many decisions, how many were activated and joined with their
outcomes (learned), what share was ignored, the smallest logged probability (a tiny one
means huge importance weights); the effective sample sizes of the slate section's
targets; and plain-language verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from service.reports.context import ReportContext, evaluated, verdict

SMALL_PROBABILITY = 1e-3
CHUNK = 1000


def logged_probabilities(decision: Mapping[str, Any]) -> list[float]:
    """Slates log one conditional probability per slot, prompts one for the action.

    >>> logged_probabilities({"chosen": [{"probability": 0.5}, {"probability": 0.25}]})
    [0.5, 0.25]
    >>> logged_probabilities({"chosen": {"probability": 0.9}}), logged_probabilities({})
    ([0.9], [])
    """
    chosen = decision.get("chosen") or []
    if isinstance(chosen, Mapping):
        chosen = [chosen]
    return [float(choice["probability"]) for choice in chosen if choice.get("probability") is not None]


def slates_without_outcome(ctx: ReportContext, joined: Sequence[Mapping[str, Any]]) -> int:
    """Joined slates for which no outcome event arrived inside the reward window."""
    outcomes = ctx.store.outcomes_for([str(d["_id"]) for d in joined])
    return sum(1 for d in joined if not any(o["t"] <= d["window_end"] for o in outcomes[str(d["_id"])]))


def prompts_ignored(ctx: ReportContext, joined: Sequence[Mapping[str, Any]]) -> int:
    """Joined prompts that asked and got no response (issue 4 may refine 'ignored')."""
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
    (:func:`~service.reports.context.evaluated`) come out in chunks of ``size``. Batches
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


def kind_health(ctx: ReportContext, kind: str) -> dict[str, Any]:
    """This kind's health, from a pass over the log unless an earlier section made one."""
    if kind == "prompt":  # the prompt sections' one pass counts them too
        from service.reports.prompt_pass import prompt_pass  # imports this module

        prompt_pass(ctx)
    shared = ctx.shared.get(tally_key(kind))
    if shared is not None:
        return shared.result()
    tally = KindTally(kind)
    iterator = ctx.tracked(ctx.store.iter_decisions(ctx.window_query(kind=kind)))
    while batch := list(islice(iterator, CHUNK)):
        tally.add(ctx, batch)
    return tally.result()


def tally_key(kind: str) -> str:
    """Where a section that read every ``kind`` decision of the window leaves its tally."""
    return f"data_health:{kind}"


def health_verdicts(ctx: ReportContext, counts: Mapping[str, int], kinds: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    found = []
    if counts["total"] == 0:
        return [verdict("not_enough_data", "Not enough data to tell anything: there are no decisions in the window.")]
    for kind, h in kinds.items():
        if h["decisions"] == 0:
            found.append(verdict("info", f"No {kind} decisions in the window.", kind=kind))
            continue
        if h["joined"] < ctx.min_decisions:
            found.append(verdict("not_enough_data", f"Not enough data to tell: {h['joined']} of {h['decisions']} {kind} "
                                 f"decisions are joined with their outcomes (at least {ctx.min_decisions} needed).", kind=kind))
        elif h["share_joined"] < 0.5:
            found.append(verdict("warning", f"Only {h['share_joined']:.0%} of {kind} decisions are joined: reward windows "
                                 "still open, decisions never activated, or the learner is behind.", kind=kind))
        if h["share_ignored"] is not None and h["share_ignored"] > 0.9:
            found.append(verdict("warning", f"{h['share_ignored']:.0%} of {h['ignored_means']}: check that clients "
                                 "report what happened.", kind=kind))
        if h["smallest_probability"] is not None and h["smallest_probability"] < SMALL_PROBABILITY:
            found.append(verdict("warning", f"The smallest logged {kind} probability is {h['smallest_probability']:.2g}: "
                                 "estimates for policies that favour such choices rest on huge weights.", kind=kind))
    return found


def health_section(ctx: ReportContext) -> dict[str, Any]:
    counts = ctx.counts()
    kinds = {kind: kind_health(ctx, kind) for kind in IGNORED}
    slates = ctx.results.get("slates", {})
    ess = {row["policy"]: row["diagnostics"]["effective_sample_size"] for row in slates.get("policies", [])}
    return {
        "status": "ok" if counts["total"] else "no_data",
        "note": None if counts["total"] else "no decisions in the window",
        "decisions": {"total": counts["total"], "by_kind": {kind: counts[kind] for kind in IGNORED}},
        "kinds": kinds,
        "effective_sample_size": {"slate": ess},
        "verdicts": health_verdicts(ctx, counts, kinds),
    }
