"""Latency of POST /v1/slates beside raw VW predict on the same example, in one run.

50 candidates × 5 slots × ~20 features each; one client over HTTP on loopback against
`elicit serve` (embedded store, logging on) in its own process. The reference is one VW
CCB predict of the same context, candidates and slots, encoded once, in this process.

    .venv/bin/python bench/bench_slates.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import start_server, stop_server  # noqa: E402

from bandit.features import encode  # noqa: E402
from bandit.slates import Candidate, slot_text  # noqa: E402
from bandit.vw import VWModel  # noqa: E402
from service.store import free_port  # noqa: E402

CATALOGUE_SIZE = 2000


def item_pool(rng: np.random.Generator, size: int = CATALOGUE_SIZE, features: int = 20) -> list[dict]:
    """A fixed catalogue: the same item comes back with the same features, as in production."""
    return [
        {
            "id": f"item{i}",
            "category": f"cat{i % 8}",
            "creator": f"creator{i % 13}",
            "features": {f"f{j}": float(np.round(rng.random(), 3)) for j in range(features - 2)}
            | {"genre": f"g{i % 5}", "tags": [f"t{i % 3}", f"t{i % 7}"]},
        }
        for i in range(size)
    ]


POOL = item_pool(np.random.default_rng(12345))


def request_body(rng: np.random.Generator, n: int = 50, slots: int = 5, features: int = 20) -> dict:
    """``n`` candidates drawn from the fixed catalogue (``features`` per item: the pool's 20)."""
    picked = rng.choice(len(POOL), size=n, replace=False)
    return {
        "user_id": f"user{int(rng.integers(1000))}",
        "context": {"device": "tv", "hour": int(rng.integers(24)), "segment": f"s{int(rng.integers(5))}"},
        "candidates": [POOL[int(i)] for i in picked],
        "slots": slots,
    }


def raw_vw_ms(body: dict, repeats: int) -> np.ndarray:
    model = VWModel("--ccb_explore_adf -q UA -q UI -q SA -q SI --epsilon 0.1 --quiet")
    candidates = [Candidate(c["id"], c["features"], c["category"], c["creator"]) for c in body["candidates"]]
    lines = [f"ccb shared {encode(body['context'], 'U')}"]
    lines += [f"ccb action {c.vw_text}" for c in candidates]
    lines += [f"ccb slot {slot_text({}, k)}" for k in range(body["slots"])]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_one(lines)
        times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


def http_ms(port: int, bodies: list[bytes]) -> np.ndarray:
    times = []
    for data in bodies:
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/v1/slates", body=data, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        connection.close()
        times.append((time.perf_counter() - start) * 1000)
        if response.status != 201:
            raise SystemExit(f"unexpected status {response.status}")
    return np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    bodies = [json.dumps(request_body(rng)).encode() for _ in range(args.requests)]
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "ELICIT_DATA_DIR": data_dir, "ELICIT_DB": "bench"}
        env.pop("ELICIT_MONGO_URI", None)
        server = start_server(["-m", "service.cli.main", "serve", "--port", str(port)], env, port, Path(data_dir) / "serve.log")
        try:
            http_ms(port, bodies[:50])  # warm-up
            service = http_ms(port, bodies)
        finally:
            stop_server(server)
    raw = raw_vw_ms(json.loads(bodies[0]), repeats=args.requests)
    p = lambda a, q: float(np.percentile(a, q))  # noqa: E731
    print(f"POST /v1/slates: 50 candidates x 5 slots x ~20 features, 1 client, {args.requests} requests, loopback")
    print(f"{'':28}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'elicit (HTTP, logged)':28}{p(service, 50):10.2f}{p(service, 99):10.2f}")
    print(f"{'raw VW CCB predict':28}{p(raw, 50):10.2f}{p(raw, 99):10.2f}")
    print(f"{'ratio elicit / raw VW':28}{p(service, 50) / p(raw, 50):10.1f}{p(service, 99) / p(raw, 99):10.1f}")


if __name__ == "__main__":
    main()
