"""Forgetting a user (``DELETE /v1/users/<id>``): the store side.

The user's state and explicit feedback are deleted; their decisions stay, because the
off-policy report and the learner need every logged decision with its propensities, but
the pseudonymous user key on them is replaced by :data:`TOMBSTONE`, which links them to
no one (and to each other no more than to any other forgotten user's).
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from service.store.mongo import _mapped

TOMBSTONE = "forgotten"


class PrivacyStore:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.db = db

    @_mapped
    def forget(self, user: str) -> dict[str, int]:
        """Counts of what was removed or rewritten. Idempotent: a second call finds nothing."""
        state = self.db["users"].delete_many({"_id": user}).deleted_count
        feedback = self.db["feedback"].delete_many({"user": user}).deleted_count
        decisions = self.db["decisions"].update_many({"user": user}, {"$set": {"user": TOMBSTONE}}).modified_count
        return {"user_state": state, "feedback": feedback, "decisions": decisions}
