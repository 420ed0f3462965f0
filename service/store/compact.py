"""Compact slate decision documents: logged items by reference, allowed sets as indices.

A slate decision logs every candidate as the policy saw it (features, category, creator,
kind) so that learning and off-policy replay never depend on today's catalogue. The same
items come back in decision after decision, so that copy was three quarters of every
decision document — and the log write, the learner's claim and the nightly read all cost
in proportion to document size. So the store keeps each distinct item body once, in
``logged_items`` under the hash of its content (immutable: a changed item is a new body),
and a decision's candidate holds ``{"id", "item": <hash>, "satiation"}``; each served
slot's ``allowed`` ids become ``allowed_at`` indices into ``candidates``.

The bulky, never-queried parts — the candidate references and each served slot's
``allowed_at`` and ``distribution`` — are then *packed* into one JSON string, ``packed``.
A server's cost is per value, not per byte: on nx-27017 a decision of ~600 small values
took 1.1–1.5 ms to insert and 0.76 ms to read back, the same bytes as one string 0.24–0.65
ms and 0.10 ms (docs/store.md, "Packed slate decisions"). What queries touch stays native:
every top-level field and ``chosen``'s ``slot``, ``slot_id``, ``item_id`` and
``probability``. JSON keeps float64 exactly (``repr`` round-trips), so the propensities
read back are the ones logged.

This happens only inside the store: :meth:`ItemLog.compact` on the way in, and
:meth:`ItemLog.expand` on every read, give every reader (learner, evaluation, export,
reports, personalizer) the full document as before. Documents written before this
(full candidates, ``allowed`` ids, or compact but unpacked) pass through unchanged. Bodies
are written before the decision that refers to them, so no reader finds a reference
without its body.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pymongo import InsertOne
from pymongo import errors as mongo_errors
from pymongo.database import Database

from service.core import jsontext

ITEM_FIELDS = ("features", "category", "creator", "kind")
PACKED = "packed"
PACKED_SATIATION = "packed_satiation"
PACKED_DISTRIBUTION = "packed_distribution"
PACKED_SLOT_FIELDS = ("allowed_at", "distribution")
#: Never queried, and many small values each (nx-27017 costs per value): packed too.
PACKED_TOP_LEVEL = ("caps", "excluded", "slots", "exploration")
DUPLICATE_KEY = 11000
CACHE_LIMIT = 200_000

# Bodies by hash, shared by every database of the process: a hash names its content.
_bodies: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def item_hash(body: dict[str, Any]) -> str:
    """128 bits of SHA-256 over the canonical JSON of an item body.

    >>> item_hash({"kind": "single", "features": {"a": 1}}) == item_hash({"features": {"a": 1}, "kind": "single"})
    True
    """
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _remember(found: dict[str, dict[str, Any]]) -> None:
    with _lock:
        if len(_bodies) + len(found) > CACHE_LIMIT:
            _bodies.clear()  # a huge catalogue just reads bodies again
        _bodies.update(found)


class ItemLog:
    """The ``logged_items`` collection of one database, and the compact/expand rewrite."""

    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.items = db["logged_items"]
        self._stored: set[str] = set()  # hashes known to be in *this* database

    def compact(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The stored form of a decision; writes the item bodies it refers to first.
        A candidate may carry its body's :func:`item_hash` as ``item``; it must be that hash."""
        candidates = doc.get("candidates")
        if not candidates or doc.get("kind") != "slate":
            return doc
        refs, new = [], {}
        for candidate in candidates:
            # A caller that already named the body (service/decide/slates.py, once per item) saves
            # the canonical dump and hash: ~1 ms of a 50-candidate slate.
            digest = candidate.get("item") or item_hash({key: candidate.get(key) for key in ITEM_FIELDS})
            if digest not in self._stored:
                new[digest] = {key: candidate.get(key) for key in ITEM_FIELDS}
            refs.append({"id": candidate["id"], "item": digest,
                         **{k: v for k, v in candidate.items() if k not in ITEM_FIELDS and k != "id"}})
        if new:
            self._insert_bodies(new)
        index = {candidate["id"]: position for position, candidate in enumerate(candidates)}
        chosen = [
            {("allowed_at" if key == "allowed" else key): ([index[i] for i in value] if key == "allowed" else value)
             for key, value in choice.items()}
            for choice in doc.get("chosen") or []
        ]
        return pack({**doc, "candidates": refs, "chosen": chosen})

    def _insert_bodies(self, new: dict[str, dict[str, Any]]) -> None:
        try:
            self.items.bulk_write([InsertOne({"_id": digest, **body}) for digest, body in new.items()], ordered=False)
        except mongo_errors.BulkWriteError as exc:  # bodies logged before (another worker): fine
            if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
                raise
        if len(self._stored) > CACHE_LIMIT:
            self._stored.clear()
        self._stored.update(new)
        _remember(new)

    def expand(self, docs: list[dict[str, Any]], features: bool = True) -> list[dict[str, Any]]:
        """Full documents (in place) from stored ones; one read for bodies not cached.
        ``features=False``: light documents — candidates with their category, creator and
        kind but no features or satiation, served slots without distributions (copying and
        parsing those is most of the cost of a read)."""
        for doc in docs:
            unpack(doc, satiation=features, distributions=features)
        wanted = {c["item"] for doc in docs for c in doc.get("candidates") or () if "item" in c}
        bodies = {digest: _bodies.get(digest) for digest in wanted}
        missing = [digest for digest, body in bodies.items() if body is None]
        if missing:
            found = {doc.pop("_id"): doc for doc in self.items.find({"_id": {"$in": missing}})}
            _remember(found)
            bodies.update(found)
        # Light candidates share one small dict per body, copied per candidate (one dict
        # build each instead of four lookups and a merge: a night reads 30 million).
        light = None if features else {digest: {"category": body.get("category"), "creator": body.get("creator"),
                                                "kind": body.get("kind")} for digest, body in bodies.items()}
        for doc in docs:
            self._expand_one(doc, bodies, light)
        return docs

    def expand_iter(
        self, docs: Iterable[dict[str, Any]], chunk: int = 1000, features: bool = True
    ) -> Iterator[dict[str, Any]]:
        """:meth:`expand` over a stream, ``chunk`` documents at a time."""
        batch: list[dict[str, Any]] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= chunk:
                yield from self.expand(batch, features)
                batch = []
        if batch:
            yield from self.expand(batch, features)

    @staticmethod
    def _expand_one(doc: dict[str, Any], bodies: dict[str, Any], light: dict[str, dict[str, Any]] | None) -> None:
        """``light``: the light form of each body (a light read), or None (whole documents)."""
        candidates = doc.get("candidates")
        if not candidates or "item" not in candidates[0]:
            return  # not a slate, or written before compaction
        full = []
        for ref in candidates:
            if light is not None:
                item = {"id": ref["id"], **light[ref["item"]]}
            else:
                body = bodies[ref["item"]]
                # Own copy of the features map: a reader that edits it must not edit the cache.
                item = {"id": ref["id"], **body, "features": dict(body.get("features") or {})}
            if len(ref) > 2:  # more than id and item: satiation of a document packed before the split
                item.update((k, v) for k, v in ref.items() if k not in ("id", "item"))
            full.append(item)
        doc["candidates"] = full
        ids = [candidate["id"] for candidate in full]
        for position, choice in enumerate(doc.get("chosen") or ()):
            if "allowed_at" not in choice:
                continue
            if next(reversed(choice)) == "allowed_at":  # last (a light read): renamed in place, same key order
                choice["allowed"] = [ids[i] for i in choice.pop("allowed_at")]
            else:
                doc["chosen"][position] = {("allowed" if key == "allowed_at" else key):
                                           ([ids[i] for i in value] if key == "allowed_at" else value)
                                           for key, value in choice.items()}


