"""Published models, leases and reports: the store's operations on what elicit makes
rather than what it logs, mixed into :class:`service.store.Store` (as
:class:`service.store.learning.LearningOps` is), so that the store stays one object and
each of its modules stays short."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import gridfs
from pymongo import errors as mongo_errors
from pymongo.collection import Collection as MongoCollection

from service.core.errors import StoreError
from service.store.mapping import _mapped


class ArtifactOps:
    models: MongoCollection[dict[str, Any]]
    _model_blobs: gridfs.GridFS
    locks: MongoCollection[dict[str, Any]]
    outcomes: MongoCollection[dict[str, Any]]
    reports: MongoCollection[dict[str, Any]]

    # models -----------------------------------------------------------------------------

    @_mapped
    def save_model(self, kind: str, version: int, data: bytes, meta: dict[str, Any]) -> str:
        """Bytes first, then the index document: a reader never sees a version without bytes.
        The unique (kind, version) index refuses a second publisher of the same version."""
        checksum = hashlib.sha256(data).hexdigest()
        file_id = self._model_blobs.put(data, filename=f"{kind}-v{version}.vw")
        try:
            self.models.insert_one(
                {"_id": f"{kind}-v{version}", **meta, "kind": kind, "version": version, "sha256": checksum,
                 "size": len(data), "file_id": file_id}
            )
        except mongo_errors.DuplicateKeyError as exc:
            self._model_blobs.delete(file_id)
            raise StoreError(f"model {kind}-v{version} was already published by another learner") from exc
        return checksum

    @_mapped
    def latest_model_meta(self, kind: str) -> dict[str, Any] | None:
        return self.models.find_one({"kind": kind}, sort=[("version", -1)])

    @_mapped
    def model_meta_before(self, kind: str, t_ms: int) -> dict[str, Any] | None:
        """The newest version of ``kind`` published (event time) at or before ``t_ms``: the
        model that was live at ``t_ms``, give or take a worker's refresh interval. It learned
        only decisions whose reward window had closed when it was published."""
        return self.models.find_one({"kind": kind, "published_at": {"$lte": int(t_ms)}}, sort=[("version", -1)])

    @_mapped
    def list_models(self, limit: int = 100) -> list[dict[str, Any]]:
        """Index documents of published versions, newest first (without the GridFS file id)."""
        return list(self.models.find({}, {"file_id": 0}).sort([("version", -1), ("kind", 1)]).limit(limit))

    @_mapped
    def model_meta(self, model_id: str) -> dict[str, Any] | None:
        """The index document of one version by its id (``slate-v3``)."""
        return self.models.find_one({"_id": model_id})

    @_mapped
    def load_model(self, file_id: Any) -> bytes:
        return bytes(self._model_blobs.get(file_id).read())

    # leases and reports -----------------------------------------------------------------

    @_mapped
    def ensure_lock(self, name: str, now_ms: int) -> dict[str, Any]:
        """The lock document ``name``, created free (with ``created_at``) on first use.

        The upsert's filter is the bare ``_id``, so it matches an existing document and
        never attempts a duplicate insert on nx-27017; two concurrent first callers may
        race on MongoDB, where the loser's duplicate-key error only means "it exists"."""
        try:
            self.locks.update_one(
                {"_id": name}, {"$setOnInsert": {"holder": None, "expires_at": 0, "created_at": now_ms}}, upsert=True
            )
        except mongo_errors.DuplicateKeyError:
            pass
        doc = self.locks.find_one({"_id": name})
        if doc is None:  # only if someone deleted it in between
            raise StoreError(f"lock {name!r} vanished while being created")
        return doc

    @_mapped
    def acquire_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """Take lease ``name`` until ``now_ms + ttl_ms`` if it is free or expired.

        A conditional update on an existing document whose matched count says who won
        (docs/store.md): correct on MongoDB and on nx-27017, which reports no
        duplicate-key error for an upsert that misses."""
        self.ensure_lock(name, now_ms)
        result = self.locks.update_one(
            {"_id": name, "expires_at": {"$lte": now_ms}},
            {"$set": {"holder": holder, "expires_at": now_ms + ttl_ms, "acquired_at": now_ms}},
        )
        return result.matched_count == 1

    @_mapped
    def release_lease(self, name: str, holder: str) -> bool:
        """Free the lease if ``holder`` still holds it; False if it expired and was taken."""
        result = self.locks.update_one({"_id": name, "holder": holder}, {"$set": {"holder": None, "expires_at": 0}})
        return result.matched_count == 1

    @_mapped
    def outcomes_between(self, since_ms: int, until_ms: int, batch_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Outcome events recorded in ``[since_ms, until_ms)`` (the report's popularity table)."""
        yield from self.outcomes.find({"t": {"$gte": since_ms, "$lt": until_ms}}).batch_size(batch_size)

    @_mapped
    def insert_report(self, doc: dict[str, Any]) -> bool:
        """Store a report; False when one with this ``_id`` (a night) exists already."""
        try:
            self.reports.insert_one(doc)
        except mongo_errors.DuplicateKeyError:
            return False
        return True

    @_mapped
    def get_report(self, report_id: str) -> dict[str, Any] | None:
        return self.reports.find_one({"_id": report_id})

    @_mapped
    def existing_reports(self, report_ids: list[str]) -> set[str]:
        return {doc["_id"] for doc in self.reports.find({"_id": {"$in": report_ids}}, {"_id": 1})}

    @_mapped
    def nightly_evidence(self, after_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """The stored evidence of the nightly reports whose windows end in ``(after_ms,
        until_ms]``, oldest first: ``_id``, ``window`` and ``evidence`` only (the report
        pools them instead of reading old decisions again)."""
        query = {"kind": "nightly", "until": {"$gt": int(after_ms), "$lte": int(until_ms)}}
        return list(self.reports.find(query, {"window": 1, "evidence": 1, "until": 1}).sort("until", 1))

    @_mapped
    def list_reports(self, limit: int, kind: str | None = None, full: bool = False) -> list[dict[str, Any]]:
        """Newest first (creation time, then end of window); without sections unless ``full``."""
        query = {} if kind is None else {"kind": kind}
        projection = None if full else {"sections": 0}
        cursor = self.reports.find(query, projection).sort([("created_at", -1), ("until", -1), ("_id", -1)])
        return list(cursor.limit(limit))
