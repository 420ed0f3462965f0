"""``elicit retention`` and what ``--from-archive`` needs: the archived log as a source.

``elicit ope --from-archive DIR`` reads the archived decisions directly (the same records
``elicit ope`` reads from the store, filtered the same way). ``elicit report --from-archive
DIR`` restores the window's archived decisions, outcomes and feedback into a scratch
database on the same server, builds the report there with the live models (the model
live at the window's start, as always), and drops the scratch database.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from service.cli.offline import offline_runtime

DAY_MS = 86_400_000


def archived_decisions(directory: str, kind: str, since_ms: int, until_ms: int) -> Callable[[], Iterable[Mapping[str, Any]]]:
    """A re-readable source of the archived decisions ``elicit ope`` values (as
    :func:`service.log.decisions.evaluation_query` selects them in the store)."""
    from service.evaluate.archive import read_archive
    from service.log.decisions import evaluated

    def read() -> Iterable[Mapping[str, Any]]:
        for doc in read_archive(Path(directory), "decisions", since_ms, until_ms):
            if doc.get("kind") == kind and evaluated(doc):
                yield doc

    return read


def report_from_archive(runtime: Any, directory: str, since_ms: int, until_ms: int, progress: Any) -> dict[str, Any]:
    """The report over the archived window, built in a scratch database."""
    from service.evaluate.archive import read_archive
    from service.evaluate.targets import POPULARITY_LOOKBACK_DAYS
    from service.reports import build_report
    from service.store import Store
    from service.store.retention import RetentionStore
    from service.store.state import SlateHistoryStore

    scratch = Store(runtime.store.uri, f"{runtime.config['DB']}_archive_{uuid.uuid4().hex[:8]}",
                    timeout_ms=int(runtime.config["STORE_TIMEOUT_MS"]))
    try:
        scratch.ensure_indexes()
        restore = RetentionStore(scratch)
        root = Path(directory)
        forget = Forgetting(runtime.privacy.forgotten_at)
        decisions = read_archive(root, "decisions", since_ms - DAY_MS, until_ms)  # likes of the day before: berserk
        restore.restore("decisions", forget.decisions(decisions))
        restore.restore("outcomes", read_archive(root, "outcomes", since_ms - POPULARITY_LOOKBACK_DAYS * DAY_MS, until_ms))
        restore.restore("feedback", forget.feedback(read_archive(root, "feedback", since_ms - DAY_MS, until_ms)))
        sources = replace(runtime.report_sources, store=scratch, history=SlateHistoryStore(scratch.db))
        return build_report(sources, since_ms, until_ms, progress=progress)
    finally:
        scratch.drop_database()
        scratch.close()


class Forgetting:
    """``DELETE /v1/users/<id>`` applied to archived documents as they are read back: the
    archive files keep the pseudonymous key, but nothing elicit builds from them links a
    forgotten user (decisions get the tombstone, feedback is dropped — as in the store)."""

    def __init__(self, forgotten_at: Callable[[Iterable[str]], Mapping[str, int]], batch: int = 1000) -> None:
        self.forgotten_at = forgotten_at
        self.batch = batch

    def _apply(self, docs: Iterable[dict[str, Any]], drop: bool) -> Iterable[dict[str, Any]]:
        from itertools import islice

        from service.store.privacy import TOMBSTONE

        iterator = iter(docs)
        while batch := list(islice(iterator, self.batch)):
            gone = self.forgotten_at({str(doc.get("user")) for doc in batch if doc.get("user")})
            for doc in batch:
                if doc.get("user") in gone and int(doc.get("t", 0)) <= gone[doc["user"]]:  # made before the forgetting
                    if drop:
                        continue
                    doc = {**doc, "user": TOMBSTONE}
                yield doc

    def decisions(self, docs: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        return self._apply(docs, drop=False)

    def feedback(self, docs: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        return self._apply(docs, drop=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print what was archived and deleted as JSON.")
def retention(as_json: bool) -> None:
    """Archive every expired day (RETENTION_DAYS, FEEDBACK_RETENTION_DAYS) to ARCHIVE_DIR,
    verify it, and delete it from the store — now, under the nightly job's lease."""
    from service.reports.scheduler import LEASE

    runtime = offline_runtime()
    try:
        now = runtime.clock.now_ms()
        holder = f"elicit-retention-{uuid.uuid4().hex[:8]}"
        lease_ms = int(float(runtime.config["REPORT_LEASE_S"]) * 1000)
        if not runtime.store.acquire_lease(LEASE, holder, now, lease_ms):
            raise click.ClickException("the nightly job holds its lease (a report or retention is running); try later")
        try:
            renew = lambda: runtime.store.renew_lease(LEASE, holder, runtime.clock.now_ms(), lease_ms)  # noqa: E731
            done = [result.as_dict() for result in runtime.retention.run(now, renew)]
        finally:
            runtime.store.release_lease(LEASE, holder)
        directory = runtime.retention.policy.directory
    finally:
        runtime.close()
    if as_json:
        click.echo(json.dumps({"archive": str(directory), "days": done}, indent=2))
        return
    for day in done:
        click.echo(f"{day['day']} {day['unit']}: archived {day['archived']}, deleted {day['deleted']}")
    click.echo(f"{len(done)} day(s) archived to {directory}")
