"""Servers and load for the HTTP benchmarks: start a server process, drive it with N
concurrent clients (one OS process each, one keep-alive connection each, so the clients'
own Python does not share a GIL), and summarise throughput and latency percentiles."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Load:
    """``requests`` over ``clients`` concurrent connections: throughput and latencies (ms)."""

    clients: int
    requests: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def p(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q))

    def __add__(self, other: Load) -> Load:
        """Two runs as one: requests and seconds add up, latencies pool."""
        return Load(self.clients, self.requests + other.requests, self.seconds + other.seconds,
                    np.concatenate([self.latencies_ms, other.latencies_ms]))


def wait_ready(port: int, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} not ready in {timeout_s} s")


def start_server(args: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(port)
    except SystemExit:
        process.terminate()
        raise
    return process


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _client(job: tuple[int, str, list[bytes], int, dict[str, str]]) -> tuple[float, float, list[float]]:
    port, path, bodies, expect, extra_headers = job
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", **extra_headers}
    times = []
    start = time.perf_counter()
    for body in bodies:
        t0 = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - t0) * 1000)
        if response.status != expect:
            raise RuntimeError(f"{path}: status {response.status}")
    end = time.perf_counter()
    connection.close()
    return start, end, times


def drive(
    port: int, path: str, bodies: list[bytes], clients: int, expect: int = 201, warmup: int = 40,
    headers: dict[str, str] | None = None,
) -> Load:
    """Warm up (``warmup`` requests per client, not counted), then send ``bodies`` split
    evenly over ``clients`` processes that start together."""
    ctx = multiprocessing.get_context("fork")
    extra = dict(headers or {})
    with ctx.Pool(clients) as pool:
        pool.map(_client, [(port, path, bodies[:warmup], expect, extra)] * clients)
        shares = [bodies[i::clients] for i in range(clients)]
        results = pool.map(_client, [(port, path, share, expect, extra) for share in shares])
    seconds = max(r[1] for r in results) - min(r[0] for r in results)
    latencies = np.array([t for r in results for t in r[2]])
    return Load(clients, len(bodies), seconds, latencies)


def create_key(env: dict[str, str], scope: str = "decide", *options: str) -> str:
    """An API key made the way an operator makes one (``elicit keys create``), for the clients:
    with the defaults (no rate limit) unless ``options`` say otherwise (``--rate 20``)."""
    created = subprocess.run([sys.executable, "-m", "service.cli.main", "keys", "create", "--scope", scope, "--name", "bench",
                              *options],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return created.stdout.strip().splitlines()[-1]  # printed alone on the last line


def as_bodies(payloads: list[dict]) -> list[bytes]:
    return [json.dumps(p).encode() for p in payloads]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by process ``root`` and its descendants that
    are alive (gunicorn's master and workers; the embedded store), from /proc; 0 without it."""
    stats: dict[int, tuple[int, float]] = {}  # pid → (parent, cpu seconds)
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, wanted = 0.0, {root}
    grew = True
    while grew:  # descendants at any depth
        grew = False
        for pid, (parent, _) in stats.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                grew = True
    for pid in wanted:
        total += stats.get(pid, (0, 0.0))[1]
    return total
