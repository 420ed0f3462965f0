"""The report's slate baselines as `elicit ope` targets, and the cap-free replay.

All four 'good' items share one creator, so the per-slate cap (one item per creator) lets
the live policy serve at most one good item per slate: slot 1 always logs a 'bad' item.
The cap-free greedy target, replayed without the caps, wants another good item there —
a slate the logging policy could never serve.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from policies.berserk import BerserkIndex
from service.cli.main import main
from service.evaluate.policy_values import evaluate_slates, slate_chunk
from service.evaluate.targets import SLATE_POLICIES, slate_targets
from service.log.decisions import evaluation_query
from service.reports import build_report
from tests.helpers import candidates

GOOD = [{**c, "creator": "star", "category": f"g{i}"} for i, c in enumerate(candidates(4, family="good"))]
BAD = [{**c, "creator": f"nobody{i}", "category": f"b{i}"} for i, c in enumerate(candidates(8, family="bad"))]
N = 160


def write_log(client: Any, runtime: Any, clock: Any, n: int, seed: int, liked: str = "good") -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        pool = [(GOOD + BAD)[j] for j in rng.permutation(12)]
        body = client.post("/v1/slates", json={"user_id": f"u{i}", "candidates": pool, "slots": 2}).get_json()
        outcomes = [{"item_id": s["item_id"], "type": "consume" if s["item_id"].startswith(liked) else "skip"} for s in body["slate"]]
        client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": outcomes})
        clock.advance(1)
    clock.advance(601)
    runtime.learner.run_once()


def test_cap_free_greedy_is_replayed_without_caps_in_ope_and_the_report(runner: Any, client: Any, runtime: Any, clock: Any) -> None:
    write_log(client, runtime, clock, N, seed=1)  # before the window: the model learns that good items pay
    start = clock.now_ms()
    write_log(client, runtime, clock, N, seed=2)
    until = clock.now_ms()
    query = evaluation_query("slate", start, until)
    log = list(runtime.store.iter_decisions(query))
    assert all(not d["chosen"][1]["item_id"].startswith("good") for d in log if d["chosen"][0]["item_id"].startswith("good"))

    targets = slate_targets(SLATE_POLICIES, runtime.slate_models, runtime.store, start)
    greedy = targets["cap_free_greedy"]
    free, capped = slate_chunk(log, greedy), slate_chunk(log, greedy, ignore_caps=False)
    assert np.array_equal(free.p_target, slate_chunk(log, greedy, ignore_caps=True).p_target)  # the default: cap-free
    after_good = np.repeat([d["chosen"][0]["item_id"].startswith("good") for d in log], 2) & (free.slot == 1)
    assert after_good.sum() > 20
    # Without caps the greedy puts (almost) all its mass on a second good item that was never
    # servable: its probability of the logged bad item is the clean_pmf floor, 0.01/11 (11 allowed).
    assert free.p_target[after_good].max() < 0.01
    assert capped.p_target[after_good].mean() > 10 * free.p_target[after_good].mean()
    # That mass shows in the mean weight of those slots (≈ 1 − mass outside the logger's support),
    # not in zero_target_share: the floor keeps every allowed probability above 0.
    assert free.weight[after_good].mean() < 0.05 and (free.p_target > 0).all()

    # `elicit ope` knows both baselines, and gives the report's numbers on the same window.
    report = build_report(runtime.report_sources, start, until)
    rows = {r["policy"]: r for r in report["sections"]["slates"]["policies"]}
    values = {v.policy: v for v in evaluate_slates(lambda: runtime.store.iter_decisions(query), targets) if v.estimator == "CascadeIPS"}
    for name in ("most_popular", "cap_free_greedy"):
        assert rows[name]["value"] == pytest.approx(values[name].interval.estimate, rel=1e-9)
    with_caps = evaluate_slates(lambda: runtime.store.iter_decisions(query), {"cap_free_greedy": greedy}, ignore_caps=())
    assert with_caps[0].diagnostics.mean_weight > values["cap_free_greedy"].diagnostics.mean_weight
    result = runner.invoke(main, ["ope", "--json", "--policy", "most_popular", "--policy", "cap_free_greedy"])
    assert result.exit_code == 0, result.output
    assert {row["policy"] for row in json.loads(result.output)} == {"most_popular", "cap_free_greedy"}


def test_berserk_index_interval_over_per_like_changes() -> None:
    index = BerserkIndex(0.2, 0.2, None, 4, 0, {"up": (0.0, 0.1, 0.3, 0.4)})
    low, high = index.interval("up", 0.05)
    # mean 0.2, sd 0.1826, se 0.0913, t(0.975, 3) = 3.182: 0.2 ± 0.2905
    assert (low, high) == pytest.approx((0.2 - 0.29052, 0.2 + 0.29052), abs=1e-4)
    assert index.interval("double_up") == (None, None) and index.interval("overall") == (low, high)


def test_learned_targets_are_the_model_live_when_the_window_began(runner: Any, client: Any, runtime: Any,
                                                                   clock: Any) -> None:
    """Never a model trained on the window's own decisions: the report's and `elicit ope
    --since`'s learned target is the newest model published by the window's start."""
    write_log(client, runtime, clock, 60, seed=3)  # publishes slate-v1 before the window
    start = clock.now_ms()
    before = runtime.store.model_meta_before("slate", start)
    write_log(client, runtime, clock, 120, seed=4, liked="bad")  # publishes slate-v2, which learned otherwise
    until = clock.now_ms()
    runtime.slate_models.refresh()
    assert before["version"] == 1 and before["published_at"] <= start and runtime.slate_models.version == 2

    report = build_report(runtime.report_sources, start, until, kind="nightly", report_id="night")
    assert report["sections"]["slates"]["model_version"] == "slate-v1"
    assert report["sections"]["over_reaction"]["naive_recommender"]["model_version"] == "slate-v1"
    # `elicit ope --policy learned --since start` values the same model. During the window v1
    # served, so v1 as the target *is* the logging policy: every weight is exactly 1. v2 learned
    # from the window and weighs the same decisions differently.
    query = evaluation_query("slate", start, until)
    v1, _ = runtime.slate_models.as_of(start)
    v2, _ = runtime.slate_models.current()
    from policies.slates import LearnedSlatePolicy

    def max_weight(model: Any) -> float:
        rows = evaluate_slates(lambda: runtime.store.iter_decisions(query), {"learned": LearnedSlatePolicy(model)})
        return rows[0].diagnostics.max_weight

    result = runner.invoke(main, ["ope", "--policy", "learned", "--since", str(start), "--until", str(until), "--json"])
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)[0]
    assert cli["max_weight"] == pytest.approx(1.0, abs=1e-6) == max_weight(v1)
    assert max_weight(v2) != pytest.approx(1.0, abs=1e-6)
