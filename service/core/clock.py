"""Event time for elicit.

Every decision and outcome carries an event time in integer epoch milliseconds (integers
survive every MongoDB-compatible store unchanged; see docs/store.md). Production uses the
system clock; simulations and tests inject a :class:`ManualClock` so that reward windows,
cooldowns and the nightly schedule follow event time and nothing ever sleeps.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    """Wall-clock time.

    >>> SystemClock().now_ms() > 1_600_000_000_000
    True
    """

    def now_ms(self) -> int:
        return int(time.time() * 1000)


class ManualClock:
    """A clock that only moves when told to; safe to share between threads.

    >>> clock = ManualClock(1_000)
    >>> clock.advance(seconds=2.5)
    >>> clock.now_ms()
    3500
    """

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00Z
        self._now = int(start_ms)
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._now += int(round(seconds * 1000))

    def set(self, now_ms: int) -> None:
        with self._lock:
            if now_ms < self._now:
                raise ValueError("a clock never goes backwards")
            self._now = int(now_ms)
