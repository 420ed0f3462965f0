"""The production shape in real processes on loopback: `elicit serve --workers 2`
(gunicorn), `elicit learner` in its own process, the embedded store.

Wall time throughout (``REWARD_WINDOW_S=0``: a decision is due as soon as it is logged), so
nothing sleeps; every wait polls with a deadline. The learner loop runs small batches so
that killing it lands between or inside passes, and a second learner must take over the
lease, release what the first left claimed, and learn the rest exactly once.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from service.store import Store, free_port
from tests.helpers import ROOT, slate_request, wait_for

KEY: dict[str, str] = {}  # the decide key the deployment's clients use (created with `elicit keys create`)


def call(port: int, method: str, path: str, body: Any = None) -> tuple[int, str, dict[str, Any]]:
    """One request on a fresh connection (so the workers' accept loops share them out)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {KEY['decide']}"} if KEY else {})}
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("X-Elicit-Worker", ""), json.loads(response.read() or b"{}")
    finally:
        connection.close()


class Deployment:
    def __init__(self, mongo_uri: str, db: str, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.env = {
            **os.environ, "PYTHONPATH": str(ROOT), "ELICIT_MONGO_URI": mongo_uri, "ELICIT_DB": db,
            "ELICIT_REWARD_WINDOW_S": "0", "ELICIT_MODEL_REFRESH_S": "0.2", "ELICIT_LEARN_INTERVAL_S": "0.1",
            "ELICIT_LEARN_BATCH": "4", "ELICIT_LEARNER": "external", "ELICIT_LEARNER_LEASE_S": "1.5",
            "ELICIT_REPORT_ENABLED": "false",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with open(self.tmp / log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.cli.main", *args], cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def deployment(mongo_uri: str, db_name: str, tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(mongo_uri, db_name, tmp_path)
    created = subprocess.run([sys.executable, "-m", "service.cli.main", "keys", "create", "--scope", "decide"],
                             cwd=ROOT, env=deployment.env, capture_output=True, text=True, check=True)
    KEY["decide"] = created.stdout.strip().splitlines()[-1]  # printed once, alone on the last line
    yield deployment
    KEY.clear()
    deployment.stop_all()
    store = Store(mongo_uri, db_name)
    store.drop_database()
    store.close()


def decide(port: int, prefix: str, count: int) -> set[str]:
    """``count`` slates over 8 concurrent connections; returns the worker pids that served."""

    def one(i: int) -> str:
        status, worker, body = call(port, "POST", "/v1/slates", slate_request(event_id=f"{prefix}{i}", user=f"u{i % 9}"))
        assert status == 201, body
        assert body["model_version"].startswith("slate-v")
        return worker

    with ThreadPoolExecutor(8) as pool:
        return set(pool.map(one, range(count)))


def published_decisions(store: Store) -> int:
    return sum(int(doc["decisions"]) for doc in store.models.find({"kind": "slate"}))


def assert_learned_exactly_once(store: Store, expected: int) -> None:
    """Every decision carries the version and claim token of one published model, and the
    published models' decision counts add up to the number of decisions."""
    models = {doc["version"]: doc for doc in store.models.find({"kind": "slate"})}
    decisions = list(store.iter_decisions({"kind": "slate"}))
    assert len(decisions) == expected
    for doc in decisions:
        model = models.get(doc["learn_version"])
        assert model is not None, f"{doc['_id']} is in no published model"
        assert doc["claim"] == model["claim"], f"{doc['_id']} was claimed by a pass that did not publish"
    assert sum(int(model["decisions"]) for model in models.values()) == expected


def test_two_workers_and_a_learner_that_is_killed_and_replaced(deployment: Deployment, mongo_uri: str, db_name: str) -> None:
    store = Store(mongo_uri, db_name)
    port = deployment.port
    deployment.start("serve", "--workers", "2", "--threads", "2", "--port", str(port), log="serve.log")
    wait_for(lambda: _ready(port), "the workers to be ready", 60)

    workers: set[str] = set()
    batch = 0
    while len(workers) < 2:  # the kernel shares connections out; both workers must have served
        batch += 1
        assert batch <= 10, "one worker served every connection"
        workers |= decide(port, f"a{batch}-", 24)
    first_count = store.count_decisions({"kind": "slate"})

    first = deployment.start("learner", log="learner1.log")
    latest = lambda: (store.latest_model_meta("slate") or {}).get("version", 0)  # noqa: E731
    wait_for(lambda: published_decisions(store) >= first_count, "the first learner", 60)
    assert_learned_exactly_once(store, first_count)
    published = latest()
    assert published >= first_count // 4  # batches of LEARN_BATCH=4

    # Both workers hot-load the newest version (MODEL_REFRESH_S=0.2).
    seen: dict[str, str] = {}

    def both_serve_latest() -> bool:
        status, worker, body = call(port, "GET", "/readyz")
        if status == 200:
            seen[worker] = body["models"]["slate"]
        return len(seen) == 2 and set(seen.values()) == {f"slate-v{published}"}

    wait_for(both_serve_latest, f"both workers to serve slate-v{published}")
    status, _, body = call(port, "POST", "/v1/slates", slate_request(event_id="probe", user="probe"))
    assert status == 201 and body["model_version"] == f"slate-v{published}"

    # More decisions, then kill -9 the learner while it works through them.
    second_count = 60
    decide(port, "b-", second_count)
    wait_for(lambda: latest() >= published + 2, "the first learner to start on the second batch")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    total = first_count + 1 + second_count
    assert published_decisions(store) < total, "the first learner finished before it was killed"

    deployment.start("learner", log="learner2.log")  # waits for the dead learner's lease to lapse
    wait_for(lambda: published_decisions(store) >= total, "the second learner", 60)
    assert_learned_exactly_once(store, total)
    lease = store.locks.find_one({"_id": "learner"})
    assert lease["holder"] and f":{first.pid}:" not in lease["holder"]
    store.close()


def _ready(port: int) -> bool:
    try:
        return call(port, "GET", "/readyz")[0] == 200
    except OSError:
        return False


def test_two_workers_put_every_user_in_the_same_arm(deployment: Deployment, tmp_path: Path) -> None:
    definition = tmp_path / "vis.json"
    definition.write_text(json.dumps({"arms": [{"name": "control", "share": 0.5},
                                               {"name": "public", "share": 0.5,
                                                "settings": {"prompt_visibility": "public"}}]}))
    subprocess.run([sys.executable, "-m", "service.cli.main", "experiments", "start", "vis", "--file", str(definition)],
                   cwd=ROOT, env=deployment.env, capture_output=True, check=True)
    port = deployment.port
    deployment.start("serve", "--workers", "2", "--threads", "2", "--port", str(port), log="serve.log")
    wait_for(lambda: _ready(port), "the workers to be ready", 60)
    arms: dict[str, dict[str, str]] = {}  # user -> {worker pid: arm}

    def one(i: int) -> None:
        user = f"u{i % 40}"
        status, worker, body = call(port, "POST", "/v1/prompts", {"user_id": user, "item_id": "m"})
        assert status == 201, body
        arms.setdefault(user, {})[worker] = body["experiments"]["vis"]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(400)))
    both = {user: by_worker for user, by_worker in arms.items() if len(by_worker) == 2}
    assert len(both) >= 10, "too few users were served by both workers"
    assert all(len(set(by_worker.values())) == 1 for by_worker in both.values()), both
    assert {arm for by_worker in arms.values() for arm in by_worker.values()} == {"control", "public"}
