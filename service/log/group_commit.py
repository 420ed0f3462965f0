"""Group commit: requests that arrive together share one durable write.

Each request of a worker process that logs a decision (or an outcome) hands its document
to :meth:`GroupCommit.submit` and waits. One waiting thread — the *leader*, whichever finds
no write in flight — takes every document pending at that moment (at most ``max_items``),
writes them in one call, and hands each waiter the result for its own document; the
documents that arrived while it wrote form the next batch, led by one of their threads.
So a lone request writes at once, as before, and under concurrency the store's fixed cost
per call (round trip, journal commit) is paid once per batch instead of once per request.
``linger_s`` holds a batch open that long (or until ``max_items``) to gather more.

Nothing is answered before it is durable: :meth:`submit` returns only after the batch's
write returned, with the result for its document, and raises what the write raised for
it — for the whole batch when the call failed, so each request falls back on its own
(service/log/durable.py spools each document, as a request alone would). No thread of its
own: the leader is a request thread, so there is nothing to start after a fork, and a
batch is never stranded by a thread that died.

    >>> calls = []
    >>> def write(items):
    ...     calls.append(list(items))
    ...     return [item * 2 if item >= 0 else ValueError(item) for item in items]
    >>> group = GroupCommit(write)
    >>> group.submit(21), calls
    (42, [[21]])
    >>> group.submit(-1)
    Traceback (most recent call last):
    ValueError: -1
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: One result per item, in order: the item's result, or the exception its write met.
Write = Callable[[list[T]], Sequence["R | BaseException"]]


class _Waiter(Generic[T, R]):
    __slots__ = ("item", "result", "error", "done")

    def __init__(self, item: T) -> None:
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit(Generic[T, R]):
    def __init__(
        self, write: Write[T, R], linger_s: float = 0.0, max_items: int = 64, on_batch: Callable[[int], None] | None = None
    ) -> None:
        self._write = write
        self._on_batch = on_batch  # told each batch's size (a metric)
        self.linger_s = max(0.0, linger_s)
        self.max_items = max(1, int(max_items))
        self._cond = threading.Condition()
        self._pending: list[_Waiter[T, R]] = []
        self._writing = False

    def submit(self, item: T) -> R:
        """Block until the batch holding ``item`` is written; its result, or raise its error."""
        waiter: _Waiter[T, R] = _Waiter(item)
        with self._cond:
            self._pending.append(waiter)
            if self._writing:
                self._cond.notify_all()  # a lingering leader may have a full batch now
            while not waiter.done:
                if self._writing:
                    self._cond.wait()
                else:
                    self._lead()
        if waiter.error is not None:
            raise waiter.error
        return waiter.result  # type: ignore[return-value]  # set with done, unless error is

    def _lead(self) -> None:
        """Write the pending batch (called holding the lock; releases it while writing)."""
        self._writing = True
        try:
            if self.linger_s > 0:
                self._cond.wait_for(lambda: len(self._pending) >= self.max_items, self.linger_s)
            batch, self._pending = self._pending[: self.max_items], self._pending[self.max_items:]
            self._cond.release()
            try:
                results = self._results([waiter.item for waiter in batch])
            finally:
                self._cond.acquire()
            for waiter, result in zip(batch, results):
                if isinstance(result, BaseException):
                    waiter.error = result
                else:
                    waiter.result = result
                waiter.done = True
        finally:
            self._writing = False
            self._cond.notify_all()

    def _results(self, items: list[T]) -> Sequence[R | BaseException]:
        if self._on_batch is not None:
            self._on_batch(len(items))
        try:
            results = self._write(items)
        except BaseException as exc:  # the whole call failed: every document of it did
            return [exc] * len(items)
        if len(results) != len(items):
            error = RuntimeError(f"a batch write answered {len(results)} results for {len(items)} documents")
            return [error] * len(items)
        return results
