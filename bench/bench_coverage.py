"""Does the headline's pooled visibility interval cover the truth? Twenty seeds of a smaller demo.

Each seed runs the real demo (embedded store, the service over HTTP, simulated users, the
learner each hour, the nightly reports) at a reduced size, then compares the last nightly
report's pooled visibility effect — its estimate and confidence sequence, every night's
evidence merged — with the simulator's exact truth over the same decisions
(simulator/scorecard.py ``pooled_rows``). It prints one line per seed and the share of
seeds covered: the confidence sequence should cover in at least 90 % (it is built to cover
at every night at once with probability 0.95).

    .venv/bin/python bench/bench_coverage.py [--seeds 20] [--users 300] [--days 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.cli.demo import run_demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--sessions-per-day", type=float, default=1.0)
    args = parser.parse_args()
    started, covered, found = time.perf_counter(), 0, 0
    print(f"{'seed':>4}  {'truth':>8}  {'estimate':>8}  {'interval':>20}  {'covers':>6}  verdict")
    for seed in range(1, args.seeds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            demo = run_demo(users=args.users, days=args.days, seed=seed, data_dir=Path(tmp) / "demo",
                            sessions_per_day=args.sessions_per_day, progress=False, echo=lambda line: None,
                            config={"DB": f"coverage_{seed}"})
        (row,) = [r for r in demo.report_rows if "confidence sequence" in r.name and "visibility" in r.name]
        covered += row.covers
        found += row.verdict == "finding"
        print(f"{seed:>4}  {row.truth:>8.4f}  {row.estimate:>8.4f}  [{row.low:>8.4f}, {row.high:>8.4f}]  "
              f"{'yes' if row.covers else 'NO':>6}  {row.verdict}", flush=True)
    print(f"\ncovered in {covered} of {args.seeds} seeds ({covered / args.seeds:.0%}); findings in {found}; "
          f"{args.users} users x {args.days} days x {args.sessions_per_day} sessions per day; "
          f"wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
