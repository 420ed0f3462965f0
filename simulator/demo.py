"""The main job: embedded store, the real service over HTTP, simulated users, learning.

The service runs in this process on a loopback port with an injected clock, so simulated
hours pass instantly while every request still goes through HTTP.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from pathlib import Path
from typing import Any

from tqdm import tqdm
from werkzeug.serving import make_server

from service.app import create_app
from service.clock import ManualClock
from simulator.population import Population, SimulationParams

SESSIONS_PER_USER_PER_DAY = 3
CANDIDATES = 30
SLOTS = 5


class HttpClient:
    """Just enough of an HTTP client (stdlib only) to drive elicit like a real app does."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}
        request = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(), headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def run_demo(users: int, days: int, seed: int, data_dir: Path) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the progress bars
    clock = ManualClock()
    app = create_app({"DATA_DIR": str(data_dir), "DB": f"demo_{seed}", "CLOCK": clock, "BACKGROUND_JOBS": False, "SEED": seed})
    runtime = app.extensions["elicit"]
    runtime.store.drop_database()  # each demo run starts from an empty log
    runtime.store.ensure_indexes()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api_key, _ = runtime.keys.create("decide", "demo", rate_per_s=0)  # a client like any other: it needs a key
    client = HttpClient(f"http://127.0.0.1:{server.server_port}", api_key)
    population = Population(SimulationParams(users=users, seed=seed))
    by_id = {item["id"]: item for item in population.catalogue}
    per_day: list[float] = []
    try:
        for day in range(days):
            consumed = slates = 0
            for hour in tqdm(range(24), desc=f"day {day + 1}/{days}", unit="h"):
                active = population.rng.choice(users, size=max(1, users * SESSIONS_PER_USER_PER_DAY // 24), replace=False)
                for user in active:
                    body = client.post(
                        "/v1/slates",
                        {
                            "user_id": population.user_id(int(user)),
                            "context": population.context(int(user)),
                            "candidates": population.candidates(CANDIDATES),
                            "slots": SLOTS,
                        },
                    )
                    outcomes = population.react(int(user), body["slate"], by_id)
                    consumed += sum(outcome["type"] == "consume" for outcome in outcomes)
                    slates += 1
                    client.post(f"/v1/slates/{body['event_id']}/outcomes", {"outcomes": outcomes})
                clock.advance(3600)
                runtime.learner.run_once()
            per_day.append(consumed / max(slates, 1))
    finally:
        server.shutdown()
        runtime.close()
    return {
        "users": users,
        "days": days,
        "seed": seed,
        "consumed_per_slate_by_day": [round(value, 3) for value in per_day],
        "model_version": runtime.slate_models.version_id,
        "data_dir": str(data_dir.resolve()),
    }
