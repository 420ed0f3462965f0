"""``build_report``: one JSON document with every section, for a window of event time.

The nightly scheduler (service/reports/scheduler.py) and ``elicit report`` both call it; the
caller stores it (``Store.insert_report``). Shape: docs/report.md.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from bandit.errors import InvalidInput
from bandit.ope.multiple import benjamini_hochberg
from service.core.errors import StoreError
from service.core.gc_passes import fewer_full_collections
from service.reports.answers import headline
from service.reports.context import NoProgress, Progress, ReportContext, ReportSources, iso
from service.reports.pooled import pool, stored
from service.reports.sections import SECTIONS

log = logging.getLogger("elicit")

SCHEMA_VERSION = 1


def on_demand_id(created_ms: int) -> str:
    """A unique id for an on-demand report.

    >>> on_demand_id(1_767_225_600_000).startswith("on-demand-20260101T000000Z-")
    True
    """
    return f"on-demand-{iso(created_ms).replace('-', '').replace(':', '')}-{uuid.uuid4().hex[:6]}"


def build_report(
    sources: ReportSources,
    since_ms: int,
    until_ms: int,
    progress: Progress | None = None,
    *,
    kind: str = "on_demand",
    report_id: str | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """The report over decisions with event time in ``[since_ms, until_ms)``.

    A section that fails for a reason other than the store is reported with
    ``status: "error"`` and the rest of the report is still built; a store failure
    propagates (the scheduler then retries the night later).
    """
    if until_ms <= since_ms:
        raise InvalidInput(f"the window is empty: until ({until_ms}) must be after since ({since_ms})", field="until")
    if kind not in ("nightly", "on_demand"):
        raise InvalidInput(f"kind must be nightly or on_demand, got {kind!r}", field="kind")
    started = time.perf_counter()
    ctx = ReportContext(sources, int(since_ms), int(until_ms), alpha, int(sources.config["REPORT_MIN_DECISIONS"]),
                        progress if progress is not None else NoProgress())
    counts = ctx.counts()
    # Work = decisions read: one pass over the window's slates (estimates and health), one over its prompts.
    ctx.progress.total = counts["slate"] + counts["prompt"]
    with fewer_full_collections():
        for section in SECTIONS:
            try:
                result = section.build(ctx)
            except StoreError:
                raise
            except Exception as exc:
                log.exception("report section %s failed", section.name)
                result = {"status": "error", "note": f"this section failed: {exc}", "verdicts": []}
            ctx.results[section.name] = result
    tested = control_false_findings(ctx.results, alpha)
    verdicts = [{"section": name, **v} for name, result in ctx.results.items() for v in result.get("verdicts", [])]
    created = sources.clock.now_ms()
    report_id = report_id or on_demand_id(created)
    cumulative = pool(ctx, report_id, kind == "nightly")
    return {
        "_id": report_id,
        "answers": with_experiments(headline(cumulative, float(sources.config["REPORT_RESOLUTION"]), alpha), ctx.results),
        "kind": kind,
        "schema_version": SCHEMA_VERSION,
        "created_at": created,
        "until": int(until_ms),  # top level too: the store sorts by it
        "window": {"since": int(since_ms), "until": int(until_ms), "since_iso": iso(since_ms), "until_iso": iso(until_ms),
                   "timezone": str(sources.config["REPORT_TIMEZONE"])},
        "alpha": alpha,
        "build_seconds": round(time.perf_counter() - started, 3),
        "verdicts": verdicts,
        "comparisons_tested": tested,
        "sections": ctx.results,
        # what later nights pool (service/reports/pooled.py), and the pooled figures themselves
        "evidence": stored(ctx),
        "cumulative": cumulative,
    }


def with_experiments(answers: dict[str, Any], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The headline with each experiment's contrasts after the pooled questions: they are
    anytime-valid already (service/reports/experiments.py), over the experiment so far."""
    for row in (results.get("experiments") or {}).get("contrasts") or []:
        answers["lines"].append({"section": "experiments", "verdict": row["verdict"],
                                 "text": f"Experiment {row['experiment']}: {row['text']}",
                                 "questions": [f"experiment.{row['experiment']}.{row['arm']}.{row['metric']}"]})
    return answers


def control_false_findings(results: dict[str, dict[str, Any]], alpha: float) -> int:
    """Benjamini–Hochberg across every tested comparison of the night (the verdicts that
    carry a p-value): a finding that does not survive becomes "not enough data" and says
    why. Returns how many comparisons were tested."""
    tested = [v for result in results.values() for v in result.get("verdicts", []) if v.get("p_value") is not None]
    for v, found in zip(tested, benjamini_hochberg([v["p_value"] for v in tested], q=alpha)):
        if v["level"] == "finding" and not found:
            v["level"] = "not_enough_data"
            v["text"] += (f" Not a finding once the false-discovery rate is controlled across the {len(tested)} "
                          "comparisons of this report (Benjamini–Hochberg).")
    return len(tested)
