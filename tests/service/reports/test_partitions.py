"""The report's slate pass in time partitions, merged — in this process and on a Dask
LocalCluster — gives the report of one pass: every number within 1e-12, everything else equal."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from service.reports import build_report
from service.reports.partitions import dask_partitions, in_process
from tests.service.reports.test_content import make_log

#: Fields that differ between two builds of the same report by design.
BUILD_ONLY = {"_id", "created_at", "build_seconds"}


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two report documents differ, floats compared to 1e-12 (relative or absolute):
    merging sums in another grouping moves the last bits (~1e-16), nothing more."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - (BUILD_ONLY if not path else set())
        return [d for k in sorted(keys, key=str) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} != {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):
        return [] if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.mark.slow  # a LocalCluster of two processes starts in ~10 s on a loaded machine
def test_partitioned_reports_equal_the_single_pass(make_app: Any, clock: Any) -> None:
    # a replay sample smaller than the window: partitions must find their offsets in it
    app = make_app(REPORT_REPLAY_SAMPLE=60)
    runtime = app.extensions["elicit"]
    start = clock.now_ms()
    make_log(app.test_client(), runtime, clock, 200)
    until = clock.now_ms()
    sources = runtime.report_sources
    single = build_report(sources, start, until, report_id="r")  # one id: the pooled series name it
    assert single["sections"]["slates"]["replay_sample"]["sampled"] is True
    assert single["sections"]["data_health"]["status"] == "ok"

    here = build_report(replace(sources, partitions=in_process(3)), start, until, report_id="r")
    assert differences(single, here) == []
    with dask_partitions(workers=2) as partitions:  # a LocalCluster of two worker processes
        assert partitions.count == 4
        on_dask = build_report(replace(sources, partitions=partitions), start, until, report_id="r")
    assert differences(single, on_dask) == []
