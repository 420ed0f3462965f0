"""Nothing acknowledged is lost: decisions and outcomes are written to MongoDB (write
concern majority, journaled: service/store/mongo.py) or, while it is unreachable, to the
local spool (service/log/spool.py) — either way durable before the client hears "201".
Concurrent requests of a process share one write (group commit, service/log/group_commit.py:
at most ``linger_s`` of waiting or ``batch_max`` documents); each is answered only once
its batch is acknowledged, and if the batch fails each of its documents is spooled on its
own, exactly as a request alone would be.

:class:`DurableLog` is what the deciders write through. Once a store call fails as
unreachable it is marked *down*: decisions go straight to the spool and the reads that
feed them fall back (:meth:`read`) without waiting for a timeout each. A shipper thread
pings the store every ``SPOOL_RETRY_S``; when it answers, the store is *up* again and the
spool is shipped in the background, exactly once (inserts by id). A shipped record then
gets the side effects its request skipped (user state), through the ``hooks``.
Graceful shutdown (:meth:`close`) ships what it can within ``SHUTDOWN_FLUSH_S``; the rest
stays on disk for the next start, of this process or any other on the same spool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from service.core.errors import StoreUnavailable
from service.log import metrics
from service.log.group_commit import GroupCommit
from service.log.spool import Record, Spool
from service.store import Store
from service.store.privacy import TOMBSTONE

log = logging.getLogger("elicit.durable")
T = TypeVar("T")
Hook = Callable[[dict[str, Any]], None]


class DurableLog:
    def __init__(
        self, store: Store, spool: Spool, retry_s: float = 0.5,
        forgotten: Callable[[Collection[str]], Mapping[str, int]] | None = None,
        linger_s: float = 0.0, batch_max: int = 64,
    ) -> None:
        self.store = store
        # Concurrent requests share one write each (service/log/group_commit.py).
        self._decisions: GroupCommit[dict[str, Any], dict[str, Any] | None] = GroupCommit(
            store.insert_decisions, linger_s, batch_max, metrics.BATCH.labels("decisions").observe)
        self._outcomes: GroupCommit[dict[str, Any], bool] = GroupCommit(
            store.insert_outcomes, linger_s, batch_max, metrics.BATCH.labels("outcomes").observe)
        self.spool = spool
        self.retry_s = retry_s
        #: user → when it was forgotten (service/store/privacy.py): checked as records ship
        self.forgotten = forgotten
        #: side effects of a shipped record, by kind ("slate", "prompt", "outcome")
        self.hooks: dict[str, Hook] = {}
        self._down = threading.Event()
        self._stop = threading.Event()
        self._ship_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="elicit-spool-shipper", daemon=True)

    def start(self) -> None:
        """Start the shipper (once the hooks are in place: it may ship a dead process's spool at once)."""
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    @property
    def down(self) -> bool:
        return self._down.is_set()

    def mark_down(self, exc: BaseException | None = None) -> None:
        if not self._down.is_set():
            log.warning("store unreachable: decisions and outcomes go to the local spool (%s)", exc)
        self._down.set()

    def read(self, fetch: Callable[[], T], fallback: Callable[[], T]) -> tuple[T, bool]:
        """``(fetch(), False)``, or ``(fallback(), True)`` when the store is down."""
        if not self.down:
            try:
                return fetch(), False
            except StoreUnavailable as exc:
                self.mark_down(exc)
        return fallback(), True

    # writes ---------------------------------------------------------------------------------

    def insert_decision(self, doc: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        """``(existing, spooled)``: the stored decision if the event id was taken, and whether
        the new one went to the spool."""
        if not self.down:
            try:
                existing = self._decisions.submit(doc)
                if existing is None:
                    metrics.DECISIONS.labels(doc["kind"], "store").inc()
                return existing, False
            except StoreUnavailable as exc:
                self.mark_down(exc)
        self.spool.append("decision", doc)
        metrics.DECISIONS.labels(doc["kind"], "spool").inc()
        metrics.SPOOL_DEPTH.set(self.spool.depth())
        return None, True

    def insert_outcome(self, doc: dict[str, Any], unchecked: bool = False) -> tuple[bool, bool]:
        """``(recorded, spooled)``; ``unchecked``: its decision could not be read (checked when shipped)."""
        if not self.down and not unchecked:
            try:
                recorded = self._outcomes.submit(doc)
                metrics.OUTCOMES.labels("store").inc()
                return recorded, False
            except StoreUnavailable as exc:
                self.mark_down(exc)
        self.spool.append("outcome", doc, unchecked=unchecked)
        metrics.OUTCOMES.labels("spool").inc()
        metrics.SPOOL_DEPTH.set(self.spool.depth())
        return True, True

    def get_decision(self, event_id: str) -> dict[str, Any] | None:
        """From the store if it answers, else (or if it has none yet) from this process's spool."""
        if not self.down:
            try:
                found = self.store.get_decision(event_id)
                if found is not None:
                    return found
            except StoreUnavailable as exc:
                self.mark_down(exc)
        spooled = self.spool.local_decision(event_id)
        return dict(spooled) if spooled is not None else None

    # shipping -------------------------------------------------------------------------------

    def _ship_record(self, record: Record) -> None:
        doc, kind = record["doc"], record["k"]
        if kind == "decision":
            gone = self.forgotten([doc["user"]]).get(doc["user"]) if self.forgotten is not None else None
            if gone is not None and int(doc["t"]) <= gone:
                # Made before its user was forgotten: shipped linked to no one, with no state updates.
                doc = {**doc, "user": TOMBSTONE}
            existing = self.store.insert_decision(doc)
            if existing is None and gone is None and self.forgotten is not None:
                # Forgotten while this was being shipped: forgetting rewrites what it finds, so
                # what landed after it is rewritten here (the tombstone is written first).
                late = self.forgotten([doc["user"]]).get(doc["user"])
                if late is not None and int(doc["t"]) <= late:
                    self.store.tombstone_decision(doc["_id"], TOMBSTONE)
                    doc = {**doc, "user": TOMBSTONE}
            if existing is None and doc["user"] != TOMBSTONE:
                self._after(doc["kind"], doc)
            metrics.SHIPPED.labels("inserted" if existing is None else "duplicate").inc()
        elif kind == "outcome":
            recorded = self.store.insert_outcome(doc)
            if recorded:
                self._after("outcome", doc)
            metrics.SHIPPED.labels("inserted" if recorded else "duplicate").inc()

    def _after(self, kind: str, doc: dict[str, Any]) -> None:
        hook = self.hooks.get(kind)
        if hook is None:
            return
        try:
            hook(doc)
        except StoreUnavailable:
            raise  # the segment stays; this record is re-shipped as a duplicate (its effects are lost: said in README)
        except Exception:
            log.exception("side effects of a shipped %s failed; the record itself is stored", kind)

    def ship_once(self) -> int:
        """Ping the store; if it answers, mark it up and ship the spool. Records shipped."""
        with self._ship_lock:
            try:
                self.store.ping()
            except StoreUnavailable as exc:
                self.mark_down(exc)
                return 0
            if self._down.is_set():
                log.info("store reachable again: shipping the spool")
            self._down.clear()
            try:
                shipped = self.spool.ship(self._ship_record)
            except StoreUnavailable as exc:
                self.mark_down(exc)
                shipped = 0
            metrics.SPOOL_DEPTH.set(self.spool.depth())
            if shipped:
                log.info("shipped %d spooled records to the store", shipped)
            return shipped

    def _run(self) -> None:
        while not self._stop.wait(self.retry_s):
            if self.down or self.spool.depth():
                try:
                    self.ship_once()
                except Exception:
                    log.exception("spool shipping failed; retrying")

    def close(self, flush_s: float = 10.0) -> int:
        """Stop the shipper and ship what is left within ``flush_s``; records left on disk."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(flush_s, self.retry_s) + 5)
        deadline = time.monotonic() + flush_s
        while self.spool.depth() and time.monotonic() < deadline:
            if not self.ship_once():
                self._stop.wait(min(self.retry_s, max(0.0, deadline - time.monotonic())))
        self.spool.close()
        left = self.spool.depth()
        if left:
            log.warning("%d spooled records left on disk; the next start ships them", left)
        return left
