"""The spool and the durable log in one process; the same with real
processes and signals is tests/system/test_durability.py.

The store here is an nx-27017 server of the test's own, stopped and started again on the
same port and data: a real outage, not a mock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.core.errors import SpoolFull, StoreUnavailable
from service.log.spool import Spool
from service.store import EmbeddedMongo
from tests.helpers import slate_request


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[EmbeddedMongo]:
    server = EmbeddedMongo(tmp_path / "own-store").start()
    yield server
    server.stop()


def test_spool_appends_durably_skips_a_torn_tail_and_is_bounded(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", max_bytes=600)
    spool.append("decision", {"_id": "e1", "kind": "slate", "t": 1})
    spool.append("outcome", {"_id": "e1/o", "event_id": "e1", "t": 2}, unchecked=True)
    assert spool.depth() == 2 and spool.local_decision("e1") == {"_id": "e1", "kind": "slate", "t": 1}
    segments = list((tmp_path / "s").glob("seg-*.jsonl"))
    assert len(segments) == 1
    with open(segments[0], "ab") as handle:  # what kill -9 in the middle of a write leaves
        handle.write(b'{"k": "decision", "doc": {"_id": "torn"')
    with pytest.raises(SpoolFull):
        spool.append("decision", {"_id": "big", "pad": "x" * 600})
    spool.close()

    reopened = Spool(tmp_path / "s", max_bytes=600)  # a restart sees what is on disk
    assert reopened.depth() == 3  # two records and the torn line, until shipped
    seen: list[dict[str, Any]] = []
    assert reopened.ship(seen.append) == 2
    assert [r["doc"]["_id"] for r in seen] == ["e1", "e1/o"] and seen[1]["unchecked"] is True
    assert reopened.depth() == 0 and not list((tmp_path / "s").glob("seg-*.jsonl"))


def test_a_failed_shipment_keeps_the_segment_and_a_retry_inserts_nothing_twice(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", max_bytes=1 << 20)
    for i in range(5):
        spool.append("decision", {"_id": f"e{i}"})
    inserted: set[str] = set()
    calls = {"n": 0}

    def flaky(record: dict[str, Any]) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise StoreUnavailable("gone again")
        inserted.add(record["doc"]["_id"])  # a set: an idempotent insert by id

    with pytest.raises(StoreUnavailable):
        spool.ship(flaky)
    assert spool.depth() == 5 and inserted == {"e0", "e1"}
    assert spool.ship(flaky) == 5 and inserted == {f"e{i}" for i in range(5)} and spool.depth() == 0


def test_decisions_and_outcomes_survive_an_outage_and_arrive_once(make_app: Any, own_store: EmbeddedMongo) -> None:
    app = make_app(MONGO_URI=own_store.uri, STORE_TIMEOUT_MS=400, SPOOL_RETRY_S=3600)  # ships only when told
    client, runtime = app.test_client(), app.extensions["elicit"]
    first = client.post("/v1/slates", json=slate_request(user="u1", event_id="before")).get_json()
    own_store.stop()

    acked = []
    for i in range(8):
        response = client.post("/v1/slates", json=slate_request(user=f"u{i}", event_id=f"during{i}"))
        assert response.status_code == 201
        acked.append(response.get_json())
    anonymous = client.post("/v1/slates", json=slate_request(user="anon"))
    assert anonymous.status_code == 201
    acked.append(anonymous.get_json())
    # outcomes: one of a spooled decision (checked against the spool), one of a stored one (unchecked)
    spooled_outcome = client.post("/v1/slates/during0/outcomes",
                                  json={"outcomes": [{"item_id": acked[0]["slate"][0]["item_id"], "type": "consume"}],
                                        "outcome_id": "o1"})
    assert spooled_outcome.status_code == 202 and spooled_outcome.get_json()["spooled"] is True
    unchecked = client.post("/v1/slates/before/outcomes",
                            json={"outcomes": [{"item_id": first["slate"][0]["item_id"], "type": "consume"}], "outcome_id": "o2"})
    assert unchecked.status_code == 202 and unchecked.get_json()["in_window"] is False
    assert client.post("/v1/slates/during0/outcomes", json={"outcomes": [{"item_id": "not-served", "type": "click"}]}
                       ).status_code == 422  # checked against the spooled decision
    replay = client.post("/v1/slates", json=slate_request(user="u3", event_id="during3"))
    assert replay.status_code == 200 and replay.get_json() == acked[3]  # replays come from the spool too
    assert client.get("/readyz").get_json()["spool"] == 11
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'elicit_decisions_total{durable="spool",kind="slate"}' in metrics
    assert "elicit_spool_depth 11.0" in metrics and "elicit_store_up 0.0" in metrics

    own_store.start()
    assert runtime.log.ship_once() == 11
    assert runtime.log.ship_once() == 0 and runtime.spool.depth() == 0
    ids = [a["event_id"] for a in acked]
    assert runtime.store.count_decisions({"_id": {"$in": ids}}) == len(ids) == 9
    assert runtime.store.count_decisions() == 10  # "before" + 9: none twice
    stored = runtime.store.get_decision("during2")
    assert stored["degraded"] is True and stored["chosen"][0]["probability"] > 0
    outcomes = runtime.store.outcomes_for(["during0", "before"])
    assert [o["_id"] for o in outcomes["during0"]] == ["during0/o1"] and [o["_id"] for o in outcomes["before"]] == ["before/o2"]
    # the side effects the outage skipped were applied when shipped: exposure and consumption
    user_state = runtime.user_state.users.get(stored["user"])
    assert user_state.get("exp_cat") and runtime.user_state.users.get(runtime.store.get_decision("during0")["user"]).get("consumed")
    assert json.loads(client.get("/readyz").get_data())["spool"] == 0


def test_a_full_spool_is_a_clear_503(make_app: Any, own_store: EmbeddedMongo) -> None:
    app = make_app(MONGO_URI=own_store.uri, STORE_TIMEOUT_MS=400, SPOOL_RETRY_S=3600, SPOOL_MAX_BYTES=9000)
    client, runtime = app.test_client(), app.extensions["elicit"]
    client.get("/v1/reports")  # the key is verified (and cached) while the store is up
    own_store.stop()
    statuses = [client.post("/v1/slates", json=slate_request(user=f"u{i}", event_id=f"f{i}")).status_code for i in range(12)]
    assert statuses[0] == 201 and statuses[-1] == 503 and set(statuses) == {201, 503}
    full = client.post("/v1/slates", json=slate_request(event_id="late"))
    assert full.get_json()["error"] == "spool_full" and full.headers["Retry-After"] == "5"
    acked = [f"f{i}" for i, status in enumerate(statuses) if status == 201]
    own_store.start()
    runtime.log.ship_once()
    assert runtime.store.count_decisions() == len(acked)  # the refused ones were never written anywhere


def test_graceful_shutdown_ships_the_spool(make_app: Any, own_store: EmbeddedMongo) -> None:
    app = make_app(MONGO_URI=own_store.uri, STORE_TIMEOUT_MS=400, SPOOL_RETRY_S=3600)
    client, runtime = app.test_client(), app.extensions["elicit"]
    client.get("/v1/reports")
    own_store.stop()
    for i in range(5):
        assert client.post("/v1/slates", json=slate_request(event_id=f"g{i}")).status_code == 201
    own_store.start()
    assert runtime.log.close(flush_s=10) == 0  # what Runtime.close() (SIGTERM of elicit serve) runs first
    assert runtime.store.count_decisions({"_id": {"$in": [f"g{i}" for i in range(5)]}}) == 5
