"""Feature importance on a planted log: the informative feature first, the noise last.

Users of two groups (context ``group``: 70 % ``g0``, 30 % ``g1``) each like one genre of
item (item feature ``genre``); the context also carries ``noise``, a token drawn uniformly
from 50 values that has nothing to do with the outcome. The evaluated setting crosses the
context with item features and item identity (``-q UA -q UI``): without ``group`` nothing
can be personalized (the best is "genre a for everyone": ≈ 0.66 instead of ≈ 0.9); without
``genre`` the item identities still carry it (a slower start only); without ``noise``
nothing is lost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

ARGS = "--ccb_explore_adf -q UA -q UI --quiet"
ITEMS = [{"id": f"{genre}{i}", "category": f"c{genre}{i}", "creator": f"k{genre}{i}", "kind": "repeatable",
          "features": {"genre": genre}} for genre in "ab" for i in range(3)]
N = 1000


@pytest.mark.slow
def test_the_planted_informative_feature_ranks_first_and_the_noise_last(make_app: Any, clock: Any) -> None:
    app = make_app(SLATE_VW_ARGS=ARGS, EVALUATION_MIN_DECISIONS=500)
    client, runtime = app.test_client(), app.extensions["elicit"]
    rng = np.random.default_rng(23)
    for i in range(N):
        group = "g0" if rng.random() < 0.7 else "g1"
        pool = [ITEMS[j] for j in rng.permutation(len(ITEMS))]
        body = client.post("/v1/slates", json={"user_id": f"u{i}", "candidates": pool, "slots": 1,
                                               "context": {"group": group, "noise": f"n{rng.integers(50)}"}}).get_json()
        item = body["slate"][0]["item_id"]
        liked = (item[0] == "a") == (group == "g0")
        kind = "consume" if rng.random() < (0.9 if liked else 0.1) else "skip"
        client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": [{"item_id": item, "type": kind}]})
    clock.advance(601)
    runtime.learner.run_once()

    rows = runtime.evaluations.features("slate", 0, clock.now_ms(), ["context.group", "context.noise", "item.genre"],
                                        namespaces=False)
    print([(row["feature"], round(row["importance"], 1), round(row["drop"], 3), round(row["low"], 3)) for row in rows])
    assert [row["feature"] for row in rows][0] == "context.group" and rows[-1]["feature"] == "context.noise"
    group, noise = rows[0], rows[-1]
    assert group["importance"] == 100.0 and group["low"] > 0  # its drop's interval excludes 0
    assert noise["importance"] < 20 and noise["low"] < 0 < noise["high"]
