"""Retention: every expired day is archived to files, verified, then deleted from the store.

Decisions and outcomes are kept ``RETENTION_DAYS`` (UTC days), explicit feedback
``FEEDBACK_RETENTION_DAYS`` (0: forever). The nightly job runs under the report's lease
(service/reports/scheduler.py), after the night's report; ``elicit retention`` runs it now.

For each expired day, oldest first, and each unit (``log``: decisions + outcomes;
``feedback``)::

    parts already archived for the day → verify each, delete its ids from the store
    documents of the day still in the store → write a new part (service/evaluate/archive.py),
                                               verify it, delete its ids

Nothing is deleted that is not in a verified part (deletion is by id, never by time
range), and a part exists only once its manifest does (files fsync'ed and renamed first).
So a job killed anywhere loses nothing and duplicates nothing: killed before a manifest,
the next run writes that part again from the store; killed after it, the next run deletes
what the part holds and archives only what is left (``tests/service/evaluate/test_retention.py``
kills a real process at both points).

The nightly reports' pooled evidence lives in ``reports``, which retention never touches:
the report's headline keeps every night's figures after their decisions are gone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.core.clock import Clock
from service.evaluate.archive import DAY_MS, UNITS, day_name, parts, write_part
from service.store.retention import RetentionStore

log = logging.getLogger("elicit")

#: ``checkpoint(event, day)``: called after each step (``archived``, ``deleted:<collection>``),
#: for tests that stop the job there. Production passes nothing.
Checkpoint = Callable[[str, str], None]


def _nothing(event: str, day: str) -> None:
    return None


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each unit is kept (days; 0 = forever) and where archives go.

    >>> RetentionPolicy.of({"RETENTION_DAYS": 90, "FEEDBACK_RETENTION_DAYS": 0, "ARCHIVE_DIR": "/a",
    ...                     "DATA_DIR": ".elicit", "DB": "elicit"}).days
    {'log': 90, 'feedback': 0}
    """

    days: Mapping[str, int]
    directory: Path

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> RetentionPolicy:
        directory = config.get("ARCHIVE_DIR") or Path(str(config["DATA_DIR"])) / "archive" / str(config["DB"])
        days = {"log": int(config["RETENTION_DAYS"]), "feedback": int(config["FEEDBACK_RETENTION_DAYS"])}
        if any(value < 0 for value in days.values()):
            raise ValueError(f"retention days must be 0 (keep forever) or more, got {days}")
        return cls(days, Path(directory))


@dataclass
class DayResult:
    day: str
    unit: str
    archived: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    parts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day, "unit": self.unit, "archived": self.archived, "deleted": self.deleted, "parts": self.parts}


class Retention:
    """The retention job over one store and one archive directory."""

    def __init__(self, store: RetentionStore, policy: RetentionPolicy, clock: Clock,
                 checkpoint: Checkpoint = _nothing) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.checkpoint = checkpoint

    def cutoff(self, unit: str, now_ms: int) -> int | None:
        """Days starting before this are expired (UTC midnight ``days`` before today's);
        None when the unit is kept forever."""
        days = self.policy.days[unit]
        return None if days == 0 else (now_ms // DAY_MS - days) * DAY_MS

    def expired_days(self, unit: str, now_ms: int) -> list[int]:
        """Start (epoch ms) of each expired day from the oldest document on, oldest first."""
        cutoff = self.cutoff(unit, now_ms)
        if cutoff is None:
            return []
        oldest = [t for t in (self.store.oldest(c) for c in UNITS[unit]) if t is not None]
        if not oldest:
            return []
        return list(range(min(oldest) // DAY_MS * DAY_MS, cutoff, DAY_MS))

    def run(self, now_ms: int | None = None, keep: Callable[[], bool] | None = None) -> list[DayResult]:
        """Archive and delete every expired day; what was done, per day and unit with work.

        ``keep``: renews the caller's lease, False once it is lost — checked before each day,
        so two runs never work on the same day (a day's work must fit in the lease)."""
        now_ms = self.clock.now_ms() if now_ms is None else int(now_ms)
        done = []
        for unit in UNITS:
            for start in self.expired_days(unit, now_ms):
                if keep is not None and not keep():
                    log.warning("retention: the lease was lost; stopping before %s (%s)", day_name(start), unit)
                    return done
                result = self.day(unit, start, now_ms)
                if result.archived or result.deleted:
                    done.append(result)
                    log.info("retention: %s", result.as_dict())
        return done

    def _remaining(self, unit: str, start: int) -> int:
        return sum(self.store.count_day(c, start, start + DAY_MS) for c in UNITS[unit])

    def day(self, unit: str, start: int, now_ms: int) -> DayResult:
        """One day of one unit: finish what earlier runs archived, then archive the rest."""
        name, end = day_name(start), start + DAY_MS
        result = DayResult(name, unit)
        if not self._remaining(unit, start):
            return result
        existing = parts(self.policy.directory, name, unit)
        for part in existing:  # archived by an earlier run that stopped before deleting it all
            part.verify()
            self._delete(part, unit, result)
        result.parts = len(existing)
        if self._remaining(unit, start):
            sources = {c: self.store.day(c, start, end) for c in UNITS[unit]}
            part = write_part(self.policy.directory, name, unit, sources, start, end, now_ms)
            result.archived = part.counts
            result.parts += 1
            self.checkpoint("archived", name)
            self._delete(part, unit, result)
        return result

    def _delete(self, part: Any, unit: str, result: DayResult) -> None:
        for collection in UNITS[unit]:
            deleted = self.store.delete_ids(collection, part.ids(collection))
            result.deleted[collection] = result.deleted.get(collection, 0) + deleted
            self.checkpoint(f"deleted:{collection}", result.day)
