"""The MongoDB store: the Store class, whose package (service/store/) is the only one that talks pymongo.

Every operation elicit performs on MongoDB is a method of :class:`Store` (here, and mixed in
from learning.py and artifacts.py), so the store conformance test
(tests/service/store/test_conformance.py) can exercise each one against the server in use. Times
are integer epoch milliseconds. pymongo errors are mapped onto :mod:`bandit.errors`:
unreachable → :class:`StoreUnavailable` (HTTP 503), anything else → :class:`StoreError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gridfs
import pymongo
from pymongo import errors as mongo_errors
from pymongo.write_concern import WriteConcern

from service.core.errors import StoreError
from service.store.artifacts import ArtifactOps
from service.store.compact import DUPLICATE_KEY, ItemLog
from service.store.learning import LearningOps
from service.store.mapping import _mapped
from service.store.user_events import UserEventOps
from service.store.window_read import pieces, prefetched


class Store(LearningOps, ArtifactOps, UserEventOps):
    """Collections of docs/design.md, "Collections", behind methods that say what they do."""

    def __init__(
        self, uri: str, db_name: str, timeout_ms: int = 3000, write_concern: str | int = "majority", journal: bool = True
    ) -> None:
        self.uri = uri  # another database on the same server: scratch copies (doctor, --from-archive)
        self.client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, tz_aware=True
        )
        self.db = self.client[db_name]
        # A decision or outcome is acknowledged only once durable: on a majority of the
        # replica set and in the journal (a standalone server treats majority as itself).
        w = int(write_concern) if str(write_concern).isdigit() else str(write_concern)
        durable = WriteConcern(w=w, j=journal)
        self.decisions = self.db.get_collection("decisions", write_concern=durable)
        self.outcomes = self.db.get_collection("outcomes", write_concern=durable)
        self.locks = self.db["locks"]
        self.users = self.db["users"]
        self.feedback = self.db["feedback"]
        self.reports = self.db["reports"]
        # Bytes in GridFS; the index of versions in its own collection, because nx-27017
        # does not sort GridFS file documents by metadata fields (docs/store.md).
        self._model_blobs = gridfs.GridFS(self.db, collection="modelblobs")
        self.models = self.db["models"]
        # Slate decisions are stored compact and read back whole (service/store/compact.py).
        self.item_log = ItemLog(self.db)

    def close(self) -> None:
        self.client.close()

    @_mapped
    def drop_database(self) -> None:
        """Tests and ``elicit demo --fresh`` only."""
        self.client.drop_database(self.db.name)

    @_mapped
    def ping(self) -> bool:
        return bool(self.client.admin.command("ping").get("ok"))

    @_mapped
    def ensure_indexes(self) -> None:
        """Idempotent; called at start-up by every process."""
        self.decisions.create_index([("kind", 1), ("learn_version", 1), ("activated", 1), ("window_end", 1)])
        self.decisions.create_index([("kind", 1), ("t", 1)])
        self.decisions.create_index([("user", 1), ("t", 1)])
        self.outcomes.create_index([("event_id", 1), ("t", 1)])
        self.feedback.create_index([("user", 1), ("visibility", 1), ("t", -1)])
        # nx-27017 plans with single-field indexes only, not a compound index's prefix
        # (docs/store.md): per-user reads (prompt context, public feedback) need these.
        self.decisions.create_index([("user", 1)])
        self.feedback.create_index([("user", 1)])
        self.models.create_index([("kind", 1), ("version", -1)], unique=True)
        self.reports.create_index([("created_at", -1), ("until", -1)])
        self.outcomes.create_index([("t", 1)])

    # decisions -------------------------------------------------------------------------

    @_mapped
    def insert_decision(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Insert; if the event id exists already, return the stored decision instead."""
        try:
            self.decisions.insert_one(self.item_log.compact(doc))
        except mongo_errors.DuplicateKeyError:
            return self.get_decision(doc["_id"])
        return None

    @_mapped
    def insert_decisions(self, docs: list[dict[str, Any]]) -> list[dict[str, Any] | None | StoreError]:
        """Insert a batch in one unordered ``insert_many`` (one durable write, service/log/group_commit.py).
        Per document, in order: None (inserted), the stored decision when its event id was
        taken — before, or by an earlier document of this batch — or the :class:`StoreError`
        it alone met. A failure of the whole call (unreachable, write concern) raises."""
        failed = self._insert_many(self.decisions, [self.item_log.compact(doc) for doc in docs])
        taken = [docs[index]["_id"] for index, error in failed.items() if error is None]
        stored = {doc["_id"]: doc for doc in self.decisions_by_id(taken)} if taken else {}
        results: list[dict[str, Any] | None | StoreError] = [None] * len(docs)
        for index, error in failed.items():
            results[index] = error if error is not None else stored.get(docs[index]["_id"])
        return results

    @staticmethod
    def _insert_many(collection: Any, docs: list[dict[str, Any]]) -> dict[int, StoreError | None]:
        """Unordered ``insert_many``: the documents it refused by index — None for a taken
        ``_id``, else the error. Raises if the write as a whole failed or is not durable."""
        try:
            collection.insert_many(docs, ordered=False)
        except mongo_errors.BulkWriteError as exc:
            if exc.details.get("writeConcernErrors"):  # written, but not as durably as asked
                raise
            return {
                int(error["index"]): None if error.get("code") == DUPLICATE_KEY
                else StoreError(f"store operation insert_many failed: {error.get('errmsg')}")
                for error in exc.details.get("writeErrors", [])
            }
        return {}

    @_mapped
    def get_decision(self, event_id: str) -> dict[str, Any] | None:
        doc = self.decisions.find_one({"_id": event_id})
        return None if doc is None else self.item_log.expand([doc])[0]

    @_mapped
    def tombstone_decision(self, event_id: str, tombstone: str) -> None:
        """Link a decision to no one (service/store/privacy.py)."""
        self.decisions.update_one({"_id": event_id}, {"$set": {"user": tombstone}})

    @_mapped
    def activate(self, event_id: str, now_ms: int, window_end: int) -> bool:
        """Activate a deferred decision; False when it was active already."""
        result = self.decisions.update_one(
            {"_id": event_id, "activated": False},
            {"$set": {"activated": True, "activated_at": now_ms, "window_end": window_end}},
        )
        return result.modified_count == 1

    @_mapped
    def count_decisions(self, query: dict[str, Any] | None = None) -> int:
        """A ``$count`` stage, not ``count_documents`` (a ``$group``): nx-27017 answers the
        first in SQL and the second by decoding every document, 40 times slower (docs/store.md)."""
        return self._count(query or {})

    @_mapped
    def iter_decisions(self, query: dict[str, Any], batch_size: int = 1000, light: bool = False) -> Iterator[dict[str, Any]]:
        """Decisions in event-time order. ``light``: slate candidates without features or
        satiation, served slots without distributions (what costs most in a read, after the
        server; service/store/compact.py) — for readers of ids, categories and rewards."""
        # In bounded pieces of a ``t`` range, the next read while this one is expanded
        # (service/store/window_read.py): nx-27017 builds a whole result before answering.
        # No projection: nx-27017 applies one in Python and reads slower with it than without.
        for piece in prefetched(pieces(self.decisions, query, batch_size=batch_size)):
            while piece:  # handed out and let go a batch at a time: fewer documents alive at once
                batch = piece[:batch_size]
                del piece[:batch_size]
                yield from self.item_log.expand(batch, features=not light)

    @_mapped
    def decisions_by_id(self, event_ids: list[str]) -> list[dict[str, Any]]:
        """Whole decisions, in the order of ``event_ids`` (those that exist)."""
        found = {doc["_id"]: doc for doc in self.item_log.expand(list(self.decisions.find({"_id": {"$in": event_ids}})))}
        return [found[event_id] for event_id in event_ids if event_id in found]

    @_mapped
    def recent_slates(self, user: str, since_ms: int, limit: int, candidates: bool = True) -> list[dict[str, Any]]:
        """The user's slate decisions since ``since_ms``, newest first, with what they served
        (``chosen`` names each served item's category and creator) and, if ``candidates``,
        everything they offered — ten times the bytes and the decoding.
        Top-level projection only: nx-27017 drops array sub-field projections (docs/store.md)."""
        projection = {"t": 1, "chosen": 1, "activated": 1, "window_end": 1}
        if candidates:
            projection.update(candidates=1, packed=1, packed_satiation=1, packed_distribution=1)
        query = {"user": user, "kind": "slate", "t": {"$gte": since_ms}}
        return self.item_log.expand(list(self.decisions.find(query, projection).sort("t", -1).limit(limit)))

    @_mapped
    def set_response(self, event_id: str, response: dict[str, Any]) -> bool:
        """Record the one response a shown prompt may get; False if it had one (or asked nothing)."""
        result = self.decisions.update_one(
            {"_id": event_id, "kind": "prompt", "ask": True, "response": None}, {"$set": {"response": response}}
        )
        return result.modified_count == 1

    @_mapped
    def mark_response_applied(self, event_id: str, now_ms: int) -> None:
        """Its side effects (feedback, user state, slate outcome) are all written."""
        self.decisions.update_one({"_id": event_id, "response.applied_at": None}, {"$set": {"response.applied_at": now_ms}})

    # users --------------------------------------------------------------------------------

    @_mapped
    def get_user(self, user: str) -> dict[str, Any] | None:
        return self.users.find_one({"_id": user})

    # feedback -----------------------------------------------------------------------------

    @_mapped
    def insert_feedback(self, doc: dict[str, Any]) -> bool:
        """Append; False when this feedback id was recorded before."""
        try:
            self.feedback.insert_one(doc)
        except mongo_errors.DuplicateKeyError:
            return False
        return True

    @_mapped
    def public_feedback(self, user: str, limit: int) -> list[dict[str, Any]]:
        """The user's public feedback, newest first. Private feedback is never read here."""
        query = {"user": user, "visibility": "public"}
        return list(self.feedback.find(query).sort([("t", -1), ("_id", 1)]).limit(limit))

    @_mapped
    def count_feedback(self, query: dict[str, Any] | None = None) -> int:
        return self.feedback.count_documents(query or {})

    # outcomes ---------------------------------------------------------------------------

    @_mapped
    def insert_outcome(self, doc: dict[str, Any]) -> bool:
        """Append; False when this idempotency key was recorded before."""
        try:
            self.outcomes.insert_one(doc)
        except mongo_errors.DuplicateKeyError:
            return False
        return True

    @_mapped
    def insert_outcomes(self, docs: list[dict[str, Any]]) -> list[bool | StoreError]:
        """Append a batch in one unordered ``insert_many``; per document: recorded (False: its
        idempotency key was recorded before, or earlier in this batch), or its own error."""
        failed = self._insert_many(self.outcomes, docs)
        return [True if index not in failed else (failed[index] or False) for index in range(len(docs))]

    @_mapped
    def outcomes_for(self, event_ids: list[str], chunk: int = 1000) -> dict[str, list[dict[str, Any]]]:
        """Each decision's outcomes in event-time order, read ``chunk`` decisions at a time
        (a bounded ``$in``: a report asks for every slate of an experiment)."""
        grouped: dict[str, list[dict[str, Any]]] = {event_id: [] for event_id in event_ids}
        wanted = list(grouped)
        for start in range(0, len(wanted), chunk):
            for doc in self.outcomes.find({"event_id": {"$in": wanted[start:start + chunk]}}).sort("t", 1):
                grouped[doc["event_id"]].append(doc)
        return grouped
