"""Serving: elicit under gunicorn (as `elicit serve --workers 2`, embedded store, logging on)
beside the bare Flask + VW app (bench/bare_app.py) under the same gunicorn settings, all
up at once, in one run:

- slates 50x5 and prompts at 1, 4, 16 and 64 clients: elicit, *bare + write* (the bare app
  plus one durable insert per request into the same store with the same write concern —
  the reference: the floor of any design that makes each decision durable before
  answering) and *bare* (no write: context); throughput, p50, p99. Each row is driven in
  ``--rounds`` interleaved rounds (elicit, bare + write, bare, then again), so a change in
  the machine's load hits all three alike; figures pool their rounds, the last column is
  the spread of the per-round ratio to bare + write;
- the 1-client candidate sweep (10/50/200/500), elicit beside bare;
- in-process CPU per decision beside raw VW's predict of the same decision
  (bench/inprocess_cpu.py), on the same store once the servers are stopped;
- the load average before and after (the machine's two cores are shared with the store).

    .venv/bin/python bench/bench_serving.py [--requests 2000] [--rounds 2] [--clients 1 4 16 64]
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import inprocess_cpu  # noqa: E402
from bench_slates import request_body  # noqa: E402
from load import (  # noqa: E402
    ROOT,
    Load,
    as_bodies,
    create_key,
    drive,
    load_average,
    start_server,
    stop_server,
    tree_cpu_s,
)

from service.store import EmbeddedMongo, free_port  # noqa: E402

WORKERS, THREADS = 2, 4


def prompt_bodies(rng: np.random.Generator, count: int) -> list[bytes]:
    return as_bodies([
        {"user_id": f"user{int(rng.integers(1000))}", "item_id": f"item{int(rng.integers(2000))}",
         "context": {"device": "tv", "hour": int(rng.integers(24)), "session_id": f"s{int(rng.integers(10_000))}"}}
        for _ in range(count)
    ])


CLIENTS = (1, 4, 16, 64)
#: The three apps of every row: path suffix on the bare app ("" = elicit's own port).
APPS = ("elicit", "bare + write", "bare")


def logged_batches(port: int, auth: dict[str, str]) -> tuple[float, float]:
    """``(documents, writes)`` of elicit's decision writes so far, from its ``/metrics``
    (``elicit_log_batch_documents``, summed over the workers)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/metrics", headers=auth)
    text = connection.getresponse().read().decode()
    connection.close()
    found = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for part in found:
            if line.startswith(f'elicit_log_batch_documents_{part}{{collection="decisions"}}'):
                found[part] += float(line.split()[-1])
    return found["sum"], found["count"]


