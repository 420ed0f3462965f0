"""What the slate section's pass accumulates: mergeable statistics, chunk by chunk.

Every target's cascade IPS summaries (:class:`~bandit.ope.StreamingEstimate`), weight
diagnostics, per-decision differences from the live policy (:class:`Moments`) and design
sums are sums over decisions, so a window's statistics are those of its parts added up
(``+``): the report can read the window in one pass (:func:`service.reports.slates.evaluate`)
or in time partitions on several processes (service/reports/partitions.py) and merge
them — the same numbers to rounding (~1e-16 relative; tests/service/reports/test_partitions.py).

The sample of model-backed targets is fixed by the decision's position among the window's
joined decisions in event-time order; a partition starts at its ``offset`` there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bandit.ope import CascadeIPS, SNCascadeIPS, StreamingDiagnostics, StreamingEstimate
from bandit.ope.design import Design
from bandit.ope.moments import Moments
from policies.slates import SlatePolicy
from service.evaluate.slate_design import design_weight
from service.reports.replay_sample import ReplaySample
from service.reports.slate_block import SlateBlock

ESTIMATORS = (CascadeIPS(), SNCascadeIPS())


def sampled_targets(targets: Mapping[str, SlatePolicy | None]) -> list[str]:
    """Targets replayed one slot at a time (a VW model behind them): those the report
    replays on :class:`ReplaySample` only; the others are vectorised over every decision."""
    return [name for name, target in targets.items() if target is not None and not hasattr(target, "served_probabilities")]


class SlatePass:
    """The statistics of the slate section over the chunks it was given (and any added to it)."""

    def __init__(self, names: list[str], offset: int = 0) -> None:
        self.sums = {name: [StreamingEstimate(e) for e in ESTIMATORS] for name in names}
        self.weights = {name: StreamingDiagnostics() for name in names}
        self.differences: dict[str, Moments | None] = {name: None for name in names}
        # what the propensities promise about each target's weights, on the decisions read whole
        self.design: dict[str, tuple[Design, int]] = {}
        self.read = offset  # joined decisions before the next chunk, in the window's order

    def __add__(self, other: SlatePass) -> SlatePass:
        """The statistics of both (``other`` read after ``self``)."""
        merged = SlatePass(list(self.sums))
        for name in self.sums:
            merged.sums[name] = [a + b for a, b in zip(self.sums[name], other.sums[name])]
            merged.weights[name] = self.weights[name] + other.weights[name]
            mine, theirs = self.differences[name], other.differences[name]
            merged.differences[name] = theirs if mine is None else mine if theirs is None else mine + theirs
        for name in {*self.design, *other.design}:
            first, second = self.design.get(name, (Design(), 0)), other.design.get(name, (Design(), 0))
            merged.design[name] = (first[0] + second[0], first[1] + second[1])
        merged.read = max(self.read, other.read)
        return merged

    def consume(self, chunk: list[Any], targets: Mapping[str, SlatePolicy | None], sample: ReplaySample,
                whole: Callable[[list[Any]], list[Any]] | None) -> None:
        """Add one chunk of joined decisions. ``whole``: reads decisions by id with every
        field, when the chunk was read light and sampled decisions need their features."""
        on_sample = set(sampled_targets(targets))
        part = sample.among(self.read, self.read + len(chunk))
        self.read += len(chunk)
        if whole is not None and part.any():  # the sampled decisions are replayed by a model: read them whole
            positions = np.flatnonzero(part)
            found = whole([chunk[i]["_id"] for i in positions])
            if len(found) != len(positions):
                raise RuntimeError("sampled decisions vanished from the store during the report")
            for i, doc in zip(positions, found):
                chunk[i] = doc
        block = SlateBlock.of(chunk)
        replayed = block.replay_all({name: t for name, t in targets.items() if name not in on_sample})
        if part.any():
            replayed.update(block.replay_all({name: targets[name] for name in on_sample}, part))
        live = {}
        for name, p_target in replayed.items():
            subset = part if name in on_sample else None
            key = "all" if subset is None else "sample"
            if key not in live:  # the live policy's per-decision values on the same decisions, for pairing
                live[key] = ESTIMATORS[0].columns(block.rows(block.p_log, subset))[0]
            data = block.rows(p_target, subset)
            self.sums[name] = [summary.update(data) for summary in self.sums[name]]
            self.weights[name] = self.weights[name].update(data)
            moments = Moments.of((ESTIMATORS[0].columns(data)[0] - live[key])[None, :])
            mine = self.differences[name]
            self.differences[name] = moments if mine is None else mine + moments
        # The design weights on the sample (whole documents; a model target's questions are
        # remembered from its replay just now): what the propensities promise, drawn or not.
        for i in np.flatnonzero(part):
            for name, target in targets.items():
                if target is None:
                    continue
                found = design_weight(target, chunk[i])
                if found is not None:
                    total, seen = self.design.get(name, (Design(), 0))
                    self.design[name] = (total + found, seen + 1)
