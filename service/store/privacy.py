"""Forgetting a user (``DELETE /v1/users/<id>``): the store side.

The user's state and explicit feedback are deleted; their decisions stay, because the
off-policy report and the learner need every logged decision with its propensities, but
the pseudonymous user key on them is replaced by :data:`TOMBSTONE`, which links them to
no one (and to each other no more than to any other forgotten user's).

What is still on its way can bring a user back: decisions in a worker's local spool
(shipped when the store is back) and user-state writes queued in another worker. So
forgetting first records the user's pseudonymous key and the time in ``forgotten`` — a
tombstone — and those paths check it: a spooled decision made before the tombstone is
shipped with :data:`TOMBSTONE` instead of the key and without its state updates, and a
queued state write from before it is dropped (service/log/durable.py,
service/decide/state_writer.py). The tombstone keeps neither the raw id nor the
pseudonymous key, only a hash of the key (:func:`mark`): once the user is forgotten their
key is nowhere in the store, and the mark joins with nothing stored — only a record still on
its way, which carries the key, can be recognised by it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import Any

from pymongo.database import Database

from service.store.mongo import _mapped

TOMBSTONE = "forgotten"


def mark(user: str) -> str:
    """A forgotten user's tombstone id: a hash of the pseudonymous key, not the key.

    >>> mark("0f3a") == mark("0f3a") != "0f3a"
    True
    """
    return hashlib.sha256(f"elicit-forgotten:{user}".encode()).hexdigest()[:32]


class PrivacyStore:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.db = db
        self.tombstones = db["forgotten"]

    @_mapped
    def forget(self, user: str, now_ms: int) -> dict[str, int]:
        """Counts of what was removed or rewritten. Idempotent: a second call finds nothing
        (and moves the tombstone to its own time)."""
        # The tombstone first: anything that lands after it checks it.
        self.tombstones.replace_one({"_id": mark(user)}, {"_id": mark(user), "at": int(now_ms)}, upsert=True)
        state = self.db["users"].delete_many({"_id": user}).deleted_count
        feedback = self.db["feedback"].delete_many({"user": user}).deleted_count
        decisions = self.db["decisions"].update_many({"user": user}, {"$set": {"user": TOMBSTONE}}).modified_count
        return {"user_state": state, "feedback": feedback, "decisions": decisions}

    @_mapped
    def erase_state(self, users: Collection[str]) -> None:
        """Delete these users' state again (a write that raced their forgetting)."""
        self.db["users"].delete_many({"_id": {"$in": list(users)}})

    @_mapped
    def forgotten_at(self, users: Collection[str]) -> dict[str, int]:
        """When each of ``users`` was last forgotten, for those that were."""
        marks = {mark(user): user for user in set(users) if user != TOMBSTONE}
        if not marks:
            return {}
        return {marks[doc["_id"]]: int(doc["at"]) for doc in self.tombstones.find({"_id": {"$in": list(marks)}})}
