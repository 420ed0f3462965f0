"""Auto-optimize: due every AUTO_OPTIMIZE_DAYS, one worker at a time, the apply rule, 24 runs kept."""

from __future__ import annotations

from typing import Any

import numpy as np

from service.evaluate.search import Stage
from service.runtime.auto_optimize import LEASE
from tests.service.reports.prompt_logs import START_MS, prompt_log


def test_auto_optimize_runs_when_due_under_its_lease_and_applies_by_the_rule(make_app: Any, clock: Any) -> None:
    app = make_app(AUTO_OPTIMIZE_DAYS=1, EVALUATION_MIN_DECISIONS=300)
    runtime = app.extensions["elicit"]
    prompt_log(runtime.store, START_MS, 400, np.random.default_rng(4), lambda fmt, vis: 0.5 if fmt == "graded" else 0.2)
    runtime.evaluations.stages = (Stage("cb_type", ("ips", "mtr"), "cb_type"),)
    clock.advance(86_400)
    now = clock.now_ms()

    assert runtime.store.acquire_lease(LEASE, "another-worker", now, 60_000)
    assert runtime.auto_optimizer.run_due() == []  # another worker holds the lease
    runtime.store.release_lease(LEASE, "another-worker")

    (run,) = runtime.auto_optimizer.run_due()  # slates: too few decisions, skipped
    assert run["kind"] == "prompt" and run["run"] == "auto" and run["status"] == "done"
    rows = {row["name"]: row for row in run["result"]["policies"]}
    better = rows["optimized"]["value"] > rows["live"]["value"] and rows["optimized"]["low"] > rows["live"]["low"]
    assert run["auto"]["applied"] is better
    assert runtime.retrainer.live("prompt")["vw_args"] == (rows["optimized"]["vw_args"] if better else rows["live"]["vw_args"])
    assert runtime.settings.evaluation(run["_id"])["auto"]["applied"] is better
    assert runtime.auto_optimizer.run_due() == []  # not due again for a day

    for n in range(30):
        runtime.settings.insert_evaluation({"_id": f"old-{n}", "run": "auto", "kind": "prompt", "created_at": n,
                                            "status": "done", "since": 0, "until": 1})
    assert len([d for d in runtime.settings.list_evaluations() if d["run"] == "auto"]) == 24
