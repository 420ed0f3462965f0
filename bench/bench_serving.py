"""Serving: elicit under gunicorn (as `elicit serve --workers 2`, embedded store, logging on)
beside the bare Flask + VW app (bench/bare_app.py) under the same gunicorn settings, all
up at once. The main row is driven in ``--rounds`` interleaved rounds (elicit, bare, bare +
log write, then again), so a change in the machine's load hits all three alike: on this
2-core machine one run's figures moved by up to 40 % minutes apart. Each figure pools its
rounds; the last column is the spread of the per-round ratio.

    .venv/bin/python bench/bench_serving.py [--requests 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_slates import request_body  # noqa: E402
from load import ROOT, Load, as_bodies, create_key, drive, start_server, stop_server  # noqa: E402

from service.store import EmbeddedMongo, free_port  # noqa: E402

WORKERS, THREADS = 2, 4


def prompt_bodies(rng: np.random.Generator, count: int) -> list[bytes]:
    return as_bodies([
        {"user_id": f"user{int(rng.integers(1000))}", "item_id": f"item{int(rng.integers(2000))}",
         "context": {"device": "tv", "hour": int(rng.integers(24)), "session_id": f"s{int(rng.integers(10_000))}"}}
        for _ in range(count)
    ])


def run(requests: int, sweep_requests: int, rounds: int) -> list[dict]:
    """Rows: name, figure, elicit's Load and the bare app's Load."""
    rng = np.random.default_rng(0)
    rows: list[dict] = []
    # The embedded store is started here rather than by `elicit serve` so that an API key
    # can be created in it first, as an operator would; the service then runs with auth on.
    with tempfile.TemporaryDirectory() as tmp, EmbeddedMongo(tmp) as store:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ELICIT_DATA_DIR": tmp, "ELICIT_DB": "bench",
               "ELICIT_LEARNER": "external", "ELICIT_REPORT_ENABLED": "false", "ELICIT_MONGO_URI": store.uri}
        env.pop("ELICIT_AUTH", None)
        auth = {"Authorization": f"Bearer {create_key(env)}"}
        elicit_port, bare_port = free_port(), free_port()
        threads = ["--workers", str(WORKERS), "--threads", str(THREADS)]
        elicit = start_server(["-m", "service.cli.main", "serve", "--port", str(elicit_port), *threads], env, elicit_port,
                              Path(tmp) / "elicit.log")
        bare = start_server(["-m", "service.cli.gunicorn_app", "bare_app:create_app", "--port", str(bare_port), *threads],
                            {**env, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}", "BARE_LOG_URI": store.uri}, bare_port,
                            Path(tmp) / "bare.log")
        try:
            def pair(name: str, path: str, bodies: list[bytes], clients: int) -> None:
                rows.append({"name": name, "elicit": drive(elicit_port, path, bodies, clients, headers=auth),
                             "bare": drive(bare_port, path, bodies, clients)})

            slates = as_bodies([request_body(rng) for _ in range(requests)])
            ours, bare_runs, logged_runs = [], [], []
            for share in (slates[i::rounds] for i in range(rounds)):
                ours.append(drive(elicit_port, "/v1/slates", share, 4, headers=auth))
                bare_runs.append(drive(bare_port, "/v1/slates", share, 4))
                # The second reference: the bare app plus one durable insert into the same store.
                logged_runs.append(drive(bare_port, "/v1/slates-logged", share, 4))
            for name, runs in (("slates 50x5, 4 clients", bare_runs), ("  vs bare + log write", logged_runs)):
                ratios = [e.throughput / b.throughput for e, b in zip(ours, runs)]
                rows.append({"name": name, "elicit": sum(ours[1:], ours[0]), "bare": sum(runs[1:], runs[0]),
                             "spread": f"{min(ratios):.2f}–{max(ratios):.2f}"})
            for n in (10, 50, 200, 500):
                bodies = as_bodies([request_body(rng, n=n) for _ in range(sweep_requests)])
                pair(f"slates {n} candidates, 1 client", "/v1/slates", bodies, 1)
            pair("prompts, 4 clients", "/v1/prompts", prompt_bodies(rng, requests), 4)
        finally:
            stop_server(elicit)
            stop_server(bare)
    return rows


def print_rows(rows: list[dict]) -> None:
    print(f"{'':34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}   {'bare req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
          f"   {'thr ratio':>9}  {'per round':>9}")
    for row in rows:
        e: Load = row["elicit"]
        b: Load = row["bare"]
        print(f"{row['name']:34}{e.throughput:9.0f}{e.p(50):9.2f}{e.p(99):9.2f}   {b.throughput:10.0f}{b.p(50):9.2f}"
              f"{b.p(99):9.2f}   {e.throughput / b.throughput:9.2f}  {row.get('spread', ''):>9}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--sweep-requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print_rows(run(args.requests, args.sweep_requests, args.rounds))


if __name__ == "__main__":
    main()
