"""Nightly report wall time against log size, on the embedded store.

For each size: a day's log of that many learned slate decisions (clones of 200 real
decisions, 30 candidates × 5 slots, ~20 features each — the demo's shape), bulk-inserted
into a fresh embedded store (timed apart), then ``build_report`` over that day, as the
nightly job runs it. The figure beside it is the same build's time per decision, which is
constant when the build is linear; then the time of one read of the window's slate
decisions as the report reads them (light; the store's part and the expanding) and the
build's time per decision without it (the report's own part); then the peak RSS of the
report's process and of the store during the build, and the load average around it.

    .venv/bin/python bench/bench_report.py [sizes ...]   (default: 100000 1000000)
    .venv/bin/python bench/bench_report.py --no-store 1000000
    .venv/bin/python bench/bench_report.py --workers 2 1000000

``--workers N``: after the single-process build, the same report again with its slate pass
in time partitions on a Dask ``LocalCluster`` of N processes (service/reports/partitions.py;
needs elicit[dask]) — its time (the cluster's start-up apart), the speedup, and the largest
relative difference between the two reports' numbers.

``--no-store``: the report's own part alone, at sizes the embedded store cannot hold in
a bench's time: the window's slate decisions are the same clones, made in memory as the
report reads them (their making, timed apart, stands in for the read) — every section
still runs, with no outcome for any decision.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_log import bench_runtime, clone, insert_clones, real_decisions  # noqa: E402

from service.reports import build_report  # noqa: E402

DAY_MS = 86_400_000


def _children() -> list[int]:
    """This process's child processes (the embedded store)."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


def reset_peaks() -> None:
    """Start peak RSS afresh for this process and the store (Linux: ``clear_refs`` 5), so
    the peaks printed are the build's, not the insert's."""
    for pid in ["self", *map(str, _children())]:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass


