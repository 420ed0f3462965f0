"""Synthetic users and a catalogue, seeded so the same seed gives the same behaviour.

A first, deliberately small model (the simulator issue grows it): users have tastes over
categories; an item shown in slot k is consumed with probability
``taste[category] × position_decay**k``; everything else is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SimulationParams:
    """Everything that defines a population.

    >>> SimulationParams(users=10).categories
    8
    """

    users: int = 200
    categories: int = 8
    creators: int = 40
    items: int = 400
    taste_concentration: float = 0.3  # Dirichlet: small → users like few categories strongly
    base_consume: float = 0.6  # consumption probability for a user's favourite category
    position_decay: float = 0.8
    seed: int = 7
    kinds: tuple[float, float, float] = field(default=(0.7, 0.2, 0.1))  # single, repeatable, durable


class Population:
    """Users and items drawn from :class:`SimulationParams`; owns its random generator.

    >>> a, b = Population(SimulationParams(users=5)), Population(SimulationParams(users=5))
    >>> bool((a.tastes == b.tastes).all()), a.catalogue[0] == b.catalogue[0]
    (True, True)
    """

    def __init__(self, params: SimulationParams) -> None:
        self.params = params
        self.rng = np.random.default_rng(params.seed)
        tastes = self.rng.dirichlet(np.full(params.categories, params.taste_concentration), size=params.users)
        self.tastes = tastes / tastes.max(axis=1, keepdims=True)
        kinds = np.array(["single", "repeatable", "durable"])
        self.catalogue: list[dict[str, Any]] = [
            {
                "id": f"item{i}",
                "category": f"cat{int(self.rng.integers(params.categories))}",
                "creator": f"creator{int(self.rng.integers(params.creators))}",
                "kind": str(kinds[self.rng.choice(3, p=np.array(params.kinds))]),
                "features": {"length": float(np.round(self.rng.uniform(0.1, 1.0), 2))},
            }
            for i in range(params.items)
        ]

    def user_id(self, user: int) -> str:
        return f"user{user}"

    def context(self, user: int) -> dict[str, Any]:
        favourite = int(np.argmax(self.tastes[user]))
        return {"segment": f"fan_of_cat{favourite}"}

    def candidates(self, n: int) -> list[dict[str, Any]]:
        picks = self.rng.choice(len(self.catalogue), size=n, replace=False)
        return [self.catalogue[int(i)] for i in picks]

    def consume_probability(self, user: int, item: dict[str, Any], slot: int) -> float:
        category = int(item["category"].removeprefix("cat"))
        return float(self.params.base_consume * self.tastes[user, category] * self.params.position_decay**slot)

    def react(self, user: int, slate: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        outcomes = []
        for entry in slate:
            item = by_id[entry["item_id"]]
            consumed = self.rng.random() < self.consume_probability(user, item, entry["slot"])
            outcomes.append({"item_id": item["id"], "type": "consume" if consumed else "skip"})
        return outcomes
