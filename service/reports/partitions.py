"""The report's slate pass in time partitions, merged: in this process, or on a Dask cluster.

The window is cut into equal spans of event time. Each partition is a
:class:`PartitionSpec` — plain data, picklable — that any process can run
(:func:`run_partition`): it connects to the store, loads the slate model live at the
window's start and the popularity table before it, reads its span's slate decisions once
(counting them for data health), and returns its :class:`~service.reports.slate_pass.SlatePass`
and :class:`~service.reports.window_pass.KindTally`. The report adds them up in partition
order. Every statistic is a sum over decisions, so the merged figures equal one pass's to
rounding (``tests/service/reports/test_partitions.py`` holds every number of the report to
1e-12); the sample of model-backed targets is the same because each partition starts at
its offset among the window's joined decisions.

Dask (``pip install elicit[dask]``) runs them: a ``LocalCluster`` of N worker processes
(``elicit report --workers N``) or the scheduler at ``REPORT_DASK_SCHEDULER`` (several
hosts; the workers need elicit installed and the store reachable). Without either the
report reads the window in one pass, in its own process, as before.

Only the slate pass is partitioned: it is the report's cost (the prompt pass and the
sections that read little stay in the report's process).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from typing import Any

from bandit.slates import SlateModel
from service.core.clock import SystemClock
from service.evaluate.policy_values import CHUNK
from service.evaluate.targets import popularity_table
from service.log.decisions import evaluation_query
from service.reports.context import ReportContext, ReportSources
from service.reports.replay_sample import ReplaySample
from service.reports.slate_pass import SlatePass
from service.reports.slates import report_targets
from service.reports.window_pass import KindTally, joined_chunks, tally_key
from service.store import Store
from service.store.models import ModelRegistry

Result = tuple[SlatePass, KindTally]


@dataclass(frozen=True)
class PartitionSpec:
    """One partition of a report's window: everything a worker needs, as plain data."""

    uri: str
    db: str
    config: Mapping[str, Any]  # without CLOCK (a process's own)
    window: tuple[int, int]  # the report's whole window
    span: tuple[int, int]  # this partition's part of it
    offset: int  # joined slate decisions of the window before ``span``
    sample: ReplaySample
    light: bool


def spans(since_ms: int, until_ms: int, count: int) -> list[tuple[int, int]]:
    """``count`` consecutive spans of (nearly) equal length covering ``[since_ms, until_ms)``.

    >>> spans(0, 10, 3)
    [(0, 3), (3, 6), (6, 10)]
    """
    cuts = [since_ms + (until_ms - since_ms) * i // count for i in range(count + 1)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def run_partition(spec: PartitionSpec) -> Result:
    """The slate pass over one partition, in whatever process runs it."""
    store = Store(spec.uri, spec.db, timeout_ms=int(spec.config["STORE_TIMEOUT_MS"]))
    try:
        epsilon, args = float(spec.config["EPSILON"]), str(spec.config["SLATE_VW_ARGS"])
        models: ModelRegistry[SlateModel] = ModelRegistry(
            store, "slate", lambda: SlateModel.new(epsilon=epsilon, args=args), SlateModel.from_bytes)
        model, _ = models.as_of(spec.window[0])
        popularity, _ = popularity_table(store, spec.window[0])
        # A partition reads only the log and the slate model: the rest of the sources stay unset.
        sources = ReportSources(store, spec.config, SystemClock(), models, None, (), None, None)  # type: ignore[arg-type]
        ctx = ReportContext(sources, spec.span[0], spec.span[1])
        targets = report_targets(ctx, popularity, model)
        state = SlatePass(list(targets), offset=spec.offset)
        for chunk in joined_chunks(ctx, "slate", CHUNK, light=spec.light):
            state.consume(chunk, targets, spec.sample, store.decisions_by_id if spec.light else None)
        return state, ctx.shared.get(tally_key("slate"), KindTally("slate"))
    finally:
        store.close()


class Partitions:
    """Cuts a report's window into ``count`` partitions and has ``run_all`` run them."""

    def __init__(self, count: int, run_all: Callable[[list[PartitionSpec]], list[Result]]) -> None:
        if count < 1:
            raise ValueError(f"partitions must be 1 or more, got {count}")
        self.count = count
        self.run_all = run_all

    def specs(self, ctx: ReportContext, sample: ReplaySample, light: bool) -> list[PartitionSpec]:
        config = {key: value for key, value in ctx.config.items() if key != "CLOCK"}
        found = []
        for span in spans(ctx.since_ms, ctx.until_ms, self.count):
            offset = ctx.store.count_decisions(evaluation_query("slate", ctx.since_ms, span[0])) if span[0] > ctx.since_ms else 0
            found.append(PartitionSpec(ctx.store.uri, ctx.store.db.name, config, (ctx.since_ms, ctx.until_ms), span,
                                       offset, sample, light))
        return found

    def slates(self, ctx: ReportContext, sample: ReplaySample, light: bool) -> SlatePass:
        """The merged slate pass; leaves data health's slate tally in ``ctx.shared``."""
        results = self.run_all(self.specs(ctx, sample, light))
        state = reduce(lambda a, b: a + b, (r[0] for r in results))
        tally = reduce(lambda a, b: a + b, (r[1] for r in results))
        ctx.shared[tally_key("slate")] = tally
        ctx.progress.update(tally.decisions)
        return state


def in_process(count: int) -> Partitions:
    """The partitions one after the other in this process (what a Dask worker runs)."""
    return Partitions(count, lambda specs: [run_partition(spec) for spec in specs])


def on_dask(client: Any, count: int) -> Partitions:
    """The partitions as tasks of a ``dask.distributed`` client, gathered in order."""
    return Partitions(count, lambda specs: client.gather(client.map(run_partition, specs, pure=False)))


#: Partitions per Dask worker: a few, so a slow partition does not leave the others idle.
PER_WORKER = 2


@contextmanager
def dask_partitions(workers: int | None = None, address: str | None = None) -> Iterator[Partitions]:
    """Partitions on the scheduler at ``address``, or on a new ``LocalCluster`` of
    ``workers`` single-threaded processes (the replay is CPU-bound Python: one per core),
    closed on exit."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise RuntimeError("the partitioned report needs Dask: pip install 'elicit[dask]'") from exc
    cluster = None if address else LocalCluster(n_workers=int(workers or 1), threads_per_worker=1, processes=True,
                                                dashboard_address=None)
    client = Client(address) if address else Client(cluster)
    try:
        count = max(1, len(client.scheduler_info(n_workers=-1)["workers"])) * PER_WORKER
        yield on_dask(client, count)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
