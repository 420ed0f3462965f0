"""Propensities are sacred: what is logged is the probability with which it was served.

For a fixed context we make ≥ 5,000 slate decisions through the HTTP API with a trained,
far-from-uniform model, then compare, slot by slot, how often each item was served with
the sum of the probabilities the log claims for it. Slot k's distribution depends on the
items chosen before it, so the expected count of item i in slot k is the sum over
decisions of the logged conditional probability of i given that decision's prefix —
exact, whatever the prefixes were. Exclusions and per-slate caps are active throughout:
they act before sampling, so they must not disturb this.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from scipy import stats

from tests.helpers import candidates

N_DECISIONS = 5000
CONTEXT = {"device": "tv", "hour": 21}


def train_towards_family(client: Any, runtime: Any, clock: Any, family_prefix: str, rounds: int = 300) -> None:
    for i in range(rounds):
        body = client.post(
            "/v1/slates", json={"user_id": f"t{i}", "context": CONTEXT, "candidates": CANDIDATES, "slots": 3}
        ).get_json()
        liked = [{"item_id": s["item_id"], "type": "consume"} for s in body["slate"] if s["item_id"].startswith(family_prefix)]
        if liked:
            client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": liked})
    clock.advance(601)
    assert runtime.learner.run_once().learned == rounds


CANDIDATES = candidates(3, family="a") + candidates(4, family="b")


@pytest.mark.slow
def test_served_frequencies_match_logged_probabilities(client: Any, runtime: Any, clock: Any) -> None:
    train_towards_family(client, runtime, clock, "a")
    # Exclusions and caps active: "fixed" consumed b3, so it is excluded, and
    # a_i and b_i share creator i, so the one-per-creator cap shrinks later slots.
    first = client.post("/v1/slates", json={"user_id": "fixed", "context": CONTEXT, "candidates": CANDIDATES, "slots": 3})
    event = first.get_json()["event_id"]
    served_first = [s["item_id"] for s in first.get_json()["slate"]]
    consumed = served_first[0]
    client.post(f"/v1/slates/{event}/outcomes", json={"outcomes": [{"item_id": consumed, "type": "consume"}]})
    served: list[Counter[str]] = [Counter() for _ in range(3)]
    capped = 0
    expected: list[Counter[str]] = [Counter() for _ in range(3)]
    for i in range(N_DECISIONS):
        response = client.post(
            "/v1/slates", json={"user_id": "fixed", "context": CONTEXT, "candidates": CANDIDATES, "slots": 3, "event_id": f"p{i}"}
        )
        assert response.status_code == 201
    for decision in runtime.store.iter_decisions({"_id": {"$regex": "^p"}}):
        assert {"item_id": consumed, "reason": "consumed"} in decision["excluded"]
        capped += len(decision["chosen"][2]["allowed"]) < len(CANDIDATES) - 1 - 2
        for choice in decision["chosen"]:
            served[choice["slot"]][choice["item_id"]] += 1
            for item, probability in zip(choice["allowed"], choice["distribution"]):
                expected[choice["slot"]][item] += probability

    assert capped > N_DECISIONS // 4  # the cap really was binding in a good share of slates
    slot0 = np.array([expected[0][c["id"]] for c in CANDIDATES if c["id"] != consumed]) / N_DECISIONS
    # The model did learn: slot 0 is far from uniform, so the test can tell sampling errors apart.
    assert slot0.max() > 0.5 and slot0.min() < 0.05

    for slot in range(3):
        items = sorted(expected[slot])
        observed = np.array([served[slot][item] for item in items], dtype=float)
        predicted = np.array([expected[slot][item] for item in items])
        assert observed.sum() == N_DECISIONS and predicted.sum() == pytest.approx(N_DECISIONS)
        # Pearson chi-square against the logged probabilities. The seed is fixed, so this is
        # deterministic; p > 0.001 leaves room for an honest sampler, while a sampler that
        # drew from anything but the logged distribution (e.g. VW's float32 unnormalised
        # scores, or the pre-cap distribution) shifts counts by far more than that allows.
        _, p_value = stats.chisquare(observed, predicted)
        assert p_value > 0.001, (slot, dict(zip(items, observed)), dict(zip(items, predicted.round(1))))
