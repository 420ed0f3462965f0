"""The learner's batched store operations, mixed into :class:`service.store.Store`.

Exactly once without transactions (service/learn/learner.py): a pass claims a batch of due
decisions for the model version it will publish, stamping each with the pass's
``claim`` token in a few batched *conditional* updates (``learn_version: None``), then
reads back which documents carry its token — those, and only those, it learned. The
published model records the token, so a claim whose version was published by someone
else (a learner that lost its lease mid-pass) is recognisable and released.

Claims are acknowledged by the primary without waiting for the journal or a majority
(``CLAIM_WRITE``), and made durable once per pass, before publishing, by
:meth:`LearningOps.confirm_claims`. nx-27017 commits every document an ``update_many``
changes on its own, and a journaled commit syncs the disk: one fsync per claimed
decision was 40 % of a claim's cost, and far more when the disk is busy.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Any

from pymongo import UpdateOne
from pymongo.collection import Collection as MongoCollection
from pymongo.read_concern import ReadConcern
from pymongo.results import BulkWriteResult, UpdateResult
from pymongo.write_concern import WriteConcern

from service.store.compact import ItemLog, unpack
from service.store.mapping import _mapped
from service.store.window_read import indexable

#: Claims: acknowledged, not yet durable (confirm_claims makes them so before publishing).
CLAIM_WRITE = WriteConcern(w=1, j=False)


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

    def _due(self, kind: str, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """The oldest ``limit`` decisions due (:func:`due_query`) at ``now_ms``, as stored,
        from one bounded query. Its equalities go as ``$eq`` (``indexable``): so nx-27017
        serves it from the ``(kind, learn_version, activated, window_end)`` index in
        ``window_end`` order and builds only ``limit`` documents; the shorthand made it
        scan, sort and build everything that was due before the first batch (0.4–0.8 s
        for 3,000 decisions, which the learner waited for; docs/store.md). No projection
        (nx-27017 applies one in Python, slower than sending the fields)."""
        query = indexable(due_query(kind, now_ms))
        return list(self.decisions.find(query).sort("window_end", 1).limit(max(limit, 1)).batch_size(max(limit, 1)))

    @_mapped
    def due_decisions(self, kind: str, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """Full decision documents, oldest window end first (see :meth:`_due`)."""
        return self.item_log.expand(self._due(kind, now_ms, limit))

    @_mapped
    def due_compact(self, kind: str, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """:meth:`due_decisions` as stored, only unpacked: a compact slate decision's
        candidates stay references ``{"id", "item": <body hash>}``, their satiation the
        packed string (``compact.candidate_satiations`` reads it), its served slots keep
        ``allowed_at`` and leave their distributions unparsed (service/store/compact.py);
        other documents come back whole. For the learner, which keys item texts by hash
        and reads the bodies it has not seen with :meth:`logged_item_bodies`: expanding 50
        candidates per decision was as costly as reading the decision."""
        return [unpack(doc, distributions=False, satiation_apart=True) for doc in self._due(kind, now_ms, limit)]

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
        decisions = self.decisions.with_options(write_concern=CLAIM_WRITE)
        groups: dict[str, list[str]] = defaultdict(list)
        for event_id, reward in rewards.items():
            groups[json.dumps(reward)].append(event_id)
        singles: list[UpdateOne] = []
        modified = 0
        for ids in groups.values():
            claim = {"$set": {"learn_version": version, "reward": rewards[ids[0]], "learned_at": now_ms, "claim": token}}
            if len(ids) > 1:
                modified += _modified(decisions.update_many({"_id": {"$in": ids}, "learn_version": None}, claim))
            else:
                singles.append(UpdateOne({"_id": ids[0], "learn_version": None}, claim))
        if singles:
            modified += _modified(decisions.bulk_write(singles, ordered=False))
        if modified == len(rewards):
            # Every claimed id was modified, and only an unclaimed decision can be (the new
            # token always changes it): all won, no read-back. The usual case, and the
            # read-back cost as much per decision as learning it on nx-27017.
            return list(rewards)
        won = {doc["_id"] for doc in self.decisions.find({"claim": token, "_id": {"$in": list(rewards)}}, {"_id": 1})}
        return [event_id for event_id in rewards if event_id in won]

    @_mapped
    def confirm_claims(self, kind: str, version: int, token: str, expected: int) -> bool:
        """True when the ``expected`` decisions this pass claimed (``token``, for ``version``)
        are all durable — the pass may publish; False when some claim was lost, and the
        pass must not publish (what it learned is learned again, exactly once, later).

        First a write with the decisions' durable write concern (a marker in ``locks``):
        acknowledged only once it is in the journal of a majority, and with it every
        earlier write of the same primary, the claims included (the journal and the
        oplog are ordered); on nx-27017 its commit syncs the write-ahead log, the claims'
        commits with it. Then the claims are counted in what a majority has
        (``readConcern: majority``): a claim that a failover rolled back is not counted.
        The count is answered from the ``(kind, learn_version, …)`` index."""
        durable = self.locks.with_options(write_concern=self.decisions.write_concern)
        durable.update_one({"_id": f"claims-{kind}"}, {"$set": {"version": version, "claim": token}}, upsert=True)
        return self._count({"kind": kind, "learn_version": version, "claim": token}, majority=True) == expected

    def _count(self, query: dict[str, Any], majority: bool = False) -> int:
        """Decisions matching ``query``, by a ``$count`` stage (SQL on nx-27017, docs/store.md);
        ``majority``: only what a majority of the replica set has."""
        decisions = self.decisions.with_options(read_concern=ReadConcern("majority")) if majority else self.decisions
        found = list(decisions.aggregate([{"$match": query}, {"$count": "n"}]))
        return int(found[0]["n"]) if found else 0

    @_mapped
    def release_unpublished(self, kind: str, version: int, token: str | None, published: int | None = None) -> int:
        """Release every claim that is in no published model, given the latest published
        ``version`` of ``kind`` and the claim ``token`` it recorded: claims above it (their
        learner died before publishing) and claims *at* it under another token (a learner
        that lost the race to publish that version). ``token=None``: a model published
        before tokens existed; only the claims above it are released.

        ``published``: how many decisions that model learned, when it says. Its claims are
        exactly those (confirmed before it was published, and never released), so when
        nothing is claimed above ``version`` and exactly that many at it, there is nothing
        to release. Counts on the ``(kind, learn_version, …)`` index say so first (the
        usual case): nx-27017 answers them in SQL (~1 ms) but the release by scanning
        every decision (0.03–0.06 ms each), every pass."""
        if self._count({"kind": kind, "learn_version": {"$gt": version}}) == 0:
            if token is None:
                return 0
            if published is not None and self._count({"kind": kind, "learn_version": version}) == published:
                return 0
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
