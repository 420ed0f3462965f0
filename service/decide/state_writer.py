"""Write-behind for per-user satiation bookkeeping.

A slate's exposure update and an outcome's consumption update
(:meth:`service.decide.slate_state.SlateUserState.record_served`, ``record_outcomes``), and the
prompt summary they keep (service/decide/prompt_summary.py), are derived data: written after
the decision or outcome they stem from is durable, and rebuilt from it when needed. So they do
not hold up the response: they are queued here, and one background thread per process writes
every pending user in one bulk write (one round trip however many requests queued meanwhile).

Durability, stated: a graceful stop flushes them (:meth:`close`); a worker killed with -9
loses what it queued in the last moments (one store round trip, milliseconds). A lost
exposure decays away (docs/design.md, "Graded thumbs and not going berserk"); a lost
consumption can let the item be served once more and leaves it out of one prompt feature;
the summary of a user is rebuilt from the log when its mark is missing. The decisions and
outcomes themselves are never in this queue.

Reads in the same process see queued writes (:meth:`StateWriter.overlay`), so a user's next
slate from the same worker counts the last one. Another worker may miss it until the flush
— milliseconds — as it may already miss a concurrent request's increment (the state is
read-modify-write, service/decide/slate_state.py). Pending writes are bounded: past
``max_pending`` users a writer waits for the flush, so a slow store slows requests down
rather than growing memory. :meth:`close` flushes (graceful shutdown, service/runtime/process.py).
``linger_s`` (``STATE_WRITE_LINGER_S``) holds a batch open that long before writing it, to
gather more users per round trip under load; 0, the default, writes as soon as the thread wakes.

A user forgotten (``DELETE /v1/users/<id>``, possibly through another worker) while this
one still holds their writes must stay forgotten: each write carries the event time it
stems from, and the tombstones are read after a batch is written
(``forgotten``): a write from before its user's tombstone is erased again after it is
written (``erase``), whether the tombstone came before the write or during it. Forgetting
writes its tombstone before it deletes, so one of the two always sees the other. Without
``erase`` (the doctest) such a write is dropped before it is written instead.

    >>> written = []
    >>> writer = StateWriter(lambda batch: written.append(dict(batch)), forgotten=lambda users: {"u2": 10})
    >>> writer.put("u1", {"exp_cat.a": [1.0, 5]}, at=5)
    >>> writer.put("u2", {"exp_cat.a": [1.0, 5]}, at=5)  # forgotten at 10: dropped
    >>> writer.flush(5.0), written
    (True, [{'u1': {'exp_cat.a': [1.0, 5]}}])
    >>> writer.close(1.0)
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any, Generic, TypeVar

log = logging.getLogger("elicit")

Batch = dict[str, dict[str, Any]]  # user key → dotted paths under the user's slate state → value
V = TypeVar("V")  # what is queued per user


class WriteBehind(Generic[V]):
    """The queue, its thread, read-your-writes and the forgetting check; what is queued per
    user, how two puts merge and how a read sees them are the subclass's (:class:`StateWriter`;
    service/decide/event_writer.py)."""

    what = "satiation state"  # for the log
    def _merge(self, queued: V | None, value: V) -> V:
        raise NotImplementedError

    def _apply(self, state: dict[str, Any], value: V) -> dict[str, Any]:
        """``state`` as it will be once ``value`` is written (never the caller's dict edited)."""
        raise NotImplementedError

    def __init__(
        self,
        write: Callable[[dict[str, V]], None],
        on_error: Callable[[Exception], None] | None = None,
        max_pending: int = 10_000,
        linger_s: float = 0.0,
        forgotten: Callable[[Collection[str]], Mapping[str, int]] | None = None,
        erase: Callable[[Collection[str]], None] | None = None,
    ) -> None:
        self._write = write
        self._on_error = on_error
        self._forgotten = forgotten  # user → when it was forgotten (service/store/privacy.py)
        self._erase = erase  # delete these users' state again
        self.max_pending = max_pending
        self.linger_s = linger_s
        self._pending: dict[str, V] = {}
        self._inflight: dict[str, V] = {}
        self._at: dict[str, int] = {}  # user → the newest event time behind its pending fields
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = -1
        self._closed = False
        self._flushing = 0

    def put(self, user: str, value: V, at: int) -> None:
        """Queue ``value`` for ``user``'s state. ``at``: the event time it stems from (a
        decision's, an outcome's)."""
        if not value:
            return
        with self._cond:
            closed = self._closed
        if closed:  # shutting down: a request still in flight writes its own
            self._write_quietly({user: self._merge(None, value)}, {user: at})
            return
        with self._cond:
            while len(self._pending) >= self.max_pending and user not in self._pending:
                self._ensure_thread()
                self._cond.wait(0.1)
            self._pending[user] = self._merge(self._pending.get(user), value)
            self._at[user] = max(self._at.get(user, at), at)
            self._ensure_thread()
            self._cond.notify_all()

    def overlay(self, user: str, state: Mapping[str, Any]) -> dict[str, Any]:
        """``state`` (the user's stored state) with this process's unwritten updates on top."""
        with self._cond:
            inflight, pending = self._inflight.get(user), self._pending.get(user)
        merged = dict(state)
        for value in (inflight, pending):
            if value is not None:
                merged = self._apply(merged, value)
        return merged

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written (or dropped on a store error)."""
        with self._cond:
            if self._pending or self._inflight:
                self._ensure_thread()
            self._flushing += 1  # ends a linger: someone waits for this batch
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._pending and not self._inflight, timeout)
            finally:
                self._flushing -= 1

    def close(self, timeout: float) -> None:
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if not done:
            log.warning("write-behind closed with %d users' %s unwritten", len(self._pending), self.what)

    def _ensure_thread(self) -> None:
        # Threads do not survive fork (gunicorn workers): start one per process, lazily.
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="elicit-state-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                if self.linger_s > 0 and not self._closed:  # gather more; a full queue or close ends it early
                    self._cond.wait_for(
                        lambda: self._closed or self._flushing > 0 or len(self._pending) >= self.max_pending, self.linger_s
                    )
                self._inflight, self._pending = self._pending, {}
                batch, times, self._at = self._inflight, self._at, {}
            self._write_quietly(batch, times)
            with self._cond:
                self._inflight = {}
                self._cond.notify_all()

    def _gone(self, batch: dict[str, V], times: Mapping[str, int]) -> set[str]:
        """Users of ``batch`` forgotten at or after the event time of their queued fields."""
        assert self._forgotten is not None
        gone = self._forgotten(list(batch))
        return {user for user, at in gone.items() if at >= times.get(user, at)}

    def _write_quietly(self, batch: dict[str, V], times: Mapping[str, int]) -> None:
        try:
            if self._forgotten is not None and self._erase is None:
                batch = {user: fields for user, fields in batch.items() if user not in self._gone(batch, times)}
            # With ``erase``, the check after the write alone keeps forgotten users forgotten (a
            # write from before a tombstone is erased however it raced it): one tombstone read
            # per batch instead of two — most batches hold one user, so this was a store read
            # per slate.
            if batch:
                self._write(batch)
                if self._forgotten is not None and self._erase is not None and (late := self._gone(batch, times)):
                    self._erase(late)  # forgotten while this batch was being written
        except Exception as exc:  # a lost exposure count decays away; the decision is durable
            log.warning("%s of %d users not updated: %s", self.what, len(batch), exc)
            if self._on_error is not None:
                self._on_error(exc)


class StateWriter(WriteBehind[dict[str, Any]]):
    """``$set`` of dotted fields under users' slate state; later values of a path win."""

    def _merge(self, queued: dict[str, Any] | None, value: dict[str, Any]) -> dict[str, Any]:
        return {**(queued or {}), **value}

    def _apply(self, state: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
        merged = dict(state)
        for path, field in value.items():
            _set_path(merged, path.split("."), field)
        return merged


def _set_path(doc: dict[str, Any], parts: list[str], value: Any) -> None:
    """``doc[parts[0]]...[parts[-1]] = value``, copying each map on the way (never the caller's)."""
    head = parts[0]
    if len(parts) == 1:
        doc[head] = value
        return
    child = doc.get(head)
    child = dict(child) if isinstance(child, Mapping) else {}
    doc[head] = child
    _set_path(child, parts[1:], value)
