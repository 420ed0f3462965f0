"""Group commit (service/log/group_commit.py) through the durable log, on the real store.

Each test holds a batch open until it is full (a long linger and ``batch_max`` = the number
of requests), so which documents share a write is decided by the test, not by timing; the
store's batch write is wrapped to count its calls and to hold them at a gate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.core.errors import StoreUnavailable
from service.log.durable import DurableLog
from service.log.spool import Spool
from service.store import Store

WAIT_S = 30.0  # generous bounds on waits that end as soon as the event happens; never a timing assertion


def durable(store: Store, tmp_path: Path, batch: int) -> DurableLog:
    # Lingers far longer than any test runs: a batch is written when it holds ``batch`` documents.
    return DurableLog(store, Spool(tmp_path / "spool", 1 << 20), linger_s=3600.0, batch_max=batch)


def gated(store: Store, write: Callable[[list[dict[str, Any]]], Any]) -> tuple[list[list[str]], threading.Event, threading.Event]:
    """Wrap ``store.insert_decisions``: record each call's event ids, signal ``entered``, wait for ``gate``."""
    calls: list[list[str]] = []
    entered, gate = threading.Event(), threading.Event()

    def wrapper(docs: list[dict[str, Any]]) -> Any:
        calls.append([doc["_id"] for doc in docs])
        entered.set()
        assert gate.wait(WAIT_S)
        return write(docs)

    store.insert_decisions = wrapper  # type: ignore[method-assign]
    return calls, entered, gate


def decision(event_id: str, user: str = "u") -> dict[str, Any]:
    return {"_id": event_id, "kind": "prompt", "user": user, "t": 1, "ask": False}


def in_threads(log: DurableLog, docs: list[dict[str, Any]]) -> tuple[list[threading.Thread], dict[str, Any]]:
    answers: dict[str, Any] = {}

    def request(index: int, doc: dict[str, Any]) -> None:
        answers[f"{index}:{doc['_id']}"] = log.insert_decision(doc)

    threads = [threading.Thread(target=request, args=(i, doc)) for i, doc in enumerate(docs)]
    for thread in threads:
        thread.start()
    return threads, answers


def test_a_batch_is_answered_after_its_one_acknowledged_write_and_not_before(store: Store, tmp_path: Path) -> None:
    calls, entered, gate = gated(store, store.insert_decisions)
    log = durable(store, tmp_path, batch=6)
    threads, answers = in_threads(log, [decision(f"e{i}") for i in range(6)])
    assert entered.wait(WAIT_S)
    assert answers == {} and store.count_decisions() == 0  # the write is held: nobody has an answer
    gate.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert len(calls) == 1 and sorted(calls[0]) == [f"e{i}" for i in range(6)]  # one write for the six requests
    assert sorted(answers.values()) == [(None, False)] * 6  # each inserted, none spooled
    assert store.count_decisions() == 6 and log.spool.depth() == 0


def test_a_failed_batch_write_spools_every_document_in_it(store: Store, tmp_path: Path) -> None:
    def unreachable(docs: list[dict[str, Any]]) -> Any:
        raise StoreUnavailable("the store cannot be reached (test)")

    calls, _, gate = gated(store, unreachable)
    gate.set()
    log = durable(store, tmp_path, batch=4)
    threads, answers = in_threads(log, [decision(f"f{i}") for i in range(4)])
    for thread in threads:
        thread.join(WAIT_S)
    assert len(calls) == 1 and len(calls[0]) == 4
    assert sorted(answers.values()) == [(None, True)] * 4  # each answered as spooled
    assert log.spool.depth() == 4 and store.count_decisions() == 0
    assert [log.spool.local_decision(f"f{i}")["_id"] for i in range(4)] == [f"f{i}" for i in range(4)]
    assert log.down


def test_a_replayed_event_id_inside_a_batch_answers_as_a_replay(store: Store, tmp_path: Path) -> None:
    store.insert_decision(decision("old", user="first"))
    calls, _, gate = gated(store, store.insert_decisions)
    gate.set()
    log = durable(store, tmp_path, batch=4)
    # Twice the same new event id in one batch, an id stored before, and a fresh one.
    docs = [decision("twice", user="a"), decision("twice", user="b"), decision("old", user="c"), decision("new")]
    threads, answers = in_threads(log, docs)
    for thread in threads:
        thread.join(WAIT_S)
    assert len(calls) == 1 and len(calls[0]) == 4
    twice = [answers["0:twice"], answers["1:twice"]]
    inserted = [doc for (existing, _), doc in zip(twice, docs[:2]) if existing is None]
    replays = [existing for existing, _ in twice if existing is not None]
    assert len(inserted) == 1 and len(replays) == 1  # one wins, the other is told what was stored
    assert replays[0]["user"] == inserted[0]["user"] == store.get_decision("twice")["user"]
    assert answers["2:old"][0]["user"] == "first"  # stored before this batch: a replay
    assert answers["3:new"] == (None, False)
    assert store.count_decisions() == 3 and log.spool.depth() == 0


def test_a_batch_of_outcomes_records_each_once(store: Store, tmp_path: Path) -> None:
    log = durable(store, tmp_path, batch=3)
    answers: list[tuple[bool, bool]] = []
    docs = [{"_id": f"d/{name}", "event_id": "d", "kind": "slate", "t": 1, "outcomes": []} for name in ("a", "a", "b")]
    threads = [threading.Thread(target=lambda doc=doc: answers.append(log.insert_outcome(doc))) for doc in docs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert sorted(answers) == [(False, False), (True, False), (True, False)]  # the repeated key: a duplicate
    assert len(store.outcomes_for(["d"])["d"]) == 2
