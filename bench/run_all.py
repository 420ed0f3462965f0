"""Every benchmark in one run, each figure beside its reference, as one table.

    make bench        # = .venv/bin/python bench/run_all.py
    .venv/bin/python bench/run_all.py --quick                         # smaller, for a smoke run
    .venv/bin/python bench/run_all.py --report-sizes 100000 1000000   # the full report sizes

Prints the machine (cores, CPU, memory) and the load average before each part: the
machine may be shared, and a figure taken under load says so.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_learner  # noqa: E402
import bench_report  # noqa: E402
import bench_serving  # noqa: E402
from load import load_average  # noqa: E402


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores, {cpu}, {mem_kb / 2**20:.0f} GiB RAM, Python {platform.python_version()}"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="few requests and small logs (a smoke run)")
    parser.add_argument("--report-sizes", type=int, nargs="*", default=None)
    args = parser.parse_args()
    requests, sweep, learn, sizes = (300, 60, 300, [2000, 4000]) if args.quick else (3000, 300, 3000, [10_000, 30_000])
    sizes = args.report_sizes or sizes

    print(f"machine: {machine()}")
    print(f"load average before serving: {load_average()}")
    serving = bench_serving.run(requests, sweep, rounds=2, cpu_requests=100 if args.quick else 400)
    print(f"load average before learner: {load_average()}")
    learner = bench_learner.run(learn)
    print(f"load average before report:  {load_average()}")
    report = bench_report.run(sizes)
    print(f"load average at the end:     {load_average()}")

    print("\n## serving (gunicorn, 2 workers x 4 threads; elicit with the embedded store, logging on)")
    bench_serving.print_rows(serving)
    print("\n## learner")
    bench_learner.print_result(learner)
    print("\n## nightly report (embedded store)")
    bench_report.print_rows(report)

    sweep_rows = serving["sweep"]
    per_candidate = [row["elicit"].p(50) / int(row["name"].split()[1]) for row in sweep_rows]
    per_decision = [row["build_s"] / row["size"] for row in report]
    print("\n## targets")
    bench_serving.print_targets(serving)
    print(f"latency no faster than linear in candidates: p50 ms per candidate at 10/50/200/500 = "
          f"{' / '.join(f'{x:.3f}' for x in per_candidate)}  {verdict(per_candidate[-1] <= 1.5 * min(per_candidate))}")
    ratio = learner["elicit_per_s"] / learner["raw_per_s"]
    print(f"learner >= 0.5 x raw VW: {ratio:.2f} x  {verdict(ratio >= 0.5)}")
    projected = per_decision[-1] * 1_000_000 / 60
    print(f"report at 1M < 10 min: {'measured' if report[-1]['size'] >= 1_000_000 else 'projected from the largest size'} "
          f"{projected:.0f} min  {verdict(projected < 10)}; linear: seconds per decision "
          f"{' / '.join(f'{x * 1e3:.2f} ms' for x in per_decision)}")


if __name__ == "__main__":
    main()