def pack(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a compact decision: its bulky parts as JSON strings, in three
    fields so a reader can leave out what it does not need: ``packed`` (candidate
    references and each served slot's ``allowed_at``: every replay needs them),
    ``packed_satiation`` (each candidate's satiation features: learning and model replays)
    and ``packed_distribution`` (each served slot's distribution: off-policy diagnostics).

    >>> stored = pack({"_id": "e", "candidates": [{"id": "a", "item": "h", "satiation": {"exp_cat": 1.0}}],
    ...                "chosen": [{"slot": 0, "item_id": "a", "probability": 1.0, "allowed_at": [0], "distribution": [1.0]}]})
    >>> sorted(stored), stored["chosen"]
    (['_id', 'chosen', 'packed', 'packed_distribution', 'packed_satiation'], [{'slot': 0, 'item_id': 'a', 'probability': 1.0}])
    >>> back = unpack(dict(stored))
    >>> back["chosen"][0]["distribution"], back["candidates"]
    ([1.0], [{'id': 'a', 'item': 'h', 'satiation': {'exp_cat': 1.0}}])
    >>> unpack({k: v for k, v in stored.items() if k != "packed_satiation"})["candidates"]  # projected away
    [{'id': 'a', 'item': 'h'}]
    """
    chosen = doc.get("chosen") or []
    candidates = doc.get("candidates") or []
    body = {
        "candidates": [{k: v for k, v in c.items() if k != "satiation"} for c in candidates],
        "allowed_at": [choice.get("allowed_at") for choice in chosen],
        "top": {key: doc[key] for key in PACKED_TOP_LEVEL if key in doc},
    }
    packed = {key: value for key, value in doc.items() if key != "candidates" and key not in PACKED_TOP_LEVEL}
    packed["chosen"] = [{k: v for k, v in choice.items() if k not in PACKED_SLOT_FIELDS} for choice in chosen]
    packed[PACKED] = _dumps(body)
    packed[PACKED_SATIATION] = _dumps([c.get("satiation") for c in candidates])
    packed[PACKED_DISTRIBUTION] = _dumps([choice.get("distribution") for choice in chosen])
    return packed


def unpack(
    doc: dict[str, Any], satiation: bool = True, distributions: bool = True, satiation_apart: bool = False
) -> dict[str, Any]:
    """A stored decision with its packed parts back in place (in place; a no-op on others).
    A part a projection left out stays out (no ``satiation`` or ``distribution`` keys), as
    does one not asked for (left unparsed). ``satiation_apart``: the satiation stays one
    unparsed JSON string under ``packed_satiation`` for :func:`candidate_satiations` — the
    learner's read: a candidate that holds only strings is a dict the cyclic GC does not
    track, and the learner parses the string when it builds the examples, off the
    prefetch thread that waits for the store (service/learn/learner.py)."""
    text = doc.pop(PACKED, None)
    if satiation_apart and text is not None:
        satiation_text = None  # left in the document, parsed by candidate_satiations
    else:
        satiation_text = doc.pop(PACKED_SATIATION, None)
    distribution = doc.pop(PACKED_DISTRIBUTION, None)
    if not satiation:
        satiation_text = None
    if not distributions:
        distribution = None
    if text is None:
        return doc
    body = jsontext.loads(text)
    doc.update(body.get("top") or {})
    candidates = doc["candidates"] = body["candidates"]
    chosen = doc.get("chosen") or []
    for choice, value in zip(chosen, body["allowed_at"]):
        if value is not None:
            choice["allowed_at"] = value
    if "distribution" in body and distributions:  # written when everything was one string (before the split)
        distribution = body["distribution"]
    elif distribution is not None:
        distribution = jsontext.loads(distribution, own_numbers=True)
    for choice, value in zip(chosen, distribution or ()):
        if value is not None:
            choice["distribution"] = value
    if satiation_text is not None:
        for candidate, value in zip(candidates, jsontext.loads(satiation_text, own_numbers=True)):
            if value is not None:
                candidate["satiation"] = value
    return doc


def candidate_satiations(doc: Mapping[str, Any]) -> list[Any]:
    """Each candidate's satiation features by position (``None`` where it had none): parsed
    from the string ``unpack(..., satiation_apart=True)`` left, or read from the candidates
    of a document unpacked whole or written before packing.

    >>> stored = pack({"candidates": [{"id": "a", "item": "h", "satiation": {"exp_cat": 1.0}}, {"id": "b", "item": "g"}]})
    >>> candidate_satiations(unpack(dict(stored), satiation_apart=True))
    [{'exp_cat': 1.0}, None]
    >>> candidate_satiations(unpack(dict(stored)))
    [{'exp_cat': 1.0}, None]
    """
    text = doc.get(PACKED_SATIATION)
    if isinstance(text, str):
        return jsontext.loads(text, own_numbers=True)
    return [candidate.get("satiation") for candidate in doc.get("candidates") or ()]


def _dumps(value: Any) -> str:
    return jsontext.dumps(value)
