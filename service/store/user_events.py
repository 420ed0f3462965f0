"""Per-event updates of users' documents, mixed into :class:`service.store.Store`.

A user's prompt state (service/decide/prompt_state.py) changes through functions that edit
the document in place, each applied once per event id. Optimistic read-modify-write on a
``rev`` counter: read, apply, ``$set`` the changed top-level fields where ``rev`` is still
what was read, retry on a lost race. Not ``$push``/``$inc``: nx-27017 stores sub-documents
``$push``-ed onto an existing array as JSON strings and an upsert's dotted ``$inc`` as a
literal dotted field (docs/store.md). Fields a change leaves alone (other features' state)
are not written. The event id joins the bounded ``events`` list in the same write.

:meth:`UserEventOps.apply_user_events` does the same for many users in one read and one
bulk write (the write-behind of service/decide/event_writer.py), the read skipped for users
whose document the caller read a moment ago; a user whose conditional write lost a race is
then done one event at a time, and what the bulk write did is skipped by its event ids.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo import errors as mongo_errors
from pymongo.collection import Collection

from service.core.errors import StoreError
from service.store.mapping import _mapped

USER_EVENTS_KEPT = 500
USER_UPDATE_ATTEMPTS = 20
#: Edits a user document in place.
Change = Callable[[dict[str, Any]], None]


def applied(user: str, current: Mapping[str, Any] | None, events: Sequence[tuple[str, Change]]) -> dict[str, Any] | None:
    """The user's document once ``events`` not yet in its ``events`` list are applied, in
    order, with the next ``rev``; None if every one of them was applied before.

    >>> def shown(state): state["shown"] = state.get("shown", 0) + 1
    >>> first = applied("u", None, [("e1", shown), ("e1", shown), ("e2", shown)])
    >>> first["shown"], first["events"], first["rev"], applied("u", first, [("e2", shown)])
    (2, ['e1', 'e2'], 1, None)
    """
    state: dict[str, Any] = copy.deepcopy(dict(current)) if current else {"_id": user}
    seen = list(state.get("events") or [])
    fresh = False
    for event_id, change in events:
        if event_id in seen:
            continue
        change(state)
        seen.append(event_id)
        fresh = True
    if not fresh:
        return None
    state["events"] = seen[-USER_EVENTS_KEPT:]
    state["rev"] = int(current.get("rev") or 0) + 1 if current else 1
    return state


class UserEventOps:
    users: Collection[dict[str, Any]]

    @_mapped
    def apply_user_event(self, user: str, event_id: str, change: Change, known: dict[str, Any] | None = None) -> bool:
        """Apply ``change`` to the user's state once per ``event_id``; False if that event was
        applied before. ``known``: the document as the caller read it a moment ago (``{}``:
        there was none), tried first to save a read; a stale one just loses the race once."""
        for attempt in range(USER_UPDATE_ATTEMPTS):
            current = known if attempt == 0 and known is not None else self.users.find_one({"_id": user})
            state = applied(user, current or None, [(event_id, change)])
            if state is None:
                return False
            if not current:  # None, or ``known={}``: the caller saw no document
                try:
                    self.users.insert_one(state)
                    return True
                except mongo_errors.DuplicateKeyError:
                    continue  # created concurrently: read it and apply on top
            changed = {key: value for key, value in state.items() if key != "_id" and current.get(key) != value}
            result = self.users.update_one({"_id": user, "rev": current.get("rev")}, {"$set": changed})
            if result.modified_count == 1:
                return True
        raise StoreError(f"the state of user {user} kept changing under concurrent updates; retry later")

    @_mapped
    def apply_user_events(
        self, batch: Mapping[str, Sequence[tuple[str, Change]]], known: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        """:meth:`apply_user_event` of every ``(event id, change)`` of every user, in order:
        one unordered bulk write when no other writer raced it. ``known``: documents as the
        callers read them (``{}``: there was none), used instead of reading them again; a
        stale one loses its race and is done again one by one."""
        known = known or {}
        unknown = [user for user in batch if user not in known]
        found: dict[str, Any] = {user: doc or None for user, doc in known.items()}
        if unknown:
            found.update({doc["_id"]: doc for doc in self.users.find({"_id": {"$in": unknown}})})
        writes: list[Any] = []
        for user, events in batch.items():
            current = found.get(user)
            state = applied(user, current, events)
            if state is None:
                continue
            if current is None:
                writes.append(InsertOne(state))
            else:
                changed = {key: value for key, value in state.items() if key != "_id" and current.get(key) != value}
                writes.append(UpdateOne({"_id": user, "rev": current.get("rev")}, {"$set": changed}))
        if not writes:
            return
        try:
            result = self.users.bulk_write(writes, ordered=False)
            if result.inserted_count + result.modified_count == len(writes):
                return
        except mongo_errors.BulkWriteError:  # a user created meanwhile: its insert is a duplicate
            pass
        for user, events in batch.items():  # lost a race somewhere: one by one, the written skipped
            for event_id, change in events:
                self.apply_user_event(user, event_id, change)
