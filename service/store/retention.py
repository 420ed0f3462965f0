"""What retention asks of the store: a day's documents, and deleting exactly the archived ones.

The retention job (service/evaluate/retention.py) archives each expired day to files,
then deletes from the store only the documents whose ids are in a verified archive —
never by time range alone, so a document that arrived after its day was archived (a
decision shipped late from a spool carries its original event time) stays until a later
run archives it too. Deletion is by ``_id`` in batches: idempotent, so a job killed
half-way deletes the rest when it runs again.

Collections and the event-time field a day is cut on: ``decisions`` and ``outcomes`` by
``t`` (the log), ``feedback`` by ``t`` (explicit feedback, its own retention).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from service.store.mapping import _mapped
from service.store.mongo import Store
from service.store.window_read import indexable

#: The collections retention may archive and delete, each cut on its ``t``.
COLLECTIONS = ("decisions", "outcomes", "feedback")
#: Decision kinds whose oldest ``t`` is found on the ``(kind, t)`` index.
KINDS = ("slate", "prompt")
DELETE_BATCH = 1000


class RetentionStore:
    """The retention side of :class:`~service.store.mongo.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @_mapped
    def oldest(self, collection: str) -> int | None:
        """The smallest event time in ``collection``, or None when it is empty."""
        if collection == "decisions":  # per kind: served from (kind, t) on both servers
            firsts = [self.store.decisions.find(indexable({"kind": kind})).sort("t", 1).limit(1) for kind in KINDS]
            found = [int(doc["t"]) for cursor in firsts for doc in cursor]
            return min(found) if found else None
        doc = next(iter(self.store.db[collection].find({}, {"t": 1}).sort("t", 1).limit(1)), None)
        return None if doc is None else int(doc["t"])

    @_mapped
    def count_day(self, collection: str, since_ms: int, until_ms: int) -> int:
        query = {"t": {"$gte": int(since_ms), "$lt": int(until_ms)}}
        if collection == "decisions":
            return self.store.count_decisions(query)
        return self.store.db[collection].count_documents(query)

    def day(self, collection: str, since_ms: int, until_ms: int) -> Iterator[dict[str, Any]]:
        """Every document of ``collection`` with ``t`` in ``[since_ms, until_ms)``, whole
        (slate decisions expanded: an archive needs no ``logged_items`` to be read)."""
        query = {"t": {"$gte": int(since_ms), "$lt": int(until_ms)}}
        if collection == "decisions":
            return self.store.iter_decisions(query)
        return self._plain(collection, query)

    @_mapped
    def _plain(self, collection: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield from self.store.db[collection].find(query).sort([("t", 1), ("_id", 1)]).batch_size(1000)

    @_mapped
    def delete_ids(self, collection: str, ids: Iterable[Any]) -> int:
        """Delete the documents with these ids (those still there); how many went."""
        deleted = 0
        iterator = iter(ids)
        target = self.store.decisions if collection == "decisions" else self.store.db[collection]
        while batch := list(islice(iterator, DELETE_BATCH)):
            deleted += target.delete_many({"_id": {"$in": batch}}).deleted_count
        return deleted

    @_mapped
    def restore(self, collection: str, docs: Iterable[dict[str, Any]]) -> int:
        """Insert archived documents (into a scratch database: ``--from-archive``)."""
        inserted = 0
        iterator = iter(docs)
        while batch := list(islice(iterator, DELETE_BATCH)):
            if collection == "decisions":
                batch = [self.store.item_log.compact(doc) for doc in batch]
                self.store.decisions.insert_many(batch, ordered=False)
            else:
                self.store.db[collection].insert_many(batch, ordered=False)
            inserted += len(batch)
        return inserted
