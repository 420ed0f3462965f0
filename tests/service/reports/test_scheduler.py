"""The nightly schedule: which nights are due, the lease across workers, making up missed
nights at start, and nothing at all when disabled. Event time only (ManualClock)."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from service.core.clock import ManualClock
from service.reports.scheduler import LEASE

DAY_MS = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, the ManualClock's default start


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


def nightly_ids(runtime: Any) -> list[str]:
    return sorted(r["_id"] for r in runtime.store.list_reports(100, kind="nightly"))


def test_nights_follow_hour_timezone_and_window(make_app: Any, clock: ManualClock) -> None:
    runtime = make_app(REPORT_TIMEZONE="Europe/Paris", REPORT_HOUR=3, REPORT_WINDOW_DAYS=2).extensions["elicit"]
    scheduler = runtime.report_scheduler
    night = scheduler.night(dt.date(2026, 3, 30))  # the day after the switch to summer time
    assert night.report_id == "nightly-2026-03-30"
    assert night.due_ms == ms("2026-03-30T03:00:00+02:00")
    assert night.until_ms == ms("2026-03-30T00:00:00+02:00")
    assert night.since_ms == ms("2026-03-28T00:00:00+01:00")  # two local days, one of them 23 hours long
    started = ms("2026-03-27T12:00:00+01:00")
    due = scheduler.due_nights(ms("2026-03-30T03:00:00+02:00"), started_ms=started)
    assert [n.report_id for n in due] == ["nightly-2026-03-28", "nightly-2026-03-29", "nightly-2026-03-30"]
    assert scheduler.due_nights(ms("2026-03-30T02:59:59+02:00"), started_ms=started)[-1].report_id == "nightly-2026-03-29"
    # Never further back than REPORT_MAKEUP_DAYS, whenever the schedule started.
    far = scheduler.due_nights(ms("2026-03-30T04:30:00+02:00"), started_ms=0)
    assert len(far) == 7 and far[0].report_id == "nightly-2026-03-24"


def test_two_workers_and_many_threads_make_one_report_per_night(make_app: Any, clock: ManualClock) -> None:
    workers = [make_app(REPORT_ENABLED=True).extensions["elicit"].report_scheduler for _ in range(2)]
    assert workers[0].run_due() == [] and workers[1].run_due() == []  # the schedule starts now: nothing due
    built: list[str] = []
    for worker in workers:  # count the builds: the lease must prevent duplicate work, not only duplicate documents
        worker.build = lambda since, until, report_id, build=worker.build: built.append(report_id) or build(since, until, report_id)
    clock.set(T0 + 2 * DAY_MS + 3 * 3_600_000)  # 2026-01-03T03:00: the nights of Jan 1, 2 and 3 are due
    barrier = threading.Barrier(8)

    def race(index: int) -> list[str]:
        barrier.wait()
        return workers[index % 2].run_due(clock.now_ms())

    with ThreadPoolExecutor(8) as pool:
        stored = [report_id for result in pool.map(race, range(8)) for report_id in result]
    expected = ["nightly-2026-01-01", "nightly-2026-01-02", "nightly-2026-01-03"]
    assert sorted(stored) == expected  # each night stored once, by whichever thread won
    assert sorted(built) == expected  # ... and built once
    runtime = make_app(REPORT_ENABLED=True).extensions["elicit"]
    assert nightly_ids(runtime) == expected
    assert runtime.store.get_report("nightly-2026-01-03")["window"]["since"] == T0 + DAY_MS
    assert workers[0].run_due() == [] and workers[1].run_due() == []  # the same nights again: no-op
    assert runtime.store.ensure_lock(LEASE, 0)["holder"] is None  # released


def test_a_held_lease_blocks_until_it_expires(make_app: Any, clock: ManualClock) -> None:
    scheduler = make_app(REPORT_ENABLED=True, REPORT_LEASE_S=600).extensions["elicit"].report_scheduler
    scheduler.run_due()
    clock.set(T0 + 3 * 3_600_000)
    assert scheduler.store.acquire_lease(LEASE, "a worker that died", clock.now_ms(), 600_000)
    assert scheduler.run_due() == []
    clock.advance(600)
    assert scheduler.run_due() == ["nightly-2026-01-01"]


def test_missed_nights_are_made_up_at_start(make_app: Any, clock: ManualClock) -> None:
    before = make_app(REPORT_ENABLED=True).extensions["elicit"]
    assert before.report_scheduler.run_due() == []  # the schedule was running at T0 ...
    clock.advance(3 * 86_400 + 3_600)  # ... then the service was down for three days
    runtime = make_app(REPORT_ENABLED=True, BACKGROUND_JOBS=True, LEARN_INTERVAL_S=3600.0,
                       MODEL_REFRESH_S=3600.0).extensions["elicit"]
    assert runtime.report_scheduler.caught_up.wait(timeout=120), "the start-up pass did not finish"
    assert nightly_ids(runtime) == ["nightly-2026-01-01", "nightly-2026-01-02", "nightly-2026-01-03"]
    job = runtime.scheduler.get_job("nightly-report")
    assert (job.next_run_time.hour, job.next_run_time.minute, str(job.next_run_time.tzinfo)) == (2, 0, "UTC")


def test_nothing_runs_when_disabled(make_app: Any, clock: ManualClock) -> None:
    runtime = make_app(REPORT_ENABLED=False, BACKGROUND_JOBS=True, LEARN_INTERVAL_S=3600.0,
                       MODEL_REFRESH_S=3600.0).extensions["elicit"]
    assert runtime.scheduler.get_job("nightly-report") is None
    assert runtime.scheduler.get_job("nightly-report-start") is None
    clock.advance(5 * 86_400)
    assert runtime.report_scheduler.run_due() == []
    assert runtime.store.list_reports(10) == []


@pytest.mark.parametrize("hour", [-1, 24])
def test_a_bad_report_hour_is_refused(make_app: Any, hour: int) -> None:
    with pytest.raises(ValueError, match="REPORT_HOUR"):
        make_app(REPORT_HOUR=hour)


def test_retention_runs_after_the_nights_under_the_same_lease(make_app: Any, clock: ManualClock) -> None:
    runtime = make_app(REPORT_ENABLED=True).extensions["elicit"]
    scheduler = runtime.report_scheduler
    assert scheduler.run_due() == []  # the schedule starts now
    seen: list[tuple[int, str | None, bool]] = []
    scheduler.after = lambda now, keep: seen.append((now, runtime.store.locks.find_one({"_id": LEASE})["holder"], keep()))
    clock.set(T0 + DAY_MS + 3 * 3_600_000)
    other = runtime.store.acquire_lease(LEASE, "another-worker", clock.now_ms(), 60_000)
    assert other and scheduler.run_due() == [] and seen == []  # no lease: neither the report nor retention
    runtime.store.release_lease(LEASE, "another-worker")
    assert scheduler.run_due() == ["nightly-2026-01-01", "nightly-2026-01-02"]
    assert seen == [(clock.now_ms(), scheduler.holder, True)]  # once, after the reports, holding the lease (renewable)
    scheduler.after = lambda now, keep: 1 / 0  # a failing retention leaves the stored reports alone
    clock.advance(86_400)
    assert scheduler.run_due() == ["nightly-2026-01-03"]
