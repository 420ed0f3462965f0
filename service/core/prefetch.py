"""Run an iterator one step ahead in a background thread.

The learner's pass alternates store round trips (read a chunk of due decisions, claim it)
with CPU work (build examples, train VW). On nx-27017 the round trips are the server's
CPU time in another process, so running them for the next chunk while this one is
learned overlaps the two; VW and the example text hold the GIL, so nothing else would.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class Prefetched(Iterator[T]):
    """Iterate ``source`` in a daemon thread, at most ``depth`` items ahead of the reader.

    An exception in ``source`` is raised to the reader where the item would have been.
    :meth:`close` (or leaving the ``with`` block) stops ``source`` after the item it is
    producing and waits for the thread: nothing of it runs after the reader has left.

    >>> def numbers():
    ...     yield 1
    ...     yield 2
    ...     raise ValueError("store down")
    >>> with Prefetched(numbers()) as items:
    ...     got = [next(items), next(items)]
    ...     next(items)
    Traceback (most recent call last):
    ...
    ValueError: store down
    >>> got
    [1, 2]
    """

    def __init__(self, source: Iterator[T], depth: int = 1) -> None:
        self._source = source
        self._queue: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._run, name="elicit-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._source:
                self._queue.put((item, None))
                if self._stop.is_set():
                    return
            self._queue.put((_DONE, None))
        except BaseException as exc:  # handed to the reader, which raises it
            self._queue.put((_DONE, exc))

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        item, error = self._queue.get()
        if item is _DONE:
            self._finished = True
            if error is not None:
                raise error
            raise StopIteration
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the source and wait for its thread; drains what it still hands over."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)  # unblocks a put on a full queue
            except queue.Empty:
                pass
        self._thread.join()
        self._finished = True

    def __enter__(self) -> Prefetched[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