def peak_mb(pid: int | str = "self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def largest_difference(a: Any, b: Any) -> float:
    """The largest relative difference between two reports' numbers (structure must match)."""
    if isinstance(a, dict):
        skip = {"_id", "created_at", "build_seconds"}
        return max([largest_difference(a[k], b[k]) for k in a if k not in skip] or [0.0])
    if isinstance(a, list):
        return max([largest_difference(x, y) for x, y in zip(a, b)] or [0.0])
    if isinstance(a, float) and isinstance(b, float) and a != b:
        return abs(a - b) / max(abs(a), abs(b), 1e-300)
    if a != b and not (isinstance(a, float) and isinstance(b, float)):
        raise SystemExit(f"the partitioned report differs: {a!r} != {b!r}")
    return 0.0


def run_partitioned(runtime: Any, since: int, single: dict[str, Any], workers: int) -> dict[str, float]:
    from dataclasses import replace

    from service.reports.partitions import dask_partitions

    started = time.perf_counter()
    with dask_partitions(workers=workers) as partitions:
        cluster_s = time.perf_counter() - started
        load = os.getloadavg()
        started = time.perf_counter()
        report = build_report(replace(runtime.report_sources, partitions=partitions), since, since + DAY_MS,
                              kind="nightly", report_id="bench")
        dask_s = time.perf_counter() - started
    return {"workers": workers, "cluster_s": cluster_s, "dask_s": dask_s, "dask_load_before": load[0],
            "dask_load_after": os.getloadavg()[0], "largest_difference": largest_difference(single, report)}


def run_one(size: int, workers: int = 0) -> dict[str, float]:
    with bench_runtime() as (runtime, clock):
        templates = real_decisions(runtime, clock, 200, candidates=30, slots=5)
        runtime.store.decisions.delete_many({})
        since = (clock.now_ms() // DAY_MS + 1) * DAY_MS
        insert_s = insert_clones(runtime, clone(templates, size, since, DAY_MS, learned=True))
        clock.set(since + DAY_MS + 3 * 3_600_000)
        reset_peaks()
        load = os.getloadavg()[0]
        started = time.perf_counter()
        report = build_report(runtime.report_sources, since, since + DAY_MS, kind="nightly", report_id="bench")
        build_s = time.perf_counter() - started
        peaks = {"report_mb": peak_mb(), "store_mb": max((peak_mb(pid) or 0.0 for pid in _children()), default=None),
                 "load_before": load, "load_after": os.getloadavg()[0]}
        errors = [name for name, section in report["sections"].items() if section.get("status") == "error"]
        if errors:
            raise SystemExit(f"report sections failed: {errors}")
        # One read of the window's slates as the report's pass reads them (light: without
        # features, satiation or distributions), so the rest — the report's own — shows apart.
        started = time.perf_counter()
        try:
            for _ in runtime.store.iter_decisions({"kind": "slate", "t": {"$gte": since, "$lt": since + DAY_MS}}, light=True):
                pass
            read_s: float | None = time.perf_counter() - started
        except Exception as exc:  # noqa: BLE001 — an extra figure: losing it must not lose the build's
            print(f"(the plain read of {size} decisions failed: {exc!r})", file=sys.stderr)
            read_s = None
        partitioned = run_partitioned(runtime, since, report, workers) if workers else {}
    return {"size": size, "insert_s": insert_s, "build_s": build_s, "read_s": read_s, **peaks, **partitioned}


class ClonedSlates:
    """The store, but the window's slate decisions are clones made on the fly (``--no-store``)."""

    def __init__(self, store: Any, templates: list[dict], size: int, since: int) -> None:
        self.store, self.templates, self.size, self.since = store, templates, size, since
        self.recent: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def count_decisions(self, query: dict[str, Any]) -> int:
        return self.size if query.get("kind") in (None, "slate") else self.store.count_decisions(query)

    def iter_decisions(self, query: dict[str, Any], batch_size: int = 1000, light: bool = False) -> Iterator[dict[str, Any]]:
        if query.get("kind") != "slate":
            return self.store.iter_decisions(query, batch_size, light=light)
        return self._made(light)

    def _made(self, light: bool) -> Iterator[dict[str, Any]]:
        # Expanded as the store expands what it reads (clones share their template's
        # sub-documents: each gets its own copy first). The last ones made are kept, whole,
        # for the sampled decisions the report then asks for by id (its current chunk's).
        for chunk in clone(self.templates, self.size, self.since, DAY_MS, learned=True):
            whole = self.store.item_log.expand(copy.deepcopy(chunk))
            for doc in whole:
                self.recent[doc["_id"]] = doc
                while len(self.recent) > 20_000:
                    self.recent.popitem(last=False)
            yield from self.store.item_log.expand(copy.deepcopy(chunk), features=False) if light else whole

    def decisions_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        return [self.recent[i] for i in ids if i in self.recent]

    def outcomes_for(self, ids: list[str]) -> dict[str, list[Any]]:
        return {i: [] for i in ids}


def run_no_store(size: int) -> None:
    with bench_runtime() as (runtime, clock):
        templates = real_decisions(runtime, clock, 200, candidates=30, slots=5)
        runtime.store.decisions.delete_many({})
        since = (clock.now_ms() // DAY_MS + 1) * DAY_MS
        clock.set(since + DAY_MS + 3 * 3_600_000)
        runtime.store = ClonedSlates(runtime.store, templates, size, since)
        started = time.perf_counter()
        made = sum(1 for _ in runtime.store.iter_decisions({"kind": "slate"}))
        making_s = time.perf_counter() - started
        started = time.perf_counter()
        report = build_report(runtime.report_sources, since, since + DAY_MS, kind="nightly", report_id="bench")
        build_s = time.perf_counter() - started
        errors = [name for name, section in report["sections"].items() if section.get("status") == "error"]
        if errors:
            raise SystemExit(f"report sections failed: {errors}")
    print(f"{made} decisions, no store: report {build_s:.1f} s, of which making the clones {making_s:.1f} s; "
          f"the report's own part {(build_s - making_s) / size * 1e6:.0f} µs/decision", flush=True)


def run(sizes: list[int], show: bool = False, workers: int = 0) -> list[dict[str, float]]:
    """Every size in turn; ``show`` prints each row as it completes (a long run keeps what it measured)."""
    rows = []
    for size in sizes:
        rows.append(run_one(size, workers))
        if show:
            print_rows(rows[-1:], header=len(rows) == 1, flush=True)
            if workers:
                print_partitioned(rows[-1])
    return rows


def print_partitioned(row: dict[str, float]) -> None:
    print(f"{row['size']:>10.0f} decisions, slate pass on Dask, {row['workers']:.0f} workers: report {row['dask_s']:.1f} s "
          f"beside {row['build_s']:.1f} s in one process (x{row['build_s'] / row['dask_s']:.2f}); cluster start "
          f"{row['cluster_s']:.1f} s apart; largest relative difference {row['largest_difference']:.1e}; "
          f"load {row['dask_load_before']:.1f}–{row['dask_load_after']:.1f}", flush=True)


def print_rows(rows: list[dict[str, float]], header: bool = True, flush: bool = False) -> None:
    if header:
        print(f"{'decisions':>10}{'log insert s':>14}{'report s':>10}{'µs/decision':>13}{'1 read s':>10}{'µs/decision - read':>20}"
              f"{'peak MB report/store':>22}{'load':>12}")
    for row in rows:
        per = row["build_s"] / row["size"] * 1e6
        read, rest = "—", "—"
        if row.get("read_s") is not None:
            read, rest = f"{row['read_s']:.1f}", f"{(row['build_s'] - row['read_s']) / row['size'] * 1e6:.0f}"
        peaks = f"{row.get('report_mb') or 0:.0f} / {row.get('store_mb') or 0:.0f}"
        load = f"{row.get('load_before', 0):.1f}–{row.get('load_after', 0):.1f}"
        print(f"{row['size']:>10.0f}{row['insert_s']:>14.1f}{row['build_s']:>10.1f}{per:>13.0f}{read:>10}{rest:>20}"
              f"{peaks:>22}{load:>12}", flush=flush)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--no-store"]:
        for size in sys.argv[2:] or ["1000000"]:
            run_no_store(int(size))
    elif sys.argv[1:2] == ["--workers"]:
        run([int(arg) for arg in sys.argv[3:]] or [1_000_000], show=True, workers=int(sys.argv[2]))
    else:
        run([int(arg) for arg in sys.argv[1:]] or [100_000, 1_000_000], show=True)