def drive_levels(
    name: str, path: str, bodies: list[bytes], levels: tuple[int, ...], rounds: int,
    ports: dict[str, int], auth: dict[str, str], reader: dict[str, str], pids: dict[str, int],
) -> list[dict]:
    """One row per client count: elicit, bare + the same durable write (one per request),
    bare — driven in ``rounds`` interleaved rounds, each app on the same requests — and the
    mean documents per group-commit write of elicit's decisions in that row, and per app the
    CPU ms per request of its server processes and of the store (warm-up requests included)."""
    rows = []
    for clients in levels:
        warmup = max(5, 160 // clients)  # 64 clients x 40 would warm up longer than they run
        runs: dict[str, list[Load]] = {app: [] for app in APPS}
        cpu = {(app, part): 0.0 for app in APPS for part in ("app", "store")}
        sent = 0
        documents, writes = 0.0, 0.0

        def timed(app: str, server: str, run: Callable[[], Load]) -> None:
            app_cpu, store_cpu = tree_cpu_s(pids[server]), tree_cpu_s(pids["store"])
            runs[app].append(run())
            cpu[app, "app"] += tree_cpu_s(pids[server]) - app_cpu
            cpu[app, "store"] += tree_cpu_s(pids["store"]) - store_cpu

        for share in (bodies[i::rounds] for i in range(rounds)):
            sent += len(share) + warmup * clients
            docs_before, writes_before = logged_batches(ports["elicit"], reader)
            timed("elicit", "elicit", lambda: drive(ports["elicit"], path, share, clients, warmup=warmup, headers=auth))
            docs_after, writes_after = logged_batches(ports["elicit"], reader)
            documents, writes = documents + docs_after - docs_before, writes + writes_after - writes_before
            timed("bare + write", "bare", lambda: drive(ports["bare"], f"{path}-logged", share, clients, warmup=warmup))
            timed("bare", "bare", lambda: drive(ports["bare"], path, share, clients, warmup=warmup))
        ratios = [e.throughput / w.throughput for e, w in zip(runs["elicit"], runs["bare + write"])]
        rows.append({"name": name, "clients": clients, **{app: sum(r[1:], r[0]) for app, r in runs.items()},
                     "spread": f"{min(ratios):.2f}–{max(ratios):.2f}", "batch": documents / max(writes, 1.0),
                     "cpu_ms": {key: 1000 * seconds / sent for key, seconds in cpu.items()}})
    return rows


def run(requests: int, sweep_requests: int, rounds: int, levels: tuple[int, ...] = CLIENTS,
        cpu_requests: int = 400) -> dict:
    """``{"rows": [...], "sweep": [...], "cpu": ..., "load": (before, after)}``: per kind and
    client count the three apps' Loads; the 1-client candidate sweep (elicit beside bare);
    in-process CPU per decision beside raw VW (bench/inprocess_cpu.py)."""
    rng = np.random.default_rng(0)
    before = load_average()
    # The embedded store is started here rather than by `elicit serve` so that an API key
    # can be created in it first, as an operator would; the service then runs with auth on.
    with tempfile.TemporaryDirectory() as tmp, EmbeddedMongo(tmp) as store:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ELICIT_DATA_DIR": tmp, "ELICIT_DB": "bench",
               "ELICIT_LEARNER": "external", "ELICIT_REPORT_ENABLED": "false", "ELICIT_MONGO_URI": store.uri}
        env.pop("ELICIT_AUTH", None)
        auth = {"Authorization": f"Bearer {create_key(env)}"}
        reader = {"Authorization": f"Bearer {create_key(env, 'read')}"}  # /metrics
        ports = {"elicit": free_port(), "bare": free_port()}
        threads = ["--workers", str(WORKERS), "--threads", str(THREADS)]
        elicit = start_server(["-m", "service.cli.main", "serve", "--port", str(ports["elicit"]), *threads], env,
                              ports["elicit"], Path(tmp) / "elicit.log")
        bare = start_server(["-m", "service.cli.gunicorn_app", "bare_app:create_app", "--port", str(ports["bare"]), *threads],
                            {**env, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}", "BARE_LOG_URI": store.uri}, ports["bare"],
                            Path(tmp) / "bare.log")
        try:
            slates = as_bodies([request_body(rng) for _ in range(requests)])
            assert store.pid is not None, "the embedded store is not running"
            pids = {"elicit": elicit.pid, "bare": bare.pid, "store": store.pid}
            rows = drive_levels("slates 50x5", "/v1/slates", slates, levels, rounds, ports, auth, reader, pids)
            rows += drive_levels("prompts", "/v1/prompts", prompt_bodies(rng, requests), levels, rounds, ports, auth, reader,
                                 pids)
            sweep = []
            for n in (10, 50, 200, 500):
                bodies = as_bodies([request_body(rng, n=n) for _ in range(sweep_requests)])
                sweep.append({"name": f"slates {n} candidates, 1 client",
                              "elicit": drive(ports["elicit"], "/v1/slates", bodies, 1, headers=auth),
                              "bare": drive(ports["bare"], "/v1/slates", bodies, 1)})
        finally:
            stop_server(elicit)
            stop_server(bare)
        cpu = inprocess_cpu.run(store.uri, cpu_requests) if cpu_requests else None
    return {"rows": rows, "sweep": sweep, "cpu": cpu, "load": (before, load_average())}


