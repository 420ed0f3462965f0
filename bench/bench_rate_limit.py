"""Rate limiting as a backend meets it: one key, the default configuration, 10,000 slate
requests from 8 threads — then a key with its own limit, driven past it.

Prints, for the default key: statuses (no 429 expected: limits are off unless a key asks
for one) and throughput. For the limited key (``--rate R --burst B``, one worker): what was
accepted against what the bucket allows (B + R x seconds), that every 429 carried
``Retry-After``, that the bucket refills (a request accepted again after 1/R s), and that
the store holds exactly the accepted decisions — nothing for a refused request.

    .venv/bin/python bench/bench_rate_limit.py [--requests 10000] [--threads 8] [--rate 20 --burst 40]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import ROOT, create_key, start_server, stop_server  # noqa: E402

from service.store.embedded import EmbeddedMongo, free_port  # noqa: E402
from service.store.mongo import Store  # noqa: E402

CANDIDATES = [{"id": f"i{n}", "category": f"c{n % 4}", "features": {"x": n / 10}} for n in range(20)]


def send(port: int, key: str, bodies: list[tuple[str, bytes]], statuses: Counter[int], retry_after: list[bool],
         lock: threading.Lock) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    for path, body in bodies:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        with lock:
            statuses[response.status] += 1
            if response.status == 429:
                retry_after.append(int(response.headers.get("Retry-After") or 0) >= 1)
    connection.close()


def drive(port: int, key: str, bodies: list[tuple[str, bytes]], threads: int) -> tuple[Counter[int], list[bool], float]:
    statuses: Counter[int] = Counter()
    retry_after: list[bool] = []
    lock = threading.Lock()
    shares = [bodies[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=send, args=(port, key, share, statuses, retry_after, lock)) for share in shares]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return statuses, retry_after, time.perf_counter() - started


def slate(event_id: str) -> tuple[str, bytes]:
    return "/v1/slates", json.dumps({"user_id": f"u{hash(event_id) % 500}", "candidates": CANDIDATES, "slots": 3,
                                     "event_id": event_id}).encode()


def prompt(event_id: str) -> tuple[str, bytes]:
    return "/v1/prompts", json.dumps({"user_id": f"u{hash(event_id) % 500}", "item_id": "i1", "event_id": event_id}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long the limited key is driven")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedMongo(tmp) as mongo:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ELICIT_DATA_DIR": tmp, "ELICIT_DB": "bench",
               "ELICIT_MONGO_URI": mongo.uri, "ELICIT_REPORT_ENABLED": "false"}
        for name in [name for name in env if name.startswith("ELICIT_RATE_LIMIT")]:
            env.pop(name)  # the default configuration
        backend = create_key(env)
        limited = create_key(env, "decide", "--rate", str(args.rate), "--burst", str(args.burst))
        port = free_port()
        server = start_server(["-m", "service.cli.main", "serve", "--port", str(port), "--workers", "1"], env, port,
                              Path(tmp) / "serve.log")
        store = Store(mongo.uri, "bench")
        try:
            bodies = [slate(f"default-{n}") for n in range(args.requests)]
            statuses, _, seconds = drive(port, backend, bodies, args.threads)
            print(f"default configuration, one key, {args.threads} threads: {sum(statuses.values())} requests in "
                  f"{seconds:.1f} s ({sum(statuses.values()) / seconds:.0f}/s); statuses {dict(statuses)}; "
                  f"429s: {statuses[429]}")

            for kind, make in (("slates", slate), ("prompts", prompt)):
                time.sleep(args.burst / args.rate)  # a full bucket to start from
                before = store.count_decisions()
                deadline = time.monotonic() + args.seconds
                statuses, retry_after = Counter(), []
                started = time.monotonic()
                batch = 0
                while time.monotonic() < deadline:  # batches of 8 x 10 until the time is up
                    more, flags, _ = drive(port, limited, [make(f"limited-{kind}-{batch}-{n}") for n in range(80)],
                                           args.threads)
                    statuses.update(more)
                    retry_after.extend(flags)
                    batch += 1
                burst_seconds = time.monotonic() - started
                allowed = args.burst + args.rate * burst_seconds
                logged = store.count_decisions() - before
                print(f"key limited to {args.rate:g}/s, burst {args.burst}, {kind}: {sum(statuses.values())} requests in "
                      f"{burst_seconds:.1f} s; accepted {statuses[201]} (the bucket allows {allowed:.0f}); "
                      f"429s {statuses[429]}, all with Retry-After: {all(retry_after) and bool(retry_after)}; "
                      f"decisions logged {logged} (= accepted: {logged == statuses[201]})")
                time.sleep(1.0 / args.rate * 1.5)  # a token refills in 1/rate s
                refill, _, _ = drive(port, limited, [make(f"refill-{kind}")], 1)
                print(f"  after {1.5 / args.rate:.3f} s: the next request answers {next(iter(refill))} (refilled)")
        finally:
            store.close()
            stop_server(server)


if __name__ == "__main__":
    main()
