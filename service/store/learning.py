"""The learner's batched store operations, mixed into :class:`service.store.Store`.

Exactly once without transactions (service/learner.py): a pass claims a batch of due
decisions for the model version it will publish, stamping each with the pass's
``claim`` token in a few batched *conditional* updates (``learn_version: None``), then
reads back which documents carry its token — those, and only those, it learned. The
published model records the token, so a claim whose version was published by someone
else (a learner that lost its lease mid-pass) is recognisable and released.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Any

from pymongo import UpdateOne
from pymongo.collection import Collection as MongoCollection
from pymongo.results import BulkWriteResult, UpdateResult

from service.store.compact import ItemLog, unpack
from service.store.mapping import _mapped


def due_query(kind: str, now_ms: int) -> dict[str, Any]:
    """Decisions of ``kind`` to learn: activated, not yet learned, reward window closed."""
    return {"kind": kind, "learn_version": None, "activated": True, "window_end": {"$lte": now_ms}}


def _modified(result: UpdateResult | BulkWriteResult) -> int:
    """Documents a write modified; 0 when unacknowledged (``w=0``): the read-back decides."""
    return result.modified_count if result.acknowledged else 0


class LearningOps:
    decisions: MongoCollection[dict[str, Any]]
    locks: MongoCollection[dict[str, Any]]
    item_log: ItemLog

    @_mapped
    def due_compact(self, kind: str, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """:meth:`Store.due_decisions` as stored, only unpacked: a compact slate decision's
        candidates stay references ``{"id", "item": <body hash>}``, their satiation the
        packed string (``compact.candidate_satiations`` reads it), and its served slots keep
        ``allowed_at`` (service/store/compact.py); other documents come back whole. For the
        learner, which keys item texts by hash and reads the bodies it
        has not seen with :meth:`logged_item_bodies`: expanding 50 candidates per decision
        was as costly as reading the decision."""
        # No projection (nx-27017 applies one in Python, slower than sending the fields);
        # the distributions, which the learner does not use, are left unparsed instead.
        cursor = self.decisions.find(due_query(kind, now_ms)).sort("window_end", 1).limit(limit)
        return [unpack(doc, distributions=False, satiation_apart=True) for doc in cursor]

    @_mapped
    def logged_item_bodies(self, digests: Collection[str]) -> dict[str, dict[str, Any]]:
        """Logged item bodies (``features``, ``category``, ``creator``, ``kind``) by hash."""
        return {doc.pop("_id"): doc for doc in self.item_log.items.find({"_id": {"$in": list(digests)}})}

    @_mapped
    def claim_batch(self, version: int, rewards: Mapping[str, Any], now_ms: int, token: str) -> list[str]:
        """Claim each event id of ``rewards`` for ``version`` with its reward; returns the
        ids this call won, in ``rewards``' order.

        Every update is conditional on ``learn_version: None``, so of two concurrent
        claimers exactly one wins a decision; when the writes modified fewer documents than
        asked, the read-back by ``token`` says which (write results only count, they do not
        name). Decisions that share a reward (most: a slate nobody touched) are claimed by
        one ``update_many`` per reward, the rest in one bulk write: a handful of round trips
        per batch, and on nx-27017 an ``update_many`` costs half of the same updates in a
        bulk write."""
        if not rewards:
            return []
        groups: dict[str, list[str]] = defaultdict(list)
        for event_id, reward in rewards.items():
            groups[json.dumps(reward)].append(event_id)
        singles: list[UpdateOne] = []
        modified = 0
        for ids in groups.values():
            claim = {"$set": {"learn_version": version, "reward": rewards[ids[0]], "learned_at": now_ms, "claim": token}}
            if len(ids) > 1:
                modified += _modified(self.decisions.update_many({"_id": {"$in": ids}, "learn_version": None}, claim))
            else:
                singles.append(UpdateOne({"_id": ids[0], "learn_version": None}, claim))
        if singles:
            modified += _modified(self.decisions.bulk_write(singles, ordered=False))
        if modified == len(rewards):
            # Every claimed id was modified, and only an unclaimed decision can be (the new
            # token always changes it): all won, no read-back. The usual case, and the
            # read-back cost as much per decision as learning it on nx-27017.
            return list(rewards)
        won = {doc["_id"] for doc in self.decisions.find({"claim": token, "_id": {"$in": list(rewards)}}, {"_id": 1})}
        return [event_id for event_id in rewards if event_id in won]

    @_mapped
    def release_unpublished(self, kind: str, version: int, token: str | None) -> int:
        """Release every claim that is in no published model, given the latest published
        ``version`` of ``kind`` and the claim ``token`` it recorded: claims above it (their
        learner died before publishing) and claims *at* it under another token (a learner
        that lost the race to publish that version). ``token=None``: a model published
        before tokens existed; only the claims above it are released."""
        stale: dict[str, Any] = {"kind": kind, "learn_version": {"$gt": version}}
        if token is not None:
            # ``claim: None`` too: nx-27017's ``$ne`` misses documents without the field
            # (docs/store.md); on MongoDB the ``$ne`` clause covers them already.
            # ``$and``, not a field beside ``$or``: nx-27017's update_many ignores a top-level
            # field next to ``$or`` and would release other kinds' claims (docs/store.md).
            stale = {"$and": [{"kind": kind}, {"$or": [
                {"learn_version": {"$gt": version}},
                {"learn_version": version, "claim": {"$ne": token}},
                {"learn_version": version, "claim": None},
            ]}]}
        result = self.decisions.update_many(
            stale, {"$set": {"learn_version": None, "reward": None, "learned_at": None, "claim": None}}
        )
        return result.modified_count

    @_mapped
    def renew_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """Extend ``holder``'s lease to ``now_ms + ttl_ms``; False if someone else holds it
        (or it was released). A holder whose lease lapsed but was not taken keeps it:
        nobody else acted in between, so nothing it did can clash."""
        result = self.locks.update_one({"_id": name, "holder": holder}, {"$set": {"expires_at": now_ms + ttl_ms}})
        return result.matched_count == 1
