"""Retention: 100 days of decisions under a manual clock; the job keeps the last 90 in the
store, the archive holds the rest (and values the same off-policy), and a job killed -9
between archiving and deleting loses nothing and duplicates nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from service.cli.main import main
from service.evaluate.archive import parts, read_archive
from service.evaluate.retention import Retention, RetentionPolicy
from service.reports import build_report
from service.store.retention import RetentionStore
from tests.helpers import ROOT, candidates

DAY = 86_400_000
DAYS, PER_DAY, KEPT = 100, 3, 90
EXPIRED = DAYS - KEPT


def make_days(app: Any, clock: Any) -> int:
    """``PER_DAY`` learned slate decisions with an outcome each on each of ``DAYS`` days,
    and a like per day (explicit feedback); returns the first day's start."""
    client, runtime = app.test_client(), app.extensions["elicit"]
    start = clock.now_ms() // DAY * DAY
    pool = [{"id": c["id"], "features": c["features"]} for c in candidates(6)]
    for day in range(DAYS):
        for i in range(PER_DAY):
            body = client.post("/v1/slates", json={"user_id": f"u{day}-{i}", "candidates": pool, "slots": 2}).get_json()
            item = body["slate"][0]["item_id"]
            kind = "consume" if item in ("f0", "f1") else "skip"
            client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": [{"item_id": item, "type": kind}]})
            clock.advance(3600)
        client.post("/v1/feedback", json={"user_id": f"u{day}-0", "item_id": "f0", "value": "up", "visibility": "public"})
        clock.set(start + (day + 1) * DAY)
        if day % 25 == 24:
            runtime.learner.run_once()
    runtime.learner.run_once()
    return start


@pytest.fixture
def logged(make_app: Any, clock: Any, tmp_path: Path) -> tuple[Any, int]:
    app = make_app(ARCHIVE_DIR=str(tmp_path / "archive"), FEEDBACK_RETENTION_DAYS=95)
    return app, make_days(app, clock)


@pytest.fixture
def copied(make_app: Any, clock: Any, tmp_path: Path) -> tuple[Any, int]:
    """The same 100 days, fast: one day through the API, its stored decisions and outcomes
    copied to the other 99 days (new ids, times shifted by whole days)."""
    app = make_app(ARCHIVE_DIR=str(tmp_path / "archive"))
    client, store = app.test_client(), app.extensions["elicit"].store
    start = clock.now_ms() // DAY * DAY
    pool = [{"id": c["id"], "features": c["features"]} for c in candidates(6)]
    for i in range(PER_DAY):
        body = client.post("/v1/slates", json={"user_id": f"u{i}", "candidates": pool, "slots": 2}).get_json()
        client.post(f"/v1/slates/{body['event_id']}/outcomes",
                    json={"outcomes": [{"item_id": body["slate"][0]["item_id"], "type": "consume"}]})
        clock.advance(3600)
    decisions, outcomes = list(store.decisions.find({})), list(store.db["outcomes"].find({}))
    for day in range(1, DAYS):
        shift = day * DAY
        store.decisions.insert_many([{**d, "_id": f"{d['_id']}-{day}", "t": d["t"] + shift} for d in decisions])
        store.db["outcomes"].insert_many([{**o, "_id": f"{o['_id']}-{day}", "event_id": f"{o['event_id']}-{day}",
                                           "t": o["t"] + shift} for o in outcomes])
    return app, start


