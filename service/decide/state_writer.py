"""Write-behind for per-user satiation bookkeeping.

A slate's exposure update (:meth:`service.decide.slate_state.SlateUserState.record_served`) is
derived data: it is written after the decision is durable, and one that is lost decays
away (docs/design.md, "Graded thumbs and not going berserk"). So it does not hold up the response: it is queued
here, and one background thread per process writes every pending user in one bulk write
(one round trip however many requests queued in the meantime).

Reads in the same process see queued writes (:meth:`StateWriter.overlay`), so a user's next
slate from the same worker counts the last one. Another worker may miss it until the flush
— milliseconds — as it may already miss a concurrent request's increment (the state is
read-modify-write, service/decide/slate_state.py). Pending writes are bounded: past
``max_pending`` users a writer waits for the flush, so a slow store slows requests down
rather than growing memory. :meth:`close` flushes (graceful shutdown, service/runtime/process.py).

    >>> written = []
    >>> writer = StateWriter(lambda batch: written.append(dict(batch)))
    >>> writer.put("u1", {"exp_cat.a": [1.0, 5]})
    >>> writer.flush(5.0), written
    (True, [{'u1': {'exp_cat.a': [1.0, 5]}}])
    >>> writer.close(1.0)
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("elicit")

Batch = dict[str, dict[str, Any]]  # user key → dotted paths under the user's slate state → value


class StateWriter:
    def __init__(
        self,
        write: Callable[[Batch], None],
        on_error: Callable[[Exception], None] | None = None,
        max_pending: int = 10_000,
    ) -> None:
        self._write = write
        self._on_error = on_error
        self.max_pending = max_pending
        self._pending: Batch = {}
        self._inflight: Batch = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = -1
        self._closed = False

    def put(self, user: str, fields: Mapping[str, Any]) -> None:
        """Queue ``$set`` of ``fields`` on ``user``'s state; later values of a path win."""
        if not fields:
            return
        with self._cond:
            closed = self._closed
        if closed:  # shutting down: a request still in flight writes its own
            self._write_quietly({user: dict(fields)})
            return
        with self._cond:
            while len(self._pending) >= self.max_pending and user not in self._pending:
                self._ensure_thread()
                self._cond.wait(0.1)
            self._pending.setdefault(user, {}).update(fields)
            self._ensure_thread()
            self._cond.notify_all()

    def overlay(self, user: str, state: Mapping[str, Any]) -> dict[str, Any]:
        """``state`` (the user's stored slate state) with this process's unwritten fields on top."""
        with self._cond:
            fields = {**self._inflight.get(user, {}), **self._pending.get(user, {})}
        merged = dict(state)
        for path, value in fields.items():
            _set_path(merged, path.split("."), value)
        return merged

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written (or dropped on a store error)."""
        with self._cond:
            if self._pending or self._inflight:
                self._ensure_thread()
            return self._cond.wait_for(lambda: not self._pending and not self._inflight, timeout)

    def close(self, timeout: float) -> None:
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if not done:
            log.warning("state writer closed with %d users' satiation updates unwritten", len(self._pending))

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
                self._inflight, self._pending = self._pending, {}
                batch = self._inflight
            self._write_quietly(batch)
            with self._cond:
                self._inflight = {}
                self._cond.notify_all()


    def _write_quietly(self, batch: Batch) -> None:
        try:
            self._write(batch)
        except Exception as exc:  # a lost exposure count decays away; the decision is durable
            log.warning("satiation state of %d users not updated: %s", len(batch), exc)
            if self._on_error is not None:
                self._on_error(exc)


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
