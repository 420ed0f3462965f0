"""Reading a window of decisions in event-time order, in bounded pieces.

A night's log is a million decisions. One ``find(window).sort("t")`` is what MongoDB
streams from its ``(kind, t)`` index, but nx-27017 answers every ``find`` by building the
whole result as Python documents before the first batch (its RSS reached 13.5 GB on a
million), and a plain ``{"kind": "slate"}`` filter stops it from using the index at all
(docs/store.md, "Reading a window"). So a window is read as a series of ``find``s with a
``limit``, each starting at the event time where the previous one stopped (keyset
pagination on ``t``): each is the same query shape, served from the same index in the same
order, so the pieces joined are exactly the one read, in the same order — including
decisions that share an event time (``tests/service/store/test_window_read.py``).

Ties at a piece's end: the piece may have stopped inside a group of decisions with the
same ``t``, so that group is dropped from the piece and the next piece starts at its ``t``
(``$gte``), reading it whole. A group larger than a piece is read whole on its own (a
range of one event time), so reads always move forward.

While the caller works on one piece, the next is read by a helper thread: the store
server (a process of its own) works on the other core.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from pymongo import errors as mongo_errors
from pymongo.collection import Collection

from service.core.errors import StoreError, StoreUnavailable

log = logging.getLogger("elicit")

#: Decisions per piece: ~13 KB each in nx-27017's memory while it answers, ~65 MB a piece.
PIECE = 5000
#: Attempts per piece when the connection fails mid-read (a piece is re-read from its start).
ATTEMPTS = 3
_DONE = object()


def indexable(query: dict[str, Any]) -> dict[str, Any]:
    """``query`` with top-level scalar equalities as ``$eq`` — the same query on MongoDB
    (``{f: v}`` is shorthand for ``{f: {$eq: v}}``), but nx-27017 translates the shorthand
    with array semantics (a ``json_each`` subquery) that keeps SQLite off the ``(kind, t)``
    index: a scan of the whole collection and a sort of the result. ``$eq`` is a plain
    comparison that uses the index and its order. Strings, numbers and booleans only: a
    document or a regex means something else under ``$eq``, and ``None`` is left alone.

    >>> indexable({"kind": "slate", "t": {"$gte": 1}, "activated": True, "x": None})
    {'kind': {'$eq': 'slate'}, 't': {'$gte': 1}, 'activated': {'$eq': True}, 'x': None}
    """
    return {key: {"$eq": value} if not key.startswith("$") and isinstance(value, (str, int, float)) else value
            for key, value in query.items()}


def _bounded(query: dict[str, Any], since: tuple[str, Any] | None) -> dict[str, Any]:
    """``query`` with its ``t`` condition narrowed to ``t >= since`` (or ``> since``)."""
    if since is None:
        return query
    op, value = since
    return {**query, "t": {**query.get("t", {}), op: value}}


def pieces(collection: Collection[dict[str, Any]], query: dict[str, Any], piece: int = PIECE,
           batch_size: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """The decisions of ``query`` in ``t`` order, as lists of at most ~``piece`` stored
    documents (more only for a group of equal ``t`` larger than a piece)."""
    query = indexable(query)
    condition = query.get("t")
    if condition is not None and not (isinstance(condition, dict) and all(k.startswith("$") for k in condition)):
        yield _read(collection, query, 0, batch_size)  # an exact event time: one read is bounded enough
        return
    since: tuple[str, Any] | None = None
    while True:
        docs = _read(collection, _bounded(query, since), piece, batch_size)
        if len(docs) < piece:  # the last piece
            if docs:
                yield docs
            return
        last = docs[-1]["t"]
        if docs[0]["t"] == last:  # a piece-sized group of one event time: read it whole
            yield _read(collection, {**query, "t": {"$gte": last, "$lte": last}}, 0, batch_size)
            since = ("$gt", last)
            continue
        # Leave the group at ``last`` to the next piece, which starts with it.
        end = len(docs)
        while docs[end - 1]["t"] == last:  # stops: docs[0] is earlier
            end -= 1
        yield docs[:end]
        since = ("$gte", last)


def _read(collection: Collection[dict[str, Any]], query: dict[str, Any], limit: int, batch_size: int) -> list[dict[str, Any]]:
    """One piece, sorted by ``t`` (what the ``(kind, t)`` index gives on both servers).

    A piece is a query, not a position in a cursor, so a connection lost mid-read (seen
    once as pymongo's ``_OperationCancelled`` while nx-27017 was busy) is retried by
    reading the piece again; the error is logged and raised after ``ATTEMPTS``."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return list(collection.find(query).sort("t", 1).limit(limit).batch_size(batch_size))
        except mongo_errors.AutoReconnect as exc:  # _OperationCancelled, NetworkTimeout, lost connections
            log.warning("window read: piece failed (attempt %d of %d): %r", attempt, ATTEMPTS, exc)
            if attempt == ATTEMPTS:
                raise StoreUnavailable("the store (MongoDB) failed while reading decisions; retry later") from exc
        except mongo_errors.PyMongoError as exc:
            raise StoreError(f"reading decisions failed: {exc}") from exc
    raise AssertionError("unreachable")


def prefetched(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """``items``, produced ``depth`` ahead by a helper thread (errors re-raised here).
    Closing the iterator early stops the thread after the piece it is reading."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        """Hand ``item`` over; False once the consumer has gone."""
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # noqa: BLE001 — handed to the consumer, which raises it
            offer(exc)

    thread = threading.Thread(target=produce, name="window-read", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
