"""Experiments: their definitions (collection ``experiments``) and what the log holds of them.

A definition is one document per experiment, ``_id`` = its name; stopping sets ``stop``
and deletes nothing. A decision an experiment touched carries ``experiments: {name: arm}``
and, for the queries here, the same pairs flattened as ``experiment_arms: ["name:arm"]`` —
one multikey index serves every experiment, where an index per ``experiments.<name>``
path would need one per experiment (and nx-27017 groups by top-level fields only).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pymongo
from pymongo.database import Database

from service.store.mongo import _mapped

ARMS_FIELD = "experiment_arms"


def arm_tag(experiment: str, arm: str) -> str:
    """The value of ``experiment_arms`` for one (experiment, arm).

    >>> arm_tag("over-reaction", "flood")
    'over-reaction:flood'
    """
    return f"{experiment}:{arm}"


def decisions_query(experiment: str, arms: list[str], since_ms: int, until_ms: int) -> dict[str, Any]:
    """The experiment's decisions in ``[since_ms, until_ms)``, for ``Store.iter_decisions``
    (which reads them in bounded ``t`` pieces from the ``experiment_arms`` index).

    >>> decisions_query("e", ["a", "b"], 0, 10)
    {'experiment_arms': {'$in': ['e:a', 'e:b']}, 't': {'$gte': 0, '$lt': 10}}
    """
    return {ARMS_FIELD: {"$in": [arm_tag(experiment, arm) for arm in arms]}, "t": {"$gte": since_ms, "$lt": until_ms}}


class ExperimentStore:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.experiments = db["experiments"]
        self.decisions = db["decisions"]
        self.feedback = db["feedback"]

    @_mapped
    def ensure_indexes(self) -> None:
        self.decisions.create_index([(ARMS_FIELD, 1)])

    @_mapped
    def all(self) -> list[dict[str, Any]]:
        return list(self.experiments.find({}).sort("_id", pymongo.ASCENDING))

    @_mapped
    def get(self, name: str) -> dict[str, Any] | None:
        return self.experiments.find_one({"_id": name})

    @_mapped
    def put(self, doc: Mapping[str, Any]) -> None:
        self.experiments.replace_one({"_id": doc["_id"]}, dict(doc), upsert=True)

    @_mapped
    def set_times(self, name: str, fields: Mapping[str, int | None]) -> bool:
        return self.experiments.update_one({"_id": name}, {"$set": dict(fields)}).matched_count == 1

    @_mapped
    def counts(self, experiment: str, arms: list[str]) -> dict[str, dict[str, int]]:
        """Users and decisions per arm, from the log (an indexed count and a distinct per arm)."""
        out = {}
        for arm in arms:
            query = {ARMS_FIELD: arm_tag(experiment, arm)}
            out[arm] = {"decisions": self.decisions.count_documents(query),
                        "users": len(self.decisions.distinct("user", query))}
        return out

    @_mapped
    def feedback_between(self, users: list[str], since_ms: int, until_ms: int) -> Iterator[dict[str, Any]]:
        for start in range(0, len(users), 1000):
            yield from self.feedback.find({"user": {"$in": users[start:start + 1000]}, "t": {"$gte": since_ms, "$lt": until_ms}},
                                          projection={"user": 1, "value": 1, "t": 1, "item_id": 1, "category": 1,
                                                      "creator": 1})
