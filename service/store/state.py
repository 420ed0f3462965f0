"""Catalogue and per-user slate state: the `items` and `users` collections.

User-supplied names (categories, creators, item ids) become MongoDB field names here, so
they are escaped (:func:`field_key`): no ``.``, no leading ``$``, never empty. Sets are
kept as maps ``{key: event time}`` written with dotted ``$set`` — nx-27017 mishandles
``$addToSet`` on a dotted path (docs/store.md), and a map is as good on MongoDB.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.database import Database

from service.store.compact import ItemLog
from service.store.mapping import _mapped

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@functools.lru_cache(maxsize=65_536)  # the same categories and creators, request after request
def field_key(name: str) -> str:
    """A MongoDB-safe, reversible field name: every byte outside ``[A-Za-z0-9_-]`` as ``%XX``.

    Wider than MongoDB needs (it only forbids ``.`` and a leading ``$``): nx-27017 replaces
    instead of extending a map when a dotted ``$set`` path holds a space or non-ASCII.

    >>> field_key("a.b"), field_key("$x"), field_key(""), field_key("ü 5%")
    ('a%2Eb', '%24x', '%', '%C3%BC%205%25')
    """
    if name == "":
        return "%"
    return "".join(ch if ch in _SAFE else "".join(f"%{b:02X}" for b in ch.encode()) for ch in name)


def unfield_key(key: str) -> str:
    """Inverse of :func:`field_key`.

    >>> unfield_key(field_key("a.b$% ü")), unfield_key("%")
    ('a.b$% ü', '')
    """
    if key == "%":
        return ""
    return urllib.parse.unquote(key, errors="strict")


class CatalogueStore:
    """Items: ``_id`` = item id, category, creator, kind, features, updated_at."""

    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.items = db["items"]

    @_mapped
    def ensure_indexes(self) -> None:
        self.items.create_index([("creator", 1)])
        self.items.create_index([("category", 1)])

    @_mapped
    def upsert(self, items: list[dict[str, Any]], now_ms: int) -> tuple[int, int]:
        """Bulk replace-or-insert; returns (inserted, replaced).

        The replacement repeats ``_id``: nx-27017 gives an upserted replacement a fresh
        ObjectId otherwise (docs/store.md)."""
        if not items:
            return 0, 0
        result = self.items.bulk_write(
            [ReplaceOne({"_id": item["id"]}, {"_id": item["id"], **_item_fields(item), "updated_at": now_ms}, upsert=True)
             for item in items],
            ordered=False,
        )
        return result.upserted_count, result.matched_count

    @_mapped
    def get(self, item_id: str) -> dict[str, Any] | None:
        return self.items.find_one({"_id": item_id})

    @_mapped
    def get_many(self, item_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(item_ids)
        if not ids:
            return {}
        return {doc["_id"]: doc for doc in self.items.find({"_id": {"$in": ids}})}

    @_mapped
    def creator_sizes(self, creators: Iterable[str]) -> dict[str, int]:
        wanted = list(creators)
        if not wanted:
            return {}
        pipeline = [{"$match": {"creator": {"$in": wanted}}}, {"$group": {"_id": "$creator", "n": {"$sum": 1}}}]
        return {doc["_id"]: int(doc["n"]) for doc in self.items.aggregate(pipeline)}


def _item_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: item.get(key) for key in ("category", "creator", "kind", "features")}


class UserStateStore:
    """The ``slate`` part of each ``users`` document (and the ``feedback`` indexes reports read by)."""

    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.users = db["users"]
        self.feedback = db["feedback"]

    @_mapped
    def ensure_indexes(self) -> None:
        self.feedback.create_index([("user", 1), ("t", 1)])
        self.feedback.create_index([("t", 1)])

    @_mapped
    def get(self, user: str) -> dict[str, Any]:
        doc = self.users.find_one({"_id": user}, projection={"slate": 1})
        return (doc or {}).get("slate") or {}

    @_mapped
    def set_fields(self, user: str, fields: Mapping[str, Any]) -> None:
        """``$set`` of ``slate.<path>`` fields (paths already built from :func:`field_key`)."""
        if fields:
            self.users.update_one({"_id": user}, {"$set": {f"slate.{path}": value for path, value in fields.items()}}, upsert=True)

    @_mapped
    def set_fields_many(self, updates: Mapping[str, Mapping[str, Any]]) -> None:
        """:meth:`set_fields` for many users in one round trip (service/decide/state_writer.py)."""
        if updates:
            self.users.bulk_write([
                UpdateOne({"_id": user}, {"$set": {f"slate.{path}": value for path, value in fields.items()}}, upsert=True)
                for user, fields in updates.items()
            ], ordered=False)


class SlateHistoryStore:
    """Reads of past slate decisions and feedback that the berserk index needs."""

    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.decisions = db["decisions"]
        self.feedback = db["feedback"]
        self.item_log = ItemLog(db)  # decisions are stored compact (service/store/compact.py)

    @_mapped
    def likes_between(self, since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        query = {"value": {"$in": ["up", "double_up"]}, "t": {"$gte": since_ms, "$lt": until_ms}}
        return list(self.feedback.find(query).sort("t", 1))

    @_mapped
    def whole(self, event_ids: list[str]) -> list[dict[str, Any]]:
        """Whole slate decisions by id (context, slots, candidates with features and
        satiation): what a policy needs to be replayed on them."""
        return self.item_log.expand(list(self.decisions.find({"_id": {"$in": list(event_ids)}})))

    @_mapped
    def served_slots(self, users: Iterable[str], since_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Slate decisions of ``users`` in the window: time, served items and their candidates."""
        query = {"kind": "slate", "user": {"$in": list(users)}, "t": {"$gte": since_ms, "$lt": until_ms}}
        # Whole arrays: nx-27017 drops dotted projections into arrays of documents (docs/store.md).
        projection = {"user": 1, "t": 1, "chosen": 1, "candidates": 1, "packed": 1}
        return self.item_log.expand(list(self.decisions.find(query, projection=projection).sort("t", 1)))