def print_rows(result: dict) -> None:
    before, after = result["load"]
    print(f"load average before: {before}   after: {after}")
    head = "".join(f"{app + ' req/s':>20}{'p50':>7}{'p99':>7}" for app in APPS)
    print(f"{'':24}{head}   {'thr / b+w':>9}{'p99 / b+w':>10}{'thr / bare':>11}  {'per round':>9}{'docs/write':>11}")
    for row in result["rows"]:
        cells = "".join(f"{row[app].throughput:20.0f}{row[app].p(50):7.1f}{row[app].p(99):7.1f}" for app in APPS)
        e, w, b = row["elicit"], row["bare + write"], row["bare"]
        print(f"{row['name'] + ', ' + str(row['clients']) + ' clients':24}{cells}   {e.throughput / w.throughput:9.2f}"
              f"{e.p(99) / w.p(99):10.2f}{e.throughput / b.throughput:11.2f}  {row['spread']:>9}{row['batch']:11.2f}")
    print(f"\n{'CPU ms per request':24}" + "".join(f"{app + ' server':>20}{'store':>8}" for app in APPS))
    for row in result["rows"]:
        cells = "".join(f"{row['cpu_ms'][app, 'app']:20.2f}{row['cpu_ms'][app, 'store']:8.2f}" for app in APPS)
        print(f"{row['name'] + ', ' + str(row['clients']) + ' clients':24}{cells}")
    print(f"\n{'':34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}   {'bare req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for row in result["sweep"]:
        e, b = row["elicit"], row["bare"]
        print(f"{row['name']:34}{e.throughput:9.0f}{e.p(50):9.2f}{e.p(99):9.2f}   {b.throughput:10.0f}{b.p(50):9.2f}{b.p(99):9.2f}")
    if result["cpu"] is not None:
        print()
        inprocess_cpu.print_cpu(result["cpu"])


def row(result: dict, name: str, clients: int) -> dict | None:
    return next((r for r in result["rows"] if r["name"] == name and r["clients"] == clients), None)


def print_targets(result: dict) -> None:
    """The issue-20 targets, each a ratio from this run."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    s4, p4 = row(result, "slates 50x5", 4), row(result, "prompts", 4)
    if s4 is None or p4 is None:
        print("the targets need the 4-client rows (--clients ... 4 ...)")
        return
    thr, p99 = s4["elicit"].throughput / s4["bare + write"].throughput, s4["elicit"].p(99) / s4["bare + write"].p(99)
    print(f"slates 50x5, 4 clients: {thr:.2f} x bare + write throughput (>= 0.8: {verdict(thr >= 0.8)}), "
          f"p99 {p99:.2f} x (<= 1.5: {verdict(p99 <= 1.5)})")
    for clients in (16, 64):
        r = row(result, "slates 50x5", clients)
        if r is None:
            continue
        ratio = r["elicit"].throughput / r["bare + write"].throughput
        print(f"slates 50x5, {clients} clients: {ratio:.2f} x bare + per-request write (>= 1.0: {verdict(ratio >= 1.0)})")
    ratio = p4["elicit"].throughput / p4["bare + write"].throughput
    print(f"prompts, 4 clients: {ratio:.2f} x bare prompt app + write (>= 0.5: {verdict(ratio >= 0.5)})")
    cpu = result["cpu"]
    if cpu is not None:
        slate = cpu["slate"]["elicit"].mean() / cpu["slate"]["raw"].mean()
        prompt = cpu["prompt"]["elicit"].mean()
        print(f"in-process CPU per 50x5 slate: {slate:.1f} x raw VW CCB predict (<= 3: {verdict(slate <= 3)}); "
              f"per prompt decision {prompt:.2f} ms (<= 1 ms: {verdict(prompt <= 1.0)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="per row (kind and client count), over all rounds")
    parser.add_argument("--sweep-requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, nargs="*", default=list(CLIENTS))
    parser.add_argument("--cpu-requests", type=int, default=400, help="in-process decisions of each kind (0: skip)")
    args = parser.parse_args()
    result = run(args.requests, args.sweep_requests, args.rounds, tuple(args.clients), args.cpu_requests)
    print_rows(result)
    print()
    print_targets(result)


if __name__ == "__main__":
    main()
