"""Turning a distribution into a choice without ever logging a wrong probability.

VW hands back float32 probabilities that need not sum to exactly one. We clean them once
(non-finite or negative → 0, renormalise in float64, keep every allowed action above a
floor) and then sample from *that* array and log *that* array, so the logged probability
is by construction the probability with which the action was drawn.
"""

from __future__ import annotations

import zlib

import numpy as np

#: Every allowed action keeps at least ``MIN_SHARE / K`` probability (docs/design.md, "Propensities").
MIN_SHARE = 0.01


def clean_pmf(pmf: np.ndarray, min_share: float = MIN_SHARE) -> np.ndarray:
    """A proper distribution with a floor of ``min_share / K`` on every entry.

    >>> clean_pmf(np.array([1.0, 0.0, float("nan")])).round(4).tolist()
    [0.9933, 0.0033, 0.0033]
    >>> clean_pmf(np.array([0.5, 0.5])).tolist()
    [0.5, 0.5]
    """
    values = np.asarray(pmf, dtype=np.float64).copy()
    if values.size == 0:
        raise ValueError("cannot choose from an empty set of actions")
    values[~np.isfinite(values) | (values < 0)] = 0.0
    total = values.sum()
    k = values.size
    values = values / total if total > 0 else np.full(k, 1.0 / k)
    floor = min_share / k
    if values.min() < floor:
        values = (1.0 - min_share) * values + floor
    return values / values.sum()


def sample_index(pmf: np.ndarray, rng: np.random.Generator) -> int:
    """Draw an index with probability ``pmf[i]`` (``pmf`` as returned by :func:`clean_pmf`).

    >>> rng = np.random.default_rng(0)
    >>> sorted({sample_index(np.array([0.5, 0.5]), rng) for _ in range(50)})
    [0, 1]
    """
    cumulative = np.cumsum(pmf)
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(index, pmf.size - 1)


def seeded_rng(seed: int | None, stream: str) -> np.random.Generator:
    """The generator of one named stream: with a seed, reproducible and independent of
    ``default_rng(seed)`` and of every other stream of that seed (the prompt decider once
    drew the slate decider's sequence); without, fresh entropy.

    >>> a, b = seeded_rng(7, "prompts"), np.random.default_rng(7)
    >>> a.random() == seeded_rng(7, "prompts").random(), a.random() == b.random()
    (True, False)
    """
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode())])
