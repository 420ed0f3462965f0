"""Event time for elicit.

Every decision and outcome carries an event time in integer epoch milliseconds (integers
survive every MongoDB-compatible store unchanged; see docs/store.md). Production uses the
system clock; simulations and tests inject a :class:`ManualClock` so that reward windows,
cooldowns and the nightly schedule follow event time and nothing ever sleeps.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol


def epoch_ms(value: int | float | str, *, digits_as_ms: bool = True) -> int:
    """An event time given by a person (API body, command line, configuration) as integer
    epoch milliseconds: a number as it is; a string of ASCII digits as epoch milliseconds
    (with ``digits_as_ms=False``, as an ISO basic date such as ``20260101``); any other
    string as an ISO 8601 date or date/time, UTC unless it says otherwise (``Z`` allowed).
    Anything else raises ValueError; callers word the refusal for their users.

    >>> epoch_ms("2026-01-01"), epoch_ms("2026-01-01T01:00+01:00"), epoch_ms("2026-01-01T00:00Z"), epoch_ms(5)
    (1767225600000, 1767225600000, 1767225600000, 5)
    >>> epoch_ms("20260101"), epoch_ms("20260101", digits_as_ms=False)
    (20260101, 1767225600000)
    >>> epoch_ms("yesterday")
    Traceback (most recent call last):
    ...
    ValueError: 'yesterday' is neither epoch milliseconds nor an ISO date/time
    """
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    if digits_as_ms and text.isascii() and text.isdigit():
        return int(text)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is neither epoch milliseconds nor an ISO date/time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


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
