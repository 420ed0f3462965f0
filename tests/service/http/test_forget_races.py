"""Forgetting holds through what is still on its way: another worker's queued state writes,
and decisions a worker spooled while the store was unreachable (shipped after the delete).

Two apps on one database are two workers; the store is the real one, over the wire. The
spool case is also run with real processes (tests/system/test_faults.py).
"""

from __future__ import annotations

import threading
from typing import Any

from service.core.pseudonyms import user_key
from service.store.privacy import TOMBSTONE
from tests.helpers import slate_request
from tests.service.http.test_privacy import dump_store

USER = "carol-leaves"


def test_state_writes_queued_in_another_worker_do_not_bring_a_forgotten_user_back(make_app: Any, clock: Any) -> None:
    first, second = make_app(), make_app()
    key = user_key(str(first.config["SECRET"]), USER)
    worker = first.extensions["elicit"]
    real_write, gate, queued = worker.state_writer._write, threading.Event(), threading.Event()

    def held(batch: Any) -> None:  # the first worker's writer is slow: its batch is still queued
        queued.set()
        gate.wait(30)
        real_write(batch)

    worker.state_writer._write = held
    assert first.test_client().post("/v1/slates", json=slate_request(6, 2, user=USER)).status_code == 201
    assert queued.wait(30)  # the exposure update is in the writer, not yet in the store
    assert second.test_client().delete(f"/v1/users/{USER}").status_code == 200  # through the other worker
    gate.set()
    assert worker.state_writer.flush(30)
    assert worker.store.get_user(key) is None  # the queued write was dropped: the tombstone is newer
    assert key not in dump_store(worker)
    # The user comes back later: new activity is theirs again.
    clock.advance(60)
    worker.state_writer._write = real_write
    assert first.test_client().post("/v1/slates", json=slate_request(6, 2, user=USER)).status_code == 201
    assert worker.state_writer.flush(30) and worker.store.get_user(key) is not None


def test_decisions_spooled_before_a_user_was_forgotten_ship_linked_to_no_one(make_app: Any, clock: Any) -> None:
    first, second = make_app(), make_app()
    key = user_key(str(first.config["SECRET"]), USER)
    worker = first.extensions["elicit"]
    client = first.test_client()
    assert client.post("/v1/slates", json=slate_request(6, 2, user=USER, event_id="stored")).status_code == 201
    worker.log.mark_down(RuntimeError("the store is unreachable from this worker"))
    for i in range(4):  # acknowledged from the spool, fsync'd
        response = client.post("/v1/slates", json=slate_request(6, 2, user=USER, event_id=f"spooled-{i}"))
        assert response.status_code == 201
    assert worker.spool.depth() == 4
    clock.advance(1)
    assert second.test_client().delete(f"/v1/users/{USER}").status_code == 200  # another worker reaches the store
    assert worker.log.ship_once() == 4
    store = worker.store
    assert store.count_decisions({"user": key}) == 0
    assert store.count_decisions({"user": TOMBSTONE}) == 5  # stored and shipped alike: kept for learning, no one's
    assert store.get_user(key) is None and key not in dump_store(worker)
