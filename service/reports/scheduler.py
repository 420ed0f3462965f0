"""The nightly report schedule: one report per night across all workers, in event time.

A *night* is named by the local date (in ``REPORT_TIMEZONE``) on which it runs, at
``REPORT_HOUR``; its report, ``nightly-<date>``, covers the ``REPORT_WINDOW_DAYS`` local
days before that date's midnight. Which nights are due is a pure function of event time
(:meth:`ReportScheduler.due_nights`), and :meth:`ReportScheduler.run_due` runs them, so
the APScheduler cron job (wall clock) and a simulator (injected clock) drive the same
code; APScheduler only wakes the worker up.

Exactly once: a worker first takes the lease ``nightly-report`` in ``locks`` (a
conditional update whose matched count says who won; docs/store.md), then re-checks which
nights have no report, builds them and inserts each under its night's ``_id`` (a second
insert of a night is refused), then frees the lease. A worker that dies holding the lease
blocks others for ``REPORT_LEASE_S`` event-time seconds at most.

Made up at start: nights due since the schedule was first started (the lock document's
``created_at``), at most ``REPORT_MAKEUP_DAYS`` back, that have no report yet.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from service.core.clock import Clock
from service.store import Store

log = logging.getLogger("elicit")

LEASE = "nightly-report"

#: ``build(since_ms, until_ms, report_id) -> report document``: :func:`service.reports.build.build_report`
#: over the process's sources (service/runtime/process.py wires it).
Builder = Callable[[int, int, str], dict[str, Any]]


class Night:
    """One scheduled run: its date, when it is due and the window it covers."""

    def __init__(self, date: dt.date, hour: int, window_days: int, zone: ZoneInfo) -> None:
        self.date = date
        self.report_id = f"nightly-{date.isoformat()}"
        midnight = dt.datetime.combine(date, dt.time(0), zone)
        self.due_ms = _ms(dt.datetime.combine(date, dt.time(hour), zone))
        self.since_ms = _ms(dt.datetime.combine(date - dt.timedelta(days=window_days), dt.time(0), zone))
        self.until_ms = _ms(midnight)

    def __repr__(self) -> str:
        return f"Night({self.report_id})"


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class ReportScheduler:
    """Due nights, the lease, and the APScheduler wiring for one worker."""

    def __init__(self, store: Store, config: Mapping[str, Any], clock: Clock, build: Builder,
                 after: Callable[[int, Callable[[], bool]], Any] | None = None) -> None:
        self.store = store
        # run under the same lease once the due nights are stored: retention (service/evaluate/retention.py),
        # given the time and a callable that renews the lease (False once lost)
        self.after = after
        self.config = config
        self.clock = clock
        self.build = build
        self.enabled = bool(config["REPORT_ENABLED"])
        self.hour = int(config["REPORT_HOUR"])
        if not 0 <= self.hour <= 23:
            raise ValueError(f"REPORT_HOUR must be 0..23, got {self.hour}")
        self.zone = ZoneInfo(str(config["REPORT_TIMEZONE"]))
        self.window_days = int(config["REPORT_WINDOW_DAYS"])
        self.makeup_days = int(config["REPORT_MAKEUP_DAYS"])
        self.lease_ms = int(float(config["REPORT_LEASE_S"]) * 1000)
        self.holder = uuid.uuid4().hex  # this worker, in the lease document
        self._running = threading.Lock()  # one pass at a time inside this worker
        self.caught_up = threading.Event()  # set when the start-up pass has finished

    def night(self, date: dt.date) -> Night:
        return Night(date, self.hour, self.window_days, self.zone)

    def due_nights(self, now_ms: int, started_ms: int | None = None) -> list[Night]:
        """Nights due at ``now_ms`` (oldest first) without a report yet.

        ``started_ms``: when the schedule was first started (default: the lock document's
        ``created_at``, recorded on first use); earlier nights are not this schedule's.
        """
        if started_ms is None:
            started_ms = int(self.store.ensure_lock(LEASE, now_ms)["created_at"])
        floor = max(started_ms, now_ms - self.makeup_days * 86_400_000)
        today = dt.datetime.fromtimestamp(now_ms / 1000, self.zone).date()
        first = dt.datetime.fromtimestamp(floor / 1000, self.zone).date() - dt.timedelta(days=1)
        nights = [self.night(first + dt.timedelta(days=i)) for i in range((today - first).days + 1)]
        nights = [n for n in nights if floor <= n.due_ms <= now_ms]
        done = self.store.existing_reports([n.report_id for n in nights]) if nights else set()
        return [n for n in nights if n.report_id not in done]

    def run_due(self, now_ms: int | None = None) -> list[str]:
        """Build and store every due night's report, if this worker wins the lease.

        Returns the ids of the reports this call stored (empty when disabled, when nothing
        is due, or when another worker holds the lease).
        """
        if not self.enabled:
            return []
        now_ms = self.clock.now_ms() if now_ms is None else int(now_ms)
        with self._running:
            if not self.due_nights(now_ms):
                return []
            if not self.store.acquire_lease(LEASE, self.holder, now_ms, self.lease_ms):
                log.info("nightly report: another worker holds the lease")
                return []
            stored: list[str] = []
            try:
                for night in self.due_nights(now_ms):  # again, now that we hold the lease
                    report = self.build(night.since_ms, night.until_ms, night.report_id)
                    if self.store.insert_report(report):
                        stored.append(night.report_id)
                        log.info("nightly report %s stored", night.report_id)
                if self.after is not None:
                    try:
                        self.after(now_ms, self._renew)
                    except Exception:  # the reports are stored; the job is retried next night
                        log.exception("nightly job after the reports (retention) failed")
            finally:
                if not self.store.release_lease(LEASE, self.holder):
                    log.warning("nightly report: the lease expired while building; another worker may have run")
            return stored

    def _renew(self) -> bool:
        return self.store.renew_lease(LEASE, self.holder, self.clock.now_ms(), self.lease_ms)

    def _wake(self) -> None:
        try:
            self.run_due()
        except Exception:
            log.exception("nightly report failed; it is retried at the next wake-up or start")
        finally:
            self.caught_up.set()

    def attach(self, scheduler: BaseScheduler) -> bool:
        """Add the nightly cron job and a start-up pass (making up missed nights)."""
        if not self.enabled:
            return False
        trigger = CronTrigger(hour=self.hour, minute=0, timezone=self.zone)
        scheduler.add_job(self._wake, trigger, id="nightly-report", max_instances=1, coalesce=True, misfire_grace_time=3600)
        scheduler.add_job(self._wake, id="nightly-report-start", max_instances=1)  # no trigger: once, now
        return True
