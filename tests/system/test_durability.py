"""Nothing acknowledged is lost — with real processes and signals.

``elicit store`` (nx-27017) and ``elicit serve`` run as subprocesses of this test, spoken
to over HTTP by client threads that record every decision acknowledged with a 201.

1. ``kill -9`` the service during a stream of requests and restart it: every
   acknowledged decision is in MongoDB. Then again while the store is down, so the
   acknowledgements came from the spool: after store and service restart, the new
   service ships the dead one's spool, and every acknowledged decision arrives once.
2. Stop the store for a while during load and start it again: every acknowledged decision
   and outcome arrives, none twice (the service is never killed here, so every request
   got a definite answer and the totals must match exactly).
3. SIGTERM: graceful shutdown ships the spool before the process exits.

No sleeping: everything waits by polling with short timeouts.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from service.store import Store, free_port
from tests.helpers import ROOT, wait_for


class Cluster:
    """One store process and one service process on a shared data directory."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "ELICIT_MONGO_URI": self.uri, "ELICIT_DB": "durability",
                    "ELICIT_SPOOL_DIR": str(tmp / "spool"), "ELICIT_BACKGROUND_JOBS": "false",
                    "ELICIT_STORE_TIMEOUT_MS": "700", "ELICIT_SPOOL_RETRY_S": "0.2", "ELICIT_LOG_FORMAT": "json"}
        self.store_proc: subprocess.Popen[str] | None = None
        self.service: subprocess.Popen[str] | None = None
        self.url = ""
        self.key = ""
        self.started: list[subprocess.Popen[str]] = []
        self.stderr = open(tmp / "stderr.log", "a")  # noqa: SIM115 - closed in close()

    def cli(self, *args: str) -> subprocess.Popen[str]:
        # Its own process group: close() takes down what it started too (`elicit store`'s nx-27017).
        proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", *args], cwd=ROOT, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=self.stderr, start_new_session=True)
        self.started.append(proc)
        return proc

    def start_store(self) -> None:
        self.store_proc = self.cli("store", "--port", str(self.port), "--data-dir", str(self.tmp / "store"))
        assert self.store_proc.stdout is not None
        assert "listening" in self.store_proc.stdout.readline()

    def stop_store(self) -> None:
        assert self.store_proc is not None
        self.store_proc.send_signal(signal.SIGTERM)
        assert self.store_proc.wait(timeout=30) == 0
        self.store_proc = None

    def create_key(self) -> None:
        made = subprocess.run([sys.executable, "-m", "service.cli.main", "keys", "create", "--scope", "decide", "--rate", "0"],
                              cwd=ROOT, env=self.env, text=True, capture_output=True, timeout=60)
        assert made.returncode == 0, made.stderr
        self.key = made.stdout.strip().splitlines()[-1]

    def start_service(self, **env: str) -> None:
        self.env.update(env)
        self.service = self.cli("serve", "--port", "0")
        assert self.service.stdout is not None
        line = self.service.stdout.readline()
        assert "serving on" in line, line
        self.url = line.split("serving on ")[1].strip()
        wait_for(lambda: self.get("/healthz")[0] == 200, "the service")

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"})
        try:
            with urllib.request.urlopen(req, timeout=20) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path: str) -> tuple[int, Any]:
        try:
            return self.request("GET", path)
        except OSError:
            return 0, None

    def store(self) -> Store:
        return Store(self.uri, "durability")

    def close(self) -> None:
        for proc in self.started:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the group outlives a leader killed by a test
            except ProcessLookupError:
                pass
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.stderr.close()


class Load:
    """Client threads posting slates (half with client event ids) and an outcome for each."""

    def __init__(self, cluster: Cluster, threads: int = 3, outcomes: bool = False) -> None:
        self.cluster = cluster
        self.outcomes = outcomes
        self.acked: list[str] = []
        self.outcomes_acked: list[str] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.serial = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                self.serial += 1
                n = self.serial
            body = {"user_id": f"u{n % 40}", "candidates": [{"id": f"i{j}", "category": f"c{j % 3}"} for j in range(6)],
                    "slots": 2, **({"event_id": f"ev-{n}"} if n % 2 else {})}
            try:
                status, answer = self.cluster.request("POST", "/v1/slates", body)
            except (OSError, http.client.HTTPException):  # the service died under us (even mid-answer): fate unknown
                self.errors += 1
                if self.cluster.service is None or self.cluster.service.poll() is not None:
                    return
                continue
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 201:
                    self.acked.append(answer["event_id"])
            if status == 201 and self.outcomes:
                item = answer["slate"][0]["item_id"]
                try:
                    code, _ = self.cluster.request("POST", f"/v1/slates/{answer['event_id']}/outcomes",
                                                   {"outcomes": [{"item_id": item, "type": "click"}], "outcome_id": "o1"})
                except (OSError, http.client.HTTPException):
                    continue
                if code == 202:
                    with self.lock:
                        self.outcomes_acked.append(f"{answer['event_id']}/o1")

    def wait_acks(self, count: int) -> None:
        target = len(self.acked) + count
        wait_for(lambda: len(self.acked) >= target, f"{count} more acknowledged decisions", 60)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def stored_ids(cluster: Cluster, ids: list[str]) -> int:
    store = cluster.store()
    try:
        return store.count_decisions({"_id": {"$in": ids}})
    finally:
        store.close()


