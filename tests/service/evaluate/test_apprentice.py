"""Apprentice mode: the baseline is served with probability 1, and the learned policy comes
to match it on a log where the baseline is good."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from service.evaluate.apprentice import ModelsByVersion, apprentice_progress
from service.log.decisions import evaluation_query

GOOD = {"id": "good", "features": {"shape": "round"}, "kind": "repeatable"}
BAD = [{"id": f"bad{i}", "features": {"shape": f"s{i}"}, "kind": "repeatable"} for i in range(5)]
N, PER = 500, 100


@pytest.mark.slow
def test_apprentice_serves_the_baseline_and_the_learner_comes_to_match_it(make_app: Any, clock: Any) -> None:
    app = make_app(LEARNING_MODE="apprentice")
    client, runtime = app.test_client(), app.extensions["elicit"]
    rng = np.random.default_rng(8)
    for i in range(N):
        bad = [BAD[j] for j in rng.permutation(len(BAD))]
        # The application's own ranking is good: the good item first nine times in ten.
        pool = [GOOD, *bad] if rng.random() < 0.9 else [bad[0], GOOD, *bad[1:]]
        body = client.post("/v1/slates", json={"user_id": f"u{i}", "candidates": pool, "slots": 1}).get_json()
        (slot,) = body["slate"]
        assert slot["item_id"] == pool[0]["id"] and slot["probability"] == 1.0
        consumed = rng.random() < (0.9 if slot["item_id"] == "good" else 0.1)
        client.post(f"/v1/slates/{body['event_id']}/outcomes",
                    json={"outcomes": [{"item_id": slot["item_id"], "type": "consume" if consumed else "skip"}]})
        if i % PER == PER - 1:  # one learner pass per batch: batch k is served by version k
            clock.advance(601)
            runtime.learner.run_once()
    stored = list(runtime.store.iter_decisions(evaluation_query("slate", 0, clock.now_ms())))
    assert len(stored) == N and all(d["policy"] == "apprentice" for d in stored)
    assert all(d["chosen"][0]["probability"] == 1.0 and sum(d["chosen"][0]["distribution"]) == 1.0 for d in stored)

    models = ModelsByVersion(runtime.store.model_meta, runtime.store.load_model, runtime.slate_models.load,
                             runtime.slate_models.fresh)
    batches = apprentice_progress(stored, models, per=PER)
    rates = [batch["match_rate"] for batch in batches]
    print(rates, [batch["baseline_reward"] for batch in batches])
    assert len(batches) == N // PER
    # The first batch was served by the untrained model, whose scores all tie: no match.
    # Learned, the model picks the good item, which the baseline serves 90 % of the time.
    assert rates[0] == 0.0 and min(rates[1:]) > 0.75  # seed 8: 0.0, then 0.87–0.94
    # The baseline's reward: 0.9·0.9 + 0.1·0.1 = 0.82 (sd ≈ 0.38, SE of 500 ≈ 0.017: 3.5 SE).
    assert abs(np.mean([batch["baseline_reward"] for batch in batches]) - 0.82) < 0.06


def test_personalizer_rank_in_apprentice_mode_serves_the_first_action_not_excluded(make_app: Any) -> None:
    app = make_app(LEARNING_MODE="apprentice")
    client = app.test_client()
    actions = [{"id": f"a{i}", "features": [{"n": i}]} for i in range(4)]
    for excluded in ([], ["a0"], ["a0", "a1"]):
        body = client.post("/personalizer/v1.0/rank", json={"contextFeatures": [{"x": 1}], "actions": actions,
                                                            "excludedActions": excluded}).get_json()
        expected = f"a{len(excluded)}"
        assert body["rewardActionId"] == expected
        assert body["ranking"][0] == {"id": expected, "probability": 1.0}
        assert all(row["probability"] == 0.0 for row in body["ranking"][1:])
    multi = client.post("/personalizer/v1.0/multislot/rank", json={
        "contextFeatures": [{"x": 1}], "actions": actions,
        "slots": [{"id": "hero", "baselineAction": "a2"}, {"id": "side", "baselineAction": "a3"}]}).get_json()
    assert [slot["rewardActionId"] for slot in multi["slots"]] == ["a2", "a3"]
