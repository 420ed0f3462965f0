"""The simulated catalogue: items shaped like elicit's catalogue entries.

Creators work mostly in one home category (a chef cooks momos, a comedian makes comedy), so
"more from this creator" and "more of this category" overlap as they do in real catalogues,
and a flood after a like hits both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.params import KINDS, SimulationParams


def make_catalogue(params: SimulationParams, rng: np.random.Generator) -> list[dict[str, Any]]:
    """``params.items`` item dicts ``{id, category, creator, kind, features}``, drawn from ``rng``.

    >>> items = make_catalogue(SimulationParams(items=3), np.random.default_rng(0))
    >>> sorted(items[0]), items[0]["id"], items[0]["kind"] in KINDS
    (['category', 'creator', 'features', 'id', 'kind'], 'item0', True)
    """
    home = rng.integers(params.categories, size=params.creators)
    creators = rng.integers(params.creators, size=params.items)
    elsewhere = rng.random(params.items) >= params.creator_focus
    categories = np.where(elsewhere, rng.integers(params.categories, size=params.items), home[creators])
    kinds = rng.choice(len(KINDS), size=params.items, p=np.asarray(params.kinds) / sum(params.kinds))
    lengths = np.round(rng.uniform(0.1, 1.0, size=params.items), 2)
    return [
        {
            "id": f"item{i}",
            "category": f"cat{int(categories[i])}",
            "creator": f"creator{int(creators[i])}",
            "kind": KINDS[int(kinds[i])],
            # Features a client would send; the kind is repeated so VW can see it.
            "features": {"length": float(lengths[i]), "kind": KINDS[int(kinds[i])]},
        }
        for i in range(params.items)
    ]


def category_index(item: dict[str, Any]) -> int:
    """``"cat3"`` → 3.

    >>> category_index({"category": "cat3"})
    3
    """
    return int(item["category"].removeprefix("cat"))


def creator_index(item: dict[str, Any]) -> int:
    """``"creator12"`` → 12.

    >>> creator_index({"creator": "creator12"})
    12
    """
    return int(item["creator"].removeprefix("creator"))
