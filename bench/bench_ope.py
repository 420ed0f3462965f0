"""Benchmark: IPS, SNIPS and DR with 1,000-replicate bootstrap intervals plus diagnostics.

Run: .venv/bin/python bench/bench_ope.py [rows ...]   (default: 100000 1000000)

Prints wall time and peak traced memory per step, so growth from 100k to 1M rows is
visible, and the process's peak resident set size at the end. Not a test.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from bandit.ope import DR, IPS, SNIPS, LoggedData, diagnostics

N_ACTIONS = 10
N_BOOT = 1000


def _chunk(rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    scores = rng.normal(size=(rows, N_ACTIONS))
    logging = np.exp(scores)
    logging /= logging.sum(axis=1, keepdims=True)
    target = np.exp(2 * scores)
    target /= target.sum(axis=1, keepdims=True)
    action = (logging.cumsum(axis=1) < rng.random(rows)[:, None]).sum(axis=1)
    action = np.minimum(action, N_ACTIONS - 1)  # guards the cumsum's last rounding error
    row = np.arange(rows)
    mean_reward = 1 / (1 + np.exp(-scores))
    q = np.clip(mean_reward + rng.normal(scale=0.05, size=mean_reward.shape), 0, 1)  # imperfect model
    return {
        "reward": (rng.random(rows) < mean_reward[row, action]).astype(np.float64),
        "p_log": logging[row, action],
        "p_target": target[row, action],
        "q_hat": q[row, action],
        "q_target": (q * target).sum(axis=1),
    }


def synthetic_log(rows: int, seed: int = 0) -> LoggedData:
    """Softmax logging and target policies over 10 actions, Bernoulli rewards.

    Built 100k rows at a time so the dense rows x actions scratch does not dominate
    the process's peak memory, which should show the estimators' own O(rows) needs.
    """
    rng = np.random.default_rng(seed)
    chunks = [_chunk(min(100_000, rows - start), rng) for start in range(0, rows, 100_000)]
    return LoggedData(**{name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]})


def measure(step: Callable[[], object]) -> tuple[float, float, float, object]:
    """Wall seconds, CPU seconds and peak traced MB of one step.

    Timed without tracemalloc and traced in a second call: tracing takes the GIL on
    every allocation, which serialises the bootstrap's worker threads. CPU time next to
    wall time shows how much other processes slowed the run: on an idle 2-core machine
    the bootstrap's CPU seconds approach twice its wall seconds.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    result = step()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, cpu, peak, result


def main(sizes: list[int]) -> None:
    print(f"{'rows':>9} {'step':<22} {'wall s':>7} {'cpu s':>7} {'peak MB':>8}  result")
    total = 0.0
    for rows in sizes:
        data = synthetic_log(rows)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("diagnostics", lambda: diagnostics(data)),
            *[
                (f"{type(est).__name__} bootstrap", lambda est=est: est.interval(data, method="bootstrap", n_boot=N_BOOT, seed=1))
                for est in (IPS(), SNIPS(), DR())
            ],
        ]
        for name, step in steps:
            seconds, cpu, peak, result = measure(step)
            total += seconds
            shown = f"ess={result.effective_sample_size:.0f} max_w={result.max_weight:.1f}" if name == "diagnostics" else (
                f"{result.estimate:.4f} [{result.low:.4f}, {result.high:.4f}]"
            )
            print(f"{rows:>9} {name:<22} {seconds:>7.2f} {cpu:>7.2f} {peak:>8.1f}  {shown}")
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    print(f"total estimator time {total:.2f} s; process peak RSS {max_rss_mb:.0f} MB (includes building the data)")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [100_000, 1_000_000])
