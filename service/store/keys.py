"""The ``api_keys`` collection: hashed API keys with their scope (service/auth.py).

Documents: ``_id`` = key id (public, shown by ``elicit keys list``), ``sha256`` = hex digest
of the key (unique index: a request's key is found by its hash), ``scope``, ``name``,
``created_at``, ``revoked_at`` (epoch ms or None) and optional per-key rate limits. The
key itself is never stored.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from service.store.mongo import _mapped


class KeyDocuments:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.keys = db["api_keys"]

    @_mapped
    def ensure_indexes(self) -> None:
        self.keys.create_index([("sha256", 1)], unique=True)

    @_mapped
    def insert(self, doc: dict[str, Any]) -> None:
        self.keys.insert_one(doc)

    @_mapped
    def by_hash(self, digest: str) -> dict[str, Any] | None:
        return self.keys.find_one({"sha256": digest})

    @_mapped
    def all(self) -> list[dict[str, Any]]:
        return list(self.keys.find({}, {"sha256": 0}).sort([("created_at", 1), ("_id", 1)]))

    @_mapped
    def revoke(self, key_id: str, now_ms: int) -> bool:
        """False when no such key or already revoked."""
        result = self.keys.update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": now_ms}})
        return result.modified_count == 1