@pytest.mark.slow
def test_kill_9_of_the_service_loses_no_acknowledged_decision(cluster: Cluster) -> None:
    cluster.start_service()
    load = Load(cluster)
    load.wait_acks(150)
    assert cluster.service is not None
    cluster.service.send_signal(signal.SIGKILL)  # mid-stream: requests are in flight
    cluster.service.wait()
    load.finish()
    acked_direct = list(load.acked)
    cluster.start_service()
    assert stored_ids(cluster, acked_direct) == len(acked_direct) >= 150

    # Again with the store down: the acknowledgements now come from the spool.
    load = Load(cluster)
    load.wait_acks(20)
    cluster.stop_store()
    before_stop = len(load.acked)
    load.wait_acks(60)  # spooled (the service said 201 only after fsync)
    assert cluster.get("/readyz")[1]["spool"] > 0
    assert cluster.service is not None
    cluster.service.send_signal(signal.SIGKILL)
    cluster.service.wait()
    load.finish()
    acked = list(load.acked)
    assert list((cluster.tmp / "spool").glob("seg-*.jsonl"))  # the dead service's spool is on disk
    cluster.start_store()
    cluster.start_service()  # its shipper finds the dead process's segments (their locks died with it)
    wait_for(lambda: cluster.get("/readyz")[1].get("spool") == 0, "the spool to drain", 60)
    assert stored_ids(cluster, acked) == len(acked) >= 80
    store = cluster.store()
    try:
        assert store.count_decisions({"degraded": True}) >= 60  # they were decided while the store was down
    finally:
        store.close()
    print(f"kill -9: {len(acked_direct)} acknowledged before the first kill; second run {len(acked)} acknowledged, "
          f"{len(acked) - before_stop} of them from the spool with the store down; {load.errors} requests cut off "
          "by the kill; all acknowledged present")


@pytest.mark.slow
def test_store_outage_during_load_every_acknowledged_decision_arrives_once(cluster: Cluster) -> None:
    cluster.start_service()
    load = Load(cluster, outcomes=True)
    load.wait_acks(60)
    cluster.stop_store()
    before_outage = len(load.acked)
    load.wait_acks(80)
    status, ready = cluster.get("/readyz")
    assert status == 503 and ready["spool"] > 0
    cluster.start_store()
    load.wait_acks(60)
    load.finish()
    wait_for(lambda: (lambda r: r[0] == 200 and r[1]["spool"] == 0)(cluster.get("/readyz")), "the spool to drain", 60)
    acked = list(load.acked)
    assert set(load.statuses) <= {201, 503} and load.errors == 0
    store = cluster.store()
    try:
        assert store.count_decisions({"_id": {"$in": acked}}) == len(acked)
        assert store.count_decisions() == len(acked) == len(set(acked))  # none twice, nothing unacknowledged
        assert store.outcomes.count_documents({}) == len(load.outcomes_acked)
        assert store.outcomes.count_documents({"_id": {"$in": load.outcomes_acked}}) == len(load.outcomes_acked)
    finally:
        store.close()
    print(f"store outage: {before_outage} acknowledged before, {len(acked) - before_outage} during and after; "
          f"{len(load.outcomes_acked)} outcomes; statuses {load.statuses}")
    assert cluster.service is not None
    cluster.service.send_signal(signal.SIGTERM)
    assert cluster.service.wait(timeout=60) == 0


@pytest.mark.slow
def test_sigterm_ships_the_spool_before_exiting(cluster: Cluster) -> None:
    cluster.start_service(ELICIT_SPOOL_RETRY_S="3600")  # the background shipper never runs: only shutdown ships
    assert cluster.request("POST", "/v1/slates", {"user_id": "u", "candidates": [{"id": "a"}], "slots": 1})[0] == 201
    cluster.stop_store()
    acked = []
    for i in range(15):
        status, body = cluster.request("POST", "/v1/slates", {"user_id": f"u{i}", "candidates": [{"id": "a"}, {"id": "b"}],
                                                              "slots": 1, "event_id": f"t{i}"})
        assert status == 201
        acked.append(body["event_id"])
    cluster.start_store()
    assert cluster.service is not None
    cluster.service.send_signal(signal.SIGTERM)
    assert cluster.service.wait(timeout=60) == 0
    assert stored_ids(cluster, acked) == 15
    assert not list((cluster.tmp / "spool").glob("seg-*.jsonl"))
