"""Pauses of Python's cyclic garbage collector on the decision path, with and without
``gc.freeze()`` of the start-up objects (what ``elicit serve`` does, service/cli/gunicorn_app.py).

Each run: a fresh in-process runtime on the embedded store, 300 warm-up slates (50 × 5),
then — frozen or not — 600 timed slates, every collection timed through ``gc.callbacks``.
The decision latency beside it shows what a full collection does to the tail.

    .venv/bin/python bench/bench_gc_pauses.py
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_slates import request_body  # noqa: E402
from seed_log import bench_runtime  # noqa: E402


def run(freeze: bool, warmup: int = 300, timed: int = 600) -> dict[str, float]:
    rng = np.random.default_rng(0)
    bodies = [request_body(rng, n=50, slots=5) for _ in range(warmup + timed)]
    pauses: list[tuple[int, float]] = []
    started: list[float] = []

    def timer(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append((int(info["generation"]), time.perf_counter() - started.pop()))

    gc.collect()
    with bench_runtime() as (runtime, clock):
        for body in bodies[:warmup]:
            runtime.slates.decide_document(body)
            clock.advance(1)
        if freeze:
            gc.freeze()
        gc.callbacks.append(timer)
        latencies = []
        try:
            for body in bodies[warmup:]:
                t0 = time.perf_counter()
                runtime.slates.decide_document(body)
                latencies.append(time.perf_counter() - t0)
                clock.advance(1)
        finally:
            gc.callbacks.remove(timer)
            gc.unfreeze()
    full = [seconds for generation, seconds in pauses if generation == 2]
    ms = np.array(latencies) * 1e3
    return {"full": len(full), "full_max_ms": max(full, default=0.0) * 1e3, "all_ms": sum(s for _, s in pauses) * 1e3,
            "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


def main() -> None:
    print(f"{'':22}{'full GCs':>9}{'max full ms':>12}{'all GC ms':>10}{'p50 ms':>8}{'p99 ms':>8}")
    for name, freeze in (("default", False), ("gc.freeze() at start", True)):
        row = run(freeze)
        print(f"{name:22}{row['full']:>9}{row['full_max_ms']:>12.1f}{row['all_ms']:>10.0f}{row['p50']:>8.2f}{row['p99']:>8.2f}")


if __name__ == "__main__":
    main()
