"""Rarer full garbage collections while a long pass over stored decisions runs.

The nightly report and the learner both read decisions a chunk at a time. Each chunk's
documents live for a second or so, long enough to be promoted to the oldest generation,
and every 25 % growth of it triggers a full collection over every live object of the
process (the whole application, not just the chunk). The documents die by reference
counting (they hold no cycles), so rarer full passes free the same memory: on 100,000
report decisions full passes were 20 of 65 seconds, and on a learner pass of 3,000
decisions three of them took 0.25–0.37 s of a ~5 s pass.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Full collections at most every this many young ones while such a pass runs (Python's default: 10).
FULL_EVERY = 100
_lock = threading.Lock()
_users = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """Let the garbage collector's full passes come ten times less often inside the block.

    Cyclic garbage of other threads waits a little longer. Process-wide, so nested or
    concurrent passes (a report and the in-process learner) share one setting, restored
    when the last ends.

    >>> before = gc.get_threshold()
    >>> with fewer_full_collections():
    ...     gc.get_threshold()[2]
    100
    >>> gc.get_threshold() == before
    True
    """
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(_saved[0], _saved[1], max(_saved[2], FULL_EVERY))
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _saved is not None:
                gc.set_threshold(*_saved)
