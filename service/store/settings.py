"""Learning settings (the VW arguments each kind learns with) and offline evaluations:
what an operator changes or asks for, as opposed to what elicit logs.

Learning settings live in ``settings`` (``_id`` = ``learning-<kind>``): the live VW
arguments, where they came from, and the previous ones (the newest
``SETTINGS_HISTORY`` kept), so an apply can be undone. Evaluations live in ``evaluations``
(``_id`` = the evaluation's id), status and result in one document; only the newest
``EVALUATIONS_KEPT`` of each kind of run (``manual``, ``cli``, ``auto``) are kept.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from service.store.mapping import _mapped

SETTINGS_HISTORY = 24
EVALUATIONS_KEPT = 24


class SettingsStore:
    """Learning settings by kind, with their history.

    Stored as ``{"_id": "learning-slate", "kind", "vw_args", "epsilon", "source",
    "model_version", "updated_at", "previous": [...]}``."""

    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.settings = db["settings"]
        self.evaluations = db["evaluations"]

    @_mapped
    def learning(self, kind: str) -> dict[str, Any] | None:
        return self.settings.find_one({"_id": f"learning-{kind}"})

    @_mapped
    def set_learning(self, kind: str, live: dict[str, Any], configured: dict[str, Any]) -> dict[str, Any]:
        """Make ``live`` the settings of ``kind``; what was live (``configured`` when none was
        stored) goes to the front of ``previous``."""
        current = self.settings.find_one({"_id": f"learning-{kind}"})
        previous: list[dict[str, Any]] = [configured]
        if current is not None:
            previous = [{k: v for k, v in current.items() if k not in ("_id", "previous")}, *current.get("previous", [])]
        doc = {"_id": f"learning-{kind}", **live, "kind": kind, "previous": previous[:SETTINGS_HISTORY]}
        self.settings.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        return doc

    # evaluations --------------------------------------------------------------------------

    @_mapped
    def insert_evaluation(self, doc: dict[str, Any]) -> None:
        self.evaluations.insert_one(doc)
        kept = [d["_id"] for d in self.evaluations.find({"run": doc.get("run")}, {"_id": 1})
                .sort("created_at", -1).limit(EVALUATIONS_KEPT)]
        self.evaluations.delete_many({"run": doc.get("run"), "_id": {"$nin": kept}})

    @_mapped
    def update_evaluation(self, evaluation_id: str, fields: dict[str, Any]) -> None:
        self.evaluations.update_one({"_id": evaluation_id}, {"$set": fields})

    @_mapped
    def newest_evaluation(self, kind: str, run: str) -> dict[str, Any] | None:
        return self.evaluations.find_one({"kind": kind, "run": run}, {"result": 0}, sort=[("created_at", -1)])

    @_mapped
    def delete_evaluation(self, evaluation_id: str) -> bool:
        return self.evaluations.delete_one({"_id": evaluation_id}).deleted_count == 1

    @_mapped
    def evaluation(self, evaluation_id: str) -> dict[str, Any] | None:
        return self.evaluations.find_one({"_id": evaluation_id})

    @_mapped
    def list_evaluations(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first, without their results."""
        return list(self.evaluations.find({}, {"result": 0}).sort("created_at", -1).limit(limit))
