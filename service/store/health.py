"""What ``elicit doctor`` asks the store: its topology, its write concern, its indexes, its clock.

The indexes elicit needs are not listed twice: :func:`expected_indexes` runs the very
``ensure_indexes`` methods every process runs at start-up against an empty scratch
database on the same server, reads back what they created, and drops it. So the doctor
checks exactly what start-up would create — and never creates anything in the real
database (a start-up would, and hide the problem).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pymongo import MongoClient
from pymongo import errors as mongo_errors
from pymongo.database import Database
from pymongo.write_concern import WriteConcern

from service.store.keys import KeyDocuments
from service.store.mapping import _mapped
from service.store.mongo import Store
from service.store.state import CatalogueStore, UserStateStore

#: (collection, key pattern) — an index as the doctor compares it (names may differ).
IndexKey = tuple[str, tuple[tuple[str, Any], ...]]
PROBE = "doctor_probe"


def ensure_all(store: Store) -> None:
    """Every ``ensure_indexes`` a process runs at start-up (service/runtime/process.py)."""
    store.ensure_indexes()
    CatalogueStore(store.db).ensure_indexes()
    UserStateStore(store.db).ensure_indexes()
    KeyDocuments(store.db).ensure_indexes()


def _indexes(db: Database[dict[str, Any]]) -> set[IndexKey]:
    found = set()
    for name in db.list_collection_names():
        for index in db[name].list_indexes():
            key = tuple((field, int(order) if isinstance(order, (int, float)) else order)
                        for field, order in index["key"].items())
            if key != (("_id", 1),):
                found.add((name, key))
    return found


@dataclass(frozen=True)
class Topology:
    replica_set: str | None  # the set's name, None for a standalone server
    version: str | None
    server_time_ms: int | None


class StoreHealth:
    """Read-only checks of one database (plus a scratch database and one probe write)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.client: MongoClient[dict[str, Any]] = store.client

    @_mapped
    def topology(self) -> Topology:
        hello = self.client.admin.command("hello")
        version = self.client.admin.command("buildInfo").get("version")
        local = hello.get("localTime")
        if isinstance(local, dt.datetime) and local.tzinfo is None:
            local = local.replace(tzinfo=dt.UTC)  # BSON dates are UTC
        server_ms = int(local.timestamp() * 1000) if isinstance(local, dt.datetime) else None
        return Topology(hello.get("setName"), version, server_ms)

    @_mapped
    def probe_write(self, w: str | int, journal: bool, timeout_ms: int) -> str | None:
        """Write and delete one document with the configured write concern; None when it was
        acknowledged, else what the server said."""
        probes = self.store.db.get_collection(PROBE, write_concern=WriteConcern(w=w, j=journal, wtimeout=timeout_ms))
        try:
            probe_id = uuid.uuid4().hex
            probes.insert_one({"_id": probe_id})
            probes.delete_one({"_id": probe_id})
        except (mongo_errors.WriteConcernError, mongo_errors.WTimeoutError, mongo_errors.OperationFailure) as exc:
            return str(exc)
        return None

    @_mapped
    def expected_indexes(self) -> set[IndexKey]:
        scratch = Store(self.store.uri, f"{self.store.db.name}_doctor_{uuid.uuid4().hex[:8]}")
        try:
            ensure_all(scratch)
            return _indexes(scratch.db)
        finally:
            scratch.drop_database()
            scratch.close()

    @_mapped
    def missing_indexes(self) -> list[IndexKey]:
        present = _indexes(self.store.db)
        return sorted(self.expected_indexes() - present)
