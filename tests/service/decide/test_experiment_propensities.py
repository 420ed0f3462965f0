"""Propensities inside experiment arms: what is logged is the arm policy's probability of
what was served — the visibility arm's moved mass, the over-reaction arm's flood and lifted caps.

As in test_prompt_propensities.py and test_slate_propensities.py: a trained, far-from-uniform
model, a few thousand decisions over HTTP in one fixed context, and each served count
against the sum of the logged probabilities (Pearson chi-square, fixed seed, p > 0.001: room
for an honest sampler; drawing from the distribution before the arm changed it moves the
counts by far more).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from scipy import stats

from tests.helpers import candidates
from tests.service.decide.test_prompt_propensities import CONTEXT, train_towards
from tests.service.http.test_experiments import FLOOD, VISIBILITY, users_in

N = 2000


def chi_square(served: Counter[str], expected: Counter[str]) -> float:
    keys = sorted(k for k in expected if expected[k] > 0)
    observed = np.array([served[k] for k in keys], dtype=float)
    predicted = np.array([expected[k] for k in keys])
    assert observed.sum() == pytest.approx(predicted.sum())
    return float(stats.chisquare(observed, predicted)[1])


@pytest.mark.slow
def test_prompts_in_the_public_arm(client: Any, runtime: Any, clock: Any) -> None:
    train_towards(client, runtime, clock, "graded/private")  # the model wants private: the arm overrides it
    client.put("/v1/experiments/vis", json=VISIBILITY)
    served: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    for i, uid in enumerate(users_in(runtime, "vis", "public", N, prefix="p")):
        body = client.post("/v1/prompts", json={"user_id": uid, "item_id": "m", "context": CONTEXT, "event_id": f"p{i}"})
        assert body.status_code == 201
    for decision in runtime.store.iter_decisions({"_id": {"$regex": "^p"}}):
        assert decision["experiments"] == {"vis": "public"}
        served[decision["chosen"]["action"]] += 1
        for action, probability in zip(decision["actions"], decision["distribution"]):
            expected[action] += probability
    assert served["single/private"] == served["graded/private"] == 0
    assert expected["graded/public"] / N > 0.6  # the private mass moved to public, as logged
    p_value = chi_square(served, expected)
    print(f"public arm: served {dict(served)}, chi-square p = {p_value:.3f}")
    assert p_value > 0.001


@pytest.mark.slow
def test_slates_in_the_over_reaction_arm(client: Any, runtime: Any) -> None:
    client.put("/v1/experiments/flood", json=FLOOD)
    pool = candidates(14)  # cat0..cat3, creator0..creator6; f0 is cat0 / creator0
    uid = users_in(runtime, "flood", "flood", 1)[0]
    client.post("/v1/feedback", json={"user_id": uid, "item_id": "f0", "value": "up", "visibility": "private"})
    served: list[Counter[str]] = [Counter() for _ in range(3)]
    expected: list[Counter[str]] = [Counter() for _ in range(3)]
    for i in range(N):
        body = client.post("/v1/slates", json={"user_id": uid, "candidates": pool, "slots": 3, "event_id": f"s{i}"})
        assert body.status_code == 201
    flooded = 0
    for decision in runtime.store.iter_decisions({"_id": {"$regex": "^s"}}):
        assert decision["caps"]["lifted_categories"] == ["cat0"] and decision["caps"]["lifted_creators"] == ["creator0"]
        cats = [c["category"] for c in decision["chosen"]]
        flooded += cats.count("cat0") > 2  # more of cat0 than the cap of 2 allows
        for choice in decision["chosen"]:
            served[choice["slot"]][choice["item_id"]] += 1
            for item, probability in zip(choice["allowed"], choice["distribution"]):
                expected[choice["slot"]][item] += probability
    assert flooded > N // 4  # the cap really was lifted, and the flood used it
    for slot in range(3):
        p_value = chi_square(served[slot], expected[slot])
        print(f"over-reaction arm, slot {slot}: chi-square p = {p_value:.3f}")
        assert p_value > 0.001
