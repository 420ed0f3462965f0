"""Hostile input and faults against real processes (``elicit store``, ``elicit serve``).

* The store process killed with ``kill -9`` under load, then restarted: every acknowledged
  decision and outcome is in it, none twice.
* A user forgotten while a worker's spool still holds their decisions (shipped after the
  delete), or while another worker still has their state writes queued: they stay
  forgotten, and nothing of them is left in any collection or spool.
* Requests that once answered 500 or never answered — NUL in a key or an id, a trillion
  slots — answer 422 naming the field, at once; a backend sending from four threads with
  one key under the default configuration is never throttled, while a key with its own
  limit gets 429 with Retry-After, its bucket refills, and nothing is logged when refused.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from service.core.pseudonyms import user_key
from service.store.privacy import TOMBSTONE
from tests.helpers import ROOT, slate_request, wait_for
from tests.system.test_durability import Cluster, Load, stored_ids

USER = "dana-asks-to-be-forgotten"
SECRET = "elicit-development-secret"


def kill_store(cluster: Cluster) -> None:
    """``kill -9`` of the store: the ``elicit store`` process and its nx-27017 child together."""
    assert cluster.store_proc is not None
    os.killpg(cluster.store_proc.pid, signal.SIGKILL)
    cluster.store_proc.wait()
    cluster.store_proc = None

    def port_free() -> bool:  # the killed nx-27017 child is gone once nothing listens on its port
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", cluster.port)) != 0

    wait_for(port_free, "the killed store to release its port")


@pytest.mark.slow
def test_kill_9_of_the_store_under_load_loses_nothing_acknowledged_and_doubles_nothing(cluster: Cluster) -> None:
    cluster.start_service()
    load = Load(cluster, outcomes=True)
    load.wait_acks(60)
    kill_store(cluster)  # mid-write: requests in flight get the spool, or a 503
    load.wait_acks(40)  # acknowledged from the spool meanwhile
    cluster.start_store()  # the same files: whatever the store acknowledged is in them
    load.wait_acks(40)
    load.finish()
    wait_for(lambda: (lambda r: r[0] == 200 and r[1]["spool"] == 0)(cluster.get("/readyz")), "the spool to drain", 60)
    acked, outcomes = list(load.acked), list(load.outcomes_acked)
    assert set(load.statuses) <= {201, 503} and load.errors == 0
    store = cluster.store()
    try:
        assert stored_ids(cluster, acked) == len(acked) == len(set(acked))
        assert store.count_decisions() == len(acked)  # none twice, nothing that was not acknowledged
        assert store.outcomes.count_documents({"_id": {"$in": outcomes}}) == len(outcomes)
        assert store.outcomes.count_documents({}) == len(outcomes)
    finally:
        store.close()
    print(f"kill -9 of the store: {len(acked)} decisions and {len(outcomes)} outcomes acknowledged, all present once; "
          f"statuses {load.statuses}")


def make_key(cluster: Cluster, scope: str, *options: str) -> str:
    made = subprocess.run([sys.executable, "-m", "service.cli.main", "keys", "create", "--scope", scope, *options],
                          cwd=ROOT, env=cluster.env, text=True, capture_output=True, timeout=60)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


def second_service(cluster: Cluster) -> tuple[subprocess.Popen[str], str]:
    """Another ``elicit serve`` on the same store and spool directory: another worker."""
    proc = cluster.cli("serve", "--port", "0")
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "serving on" in line, line
    return proc, line.split("serving on ")[1].strip()


@pytest.mark.slow
def test_a_user_forgotten_while_a_spool_holds_their_decisions_stays_forgotten(cluster: Cluster) -> None:
    admin = make_key(cluster, "admin")
    # The first worker ships its spool only when it shuts down (its shipper never wakes).
    cluster.start_service(ELICIT_SPOOL_RETRY_S="3600")
    cluster.env["ELICIT_SPOOL_RETRY_S"] = "0.2"  # for the second worker
    body = lambda i: {"user_id": USER, "candidates": [{"id": "a"}, {"id": "b"}], "slots": 1, "event_id": f"e{i}"}  # noqa: E731
    assert cluster.request("POST", "/v1/slates", body(0))[0] == 201
    cluster.stop_store()
    for i in range(1, 6):
        status, answer = cluster.request("POST", "/v1/slates", body(i))
        assert status == 201, answer  # acknowledged from the spool
    cluster.start_store()
    other, url = second_service(cluster)
    first_url, decide_key = cluster.url, cluster.key
    cluster.url, cluster.key = url, admin
    wait_for(lambda: cluster.get("/readyz")[0] == 200, "the second worker")
    status, forgotten = cluster.request("DELETE", f"/v1/users/{USER}")
    assert status == 200 and forgotten["decisions"] == 1, forgotten  # the one that reached the store
    cluster.url, cluster.key = first_url, decide_key
    assert cluster.service is not None
    cluster.service.send_signal(signal.SIGTERM)  # graceful shutdown ships the spool: after the delete
    assert cluster.service.wait(timeout=60) == 0
    key = user_key(SECRET, USER)
    store = cluster.store()
    try:
        assert store.count_decisions({"_id": {"$in": [f"e{i}" for i in range(6)]}}) == 6  # nothing acknowledged lost
        assert store.count_decisions({"user": key}) == 0 and store.count_decisions({"user": TOMBSTONE}) == 6
        assert store.get_user(key) is None
        everything = "\n".join(repr(doc) for name in store.db.list_collection_names() if not name.startswith("modelblobs")
                               for doc in store.db[name].find())
        assert key not in everything and USER not in everything
    finally:
        store.close()
    spooled = "".join(path.read_text() for path in (cluster.tmp / "spool").glob("seg-*.jsonl"))
    assert USER not in spooled and key not in spooled
    other.send_signal(signal.SIGTERM)
    other.wait(timeout=60)


def scan(cluster: Cluster, *needles: str) -> list[str]:
    """Which of ``needles`` appear anywhere in the store (model blobs aside: no user data)."""
    store = cluster.store()
    try:
        everything = "\n".join(repr(doc) for name in store.db.list_collection_names() if not name.startswith("modelblobs")
                               for doc in store.db[name].find())
    finally:
        store.close()
    return [needle for needle in needles if needle in everything]


@pytest.mark.slow
def test_a_user_forgotten_while_another_worker_has_their_state_writes_queued_stays_forgotten(cluster: Cluster) -> None:
    admin = make_key(cluster, "admin")
    # The first worker holds its satiation writes for 4 s (a group-commit window): they are
    # still queued in it when the second worker forgets the user.
    cluster.start_service(ELICIT_STATE_WRITE_LINGER_S="4")
    cluster.env["ELICIT_STATE_WRITE_LINGER_S"] = "0"
    stays = "erin-stays"
    for user in (USER, stays):
        status, answer = cluster.request("POST", "/v1/slates", slate_request(6, 2, user=user))
        assert status == 201, answer
    forgotten_key, staying_key = user_key(SECRET, USER), user_key(SECRET, stays)
    other, url = second_service(cluster)
    first_url, decide_key = cluster.url, cluster.key
    cluster.url, cluster.key = url, admin
    wait_for(lambda: cluster.get("/readyz")[0] == 200, "the second worker")
    store = cluster.store()
    try:
        assert store.get_user(staying_key) is None  # the first worker's batch is still queued
        status, forgotten = cluster.request("DELETE", f"/v1/users/{USER}")
        assert status == 200 and forgotten["decisions"] == 1, forgotten
        # The batch goes out: the user who stays gets their state, the forgotten one does not.
        wait_for(lambda: store.get_user(staying_key) is not None, "the first worker's queued batch", 30)
        assert store.get_user(forgotten_key) is None
    finally:
        store.close()
    assert scan(cluster, forgotten_key, USER) == []
    cluster.url, cluster.key = first_url, decide_key
    other.send_signal(signal.SIGTERM)
    other.wait(timeout=60)


@pytest.mark.slow
def test_hostile_requests_answer_422_at_once_naming_the_field(cluster: Cluster) -> None:
    cluster.start_service()
    cases = [
        ({"user_id": "u", "context": {"a\u0000b": 1}, "candidates": [{"id": "a"}], "slots": 1}, "context.a\\u0000b"),
        ({"user_id": "u", "context": {"a": "x\u0000"}, "candidates": [{"id": "a"}], "slots": 1}, "context.a"),
        ({"user_id": "u", "candidates": [{"id": "a\u0000"}, {"id": "b"}], "slots": 1}, "candidates[0].id"),
        ({"user_id": "u", "candidates": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "slots": 1_000_000_000_000}, "slots"),
    ]
    for body, field in cases:
        started = time.monotonic()
        status, answer = cluster.request("POST", "/v1/slates", body)
        assert status == 422 and answer["field"] == field, answer
        assert time.monotonic() - started < 2.0  # bounded by the body, not by the count it names
    assert cluster.get("/healthz")[0] == 200
    store = cluster.store()
    try:
        assert store.count_decisions() == 0  # nothing written for a refused request
    finally:
        store.close()


@pytest.mark.slow
def test_one_backend_key_from_four_threads_is_never_throttled_by_default(cluster: Cluster) -> None:
    cluster.start_service()
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def send(worker: int) -> None:
        for i in range(150):
            status, _ = cluster.request("POST", "/v1/slates", {"user_id": f"u{worker}-{i}", "slots": 1,
                                                                "candidates": [{"id": "a"}, {"id": "b"}]})
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=send, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == {201: 600}


@pytest.mark.slow
def test_a_key_with_its_own_limit_gets_429_with_retry_after_and_its_bucket_refills(cluster: Cluster) -> None:
    cluster.key = make_key(cluster, "decide", "--rate", "5", "--burst", "10")
    cluster.start_service()
    body = {"user_id": "u", "slots": 1, "candidates": [{"id": "a"}, {"id": "b"}]}
    answers = [cluster.request("POST", "/v1/slates", body) for _ in range(30)]
    accepted = sum(status == 201 for status, _ in answers)
    refused = [answer for status, answer in answers if status == 429]
    assert 10 <= accepted <= 14 and len(refused) == 30 - accepted  # the burst, and what refilled meanwhile
    assert all(answer["error"] == "rate_limited" for answer in refused)
    request = urllib.request.Request(cluster.url + "/v1/slates", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {cluster.key}"})
    extra = 0
    with pytest.raises(urllib.error.HTTPError) as refusal:
        for _ in range(20):  # the bucket is empty, or nearly: one of these is refused
            urllib.request.urlopen(request, timeout=20).close()
            extra += 1
    assert refusal.value.code == 429 and int(refusal.value.headers["Retry-After"]) >= 1
    store = cluster.store()
    try:
        assert store.count_decisions() == accepted + extra  # nothing logged for a refused request
    finally:
        store.close()
    # The bucket refills at 5 per second: a request is accepted again within about 0.2 s.
    wait_for(lambda: cluster.request("POST", "/v1/slates", body)[0] == 201, "the bucket to refill", 5)
