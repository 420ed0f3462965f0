"""Which decisions the report replays its model-backed slate targets on.

Replaying a target backed by a VW model costs one predict per slot (~0.3 ms each, most
of it VW parsing the example text), ~3 ms per decision for ``learned`` and
``cap_free_greedy`` together: a million-decision night would take an hour for them alone.
So above ``REPORT_REPLAY_SAMPLE`` evaluated decisions they are replayed on a uniform
random sample of that many, drawn without replacement from the window's evaluated
decisions with a seed fixed by the window (a rebuilt report draws the same sample). Every
decision is equally likely to be in it, so the sample mean of any per-decision value —
cascade IPS, the paired difference from the live policy — is unbiased for the window's
mean, and its interval, computed from the sample as usual, is an interval for that
mean (slightly conservative: it ignores the finite-population correction ``1 − n/N``).
Below the limit every decision is replayed and nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class ReplaySample:
    """Positions (in the order the log is read) of the sampled decisions, out of ``population``.

    >>> sample = ReplaySample.draw(10, 4, seed=1)
    >>> sample.size, sample.complete, int(sample.among(0, 10).sum()), int(sample.among(8, 12).sum()) <= 2
    (4, False, 4, True)
    >>> ReplaySample.draw(3, 4, seed=1).among(0, 3).tolist()
    [True, True, True]
    """

    population: int
    limit: int
    seed: int
    chosen: np.ndarray | None  # (population,) bool; None: every decision

    @classmethod
    def draw(cls, population: int, limit: int, seed: int) -> ReplaySample:
        if limit <= 0 or population <= limit:
            return cls(population, limit, seed, None)
        chosen = np.zeros(population, dtype=bool)
        chosen[np.random.default_rng(seed).choice(population, size=limit, replace=False)] = True
        return cls(population, limit, seed, chosen)

    @classmethod
    def for_window(cls, population: int, config: Mapping[str, Any], since_ms: int, until_ms: int) -> ReplaySample:
        """The sample of a report's window: the seed depends on the window (and ``SEED`` if set)."""
        entropy = [since_ms, until_ms] + ([] if config.get("SEED") is None else [int(config["SEED"])])
        seed = int(np.random.SeedSequence(entropy).generate_state(1)[0])
        return cls.draw(population, int(config.get("REPORT_REPLAY_SAMPLE", 0)), seed)

    @property
    def complete(self) -> bool:
        return self.chosen is None

    @property
    def size(self) -> int:
        return self.population if self.chosen is None else int(self.chosen.sum())

    def among(self, start: int, stop: int) -> np.ndarray:
        """Which of the decisions read at positions ``[start, stop)`` are in the sample.

        Decisions joined after the window was counted (positions past ``population``)
        are never sampled, so the sample stays at most ``limit``."""
        if self.chosen is None:
            return np.ones(stop - start, dtype=bool)
        inside = self.chosen[start:min(stop, self.population)]
        return np.concatenate([inside, np.zeros(stop - start - inside.size, dtype=bool)])

    def as_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "population": self.population, "decisions": self.size,
                "sampled": not self.complete, "seed": self.seed}