def _ope(runner: Any, *args: str) -> list[dict[str, Any]]:
    result = runner.invoke(main, ["ope", "--json", "--policy", "logged", "--policy", "uniform", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_job_keeps_90_days_archives_the_rest_and_the_archive_values_the_same(
        logged: tuple[Any, int], clock: Any, runner: Any, tmp_path: Path) -> None:
    app, start = logged
    runtime = app.extensions["elicit"]
    store = runtime.store
    window = ["--since", str(start), "--until", str(start + EXPIRED * DAY)]
    before = _ope(runner, *window)
    assert before[0]["decisions"] == EXPIRED * PER_DAY  # every expired decision was learned: all are valued
    old_ids = {d["_id"] for d in store.iter_decisions({"t": {"$lt": start + EXPIRED * DAY}})}
    outcomes_before = store.db["outcomes"].count_documents({})
    # a nightly report over an expired day: its pooled evidence must outlive the decisions
    night = build_report(runtime.report_sources, start + 3 * DAY, start + 4 * DAY, kind="nightly", report_id="nightly-old")
    assert store.insert_report(night)

    clock.set(start + DAYS * DAY + 2 * 3_600_000)  # the night after day 100, at REPORT_HOUR
    done = runtime.retention.run()

    assert [r.day for r in done if r.unit == "log"][0] == "2026-01-01" and len([r for r in done if r.unit == "log"]) == EXPIRED
    remaining = list(store.iter_decisions({"t": {"$gte": 0}}))
    assert len(remaining) == KEPT * PER_DAY and min(d["t"] for d in remaining) >= start + EXPIRED * DAY
    archived = list(read_archive(tmp_path / "archive", "decisions"))
    assert {d["_id"] for d in archived} == old_ids and len(archived) == len(old_ids)
    assert len(list(read_archive(tmp_path / "archive", "outcomes"))) + store.db["outcomes"].count_documents({}) == outcomes_before
    # feedback has its own retention (95 days here): 5 days of likes archived, 95 kept
    assert store.count_feedback() == 95 and len(list(read_archive(tmp_path / "archive", "feedback"))) == 5
    assert _ope(runner, *window, "--from-archive", str(tmp_path / "archive")) == before
    gone = runner.invoke(main, ["ope", *window])  # and they are gone from the store
    assert gone.exit_code == 1 and "no joined, activated decisions" in gone.output

    # the report on the archived day equals the one built from the store before deletion
    page = tmp_path / "from-archive.json"
    result = runner.invoke(main, ["report", "--since", str(start + 3 * DAY), "--until", str(start + 4 * DAY),
                                  "--from-archive", str(tmp_path / "archive"), "--json", str(page)],
                           env={"ELICIT_SEED": "1234"})  # the app's: the replay sample's seed depends on it
    assert result.exit_code == 0, result.output
    assert json.loads(page.read_text())["sections"] == json.loads(json.dumps(night["sections"], default=str))
    # the old night's evidence is still pooled by a night built after the deletion
    late = build_report(runtime.report_sources, start + 98 * DAY, start + 99 * DAY, kind="nightly", report_id="nightly-late")
    pooled_nights = {entry["night"] for figure in late["cumulative"].values() for entry in figure["series"]}
    assert "nightly-old" in pooled_nights
    # a second run has nothing to do
    assert runtime.retention.run() == []


KILLER = """
import os, signal, sys
from pathlib import Path
from service.core.clock import ManualClock
from service.evaluate.retention import Retention, RetentionPolicy
from service.store import Store
from service.store.retention import RetentionStore

uri, db, archive, now, stop_at = sys.argv[1:]

def checkpoint(event, day):
    if event == stop_at:
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9: no cleanup, no flush, no finally

store = Store(uri, db)
Retention(RetentionStore(store), RetentionPolicy({"log": 90, "feedback": 0}, Path(archive)),
          ManualClock(int(now)), checkpoint).run()
"""


@pytest.mark.parametrize("stop_at", ["archived", "deleted:decisions"])
def test_a_job_killed_between_archive_and_delete_loses_and_duplicates_nothing(
        copied: tuple[Any, int], mongo_uri: str, db_name: str, tmp_path: Path, stop_at: str) -> None:
    """A real process killed with SIGKILL at an injected point: after the first day's part is
    complete (``archived``: nothing deleted yet) or half-way through deleting it
    (``deleted:decisions``: its outcomes still in the store). The next run finishes the job."""
    app, start = copied
    store = app.extensions["elicit"].store
    archive = tmp_path / "killed"
    now = start + DAYS * DAY + 2 * 3_600_000
    old = {d["_id"] for d in store.iter_decisions({"t": {"$lt": start + EXPIRED * DAY}})}
    old_outcomes = {d["_id"] for d in store.db["outcomes"].find({"t": {"$lt": start + EXPIRED * DAY}})}
    killed = subprocess.run([sys.executable, "-c", KILLER, mongo_uri, db_name, str(archive), str(now), stop_at],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert len(parts(archive, "2026-01-01", "log")) == 1 and not parts(archive, "2026-01-02", "log")
    assert store.count_decisions({"t": {"$lt": start + DAY}}) == (PER_DAY if stop_at == "archived" else 0)

    clock = type(app.extensions["elicit"].clock)(now)
    Retention(RetentionStore(store), RetentionPolicy({"log": 90, "feedback": 0}, archive), clock).run()

    decisions = [d["_id"] for d in read_archive(archive, "decisions")]
    outcomes = [d["_id"] for d in read_archive(archive, "outcomes")]
    assert sorted(decisions) == sorted(old) and len(set(decisions)) == len(decisions)  # all, once each
    assert sorted(outcomes) == sorted(old_outcomes) and len(set(outcomes)) == len(outcomes)
    assert len(parts(archive, "2026-01-01", "log")) == 1  # the rerun reused the part: no second copy
    assert store.count_decisions({"t": {"$lt": start + EXPIRED * DAY}}) == 0
    assert store.db["outcomes"].count_documents({"t": {"$lt": start + EXPIRED * DAY}}) == 0


def test_a_user_forgotten_after_archiving_is_linked_to_no_one_in_what_is_built_from_the_archive(
        make_app: Any, clock: Any, tmp_path: Path) -> None:
    from service.cli.archive_commands import Forgetting
    from service.store.privacy import TOMBSTONE

    app = make_app()
    runtime = app.extensions["elicit"]
    app.test_client().post("/v1/feedback", json={"user_id": "alice", "item_id": "m1", "value": "up", "visibility": "private"})
    app.test_client().post("/v1/feedback", json={"user_id": "bob", "item_id": "m1", "value": "up", "visibility": "private"})
    archived = list(runtime.store.feedback.find({}))  # what an archive of the day holds
    assert app.test_client().delete("/v1/users/alice").status_code == 200
    kept = list(Forgetting(runtime.privacy.forgotten_at).feedback(archived))
    decisions = list(Forgetting(runtime.privacy.forgotten_at).decisions([{**doc, "kind": "slate"} for doc in archived]))
    assert len(archived) == 2 and len(kept) == 1 and kept[0]["user"] != TOMBSTONE
    assert sorted(d["user"] == TOMBSTONE for d in decisions) == [False, True]


def test_a_run_that_lost_its_lease_stops_before_the_next_day(copied: tuple[Any, int], tmp_path: Path) -> None:
    app, start = copied
    runtime = app.extensions["elicit"]
    answers = iter([True, True, False])  # the lease holds for two days, then is lost
    done = runtime.retention.run(start + DAYS * DAY + 2 * 3_600_000, keep=lambda: next(answers))
    assert [r.day for r in done] == ["2026-01-01", "2026-01-02"]
    assert runtime.store.count_decisions({"t": {"$lt": start + 2 * DAY}}) == 0
    assert runtime.store.count_decisions({"t": {"$lt": start + 3 * DAY}}) == PER_DAY  # day 3 left for the holder
