"""Offline evaluation, optimizer and safe apply on a log where the default arguments are poor.

The planted log: users of two groups (70 % ``g0``, 30 % ``g1``), six items of two genres;
``g0`` consumes genre ``a`` with probability 0.9 and genre ``b`` with 0.1, ``g1`` the
other way round. Slates of one slot are logged by the untrained model (uniform over the
six, probability 1/6 each). The configured arguments have no interactions, so the best
they can learn is "genre a for everyone" (value ≈ 0.7·0.9 + 0.3·0.1 = 0.66 once learned);
crossing context and item features (``-q UA``) can learn each group's genre (≈ 0.9).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from service.evaluate.search import Stage

POOR = "--ccb_explore_adf --quiet"
ITEMS = [{"id": f"{genre}{i}", "category": f"c{genre}{i}", "creator": f"k{genre}{i}", "kind": "repeatable",
          "features": {"genre": genre}} for genre in "ab" for i in range(3)]
N = 1500


def _simulated_log(client: Any, runtime: Any, clock: Any) -> None:
    rng = np.random.default_rng(17)
    for i in range(N):
        group = "g0" if rng.random() < 0.7 else "g1"
        pool = [ITEMS[j] for j in rng.permutation(len(ITEMS))]
        body = client.post("/v1/slates", json={"user_id": f"u{i}", "context": {"group": group},
                                               "candidates": pool, "slots": 1}).get_json()
        item = body["slate"][0]["item_id"]
        liked = (item[0] == "a") == (group == "g0")
        kind = "consume" if rng.random() < (0.9 if liked else 0.1) else "skip"
        client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": [{"item_id": item, "type": kind}]})
        if i % 20 == 19:
            clock.advance(1)
    clock.advance(601)
    assert runtime.learner.run_once().by_kind["slate"].learned == N


@pytest.fixture
def evaluated(make_app: Any, clock: Any) -> tuple[Any, Any, dict[str, Any]]:
    app = make_app(SLATE_VW_ARGS=POOR, EVALUATION_MIN_DECISIONS=500, APPLY_RETRAIN_DAYS=30)
    client, runtime = app.test_client(), app.extensions["elicit"]
    _simulated_log(client, runtime, clock)
    # Stage 1 only, on two values (a full search is 14 passes over the log).
    runtime.evaluations.stages = (Stage("interactions", ((), ("UA",)), "interactions"),)
    started = client.post("/v1/evaluations", json={"kind": "slate", "since": 0, "until": clock.now_ms(),
                                                   "settings": {"worse": f"{POOR} --ignore A --ignore I"}})
    assert started.status_code == 202, started.get_json()
    evaluation_id = started.get_json()["_id"]
    assert started.get_json()["status"] == "running"
    runtime.evaluations.threads[evaluation_id].join(timeout=120)
    doc = client.get(f"/v1/evaluations/{evaluation_id}").get_json()
    assert doc["status"] == "done", doc.get("error")
    return client, runtime, doc


@pytest.mark.slow
def test_the_optimizer_beats_poor_defaults_and_apply_switches_only_to_a_better_setting(evaluated: Any) -> None:
    client, runtime, doc = evaluated
    rows = {row["name"]: row for row in doc["result"]["policies"]}
    print({name: (round(r["value"], 3), round(r["low"], 3), round(r["high"], 3)) for name, r in rows.items()})
    assert set(rows) == {"logged", "uniform", "baseline", "live", "user:worse", "optimized"}
    live, optimized, worse = rows["live"], rows["optimized"], rows["user:worse"]
    assert live["vw_args"] == POOR and "-q UA" in optimized["vw_args"]
    # The optimized setting's interval lies above the default's value (and above its interval).
    assert optimized["low"] > live["value"] and optimized["low"] > live["high"]
    # The logged policy is uniform: its on-policy value, 0.7·(0.5) + 0.3·(0.5) = 0.5, ± its SE.
    assert abs(rows["logged"]["value"] - 0.5) < 0.05

    refused = client.post(f"/v1/evaluations/{doc['_id']}/apply", json={"policy": "user:worse"})
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert body["error"] == "not_better" and body["chosen"]["low"] == worse["low"] and body["live"]["low"] == live["low"]
    assert worse["value"] < live["value"]
    assert runtime.slate_models.version_id == "slate-v1"  # nothing changed

    applied = client.post(f"/v1/evaluations/{doc['_id']}/apply", json={})
    assert applied.status_code == 200, applied.get_json()
    assert applied.get_json()["model_version"] == "slate-v2" and applied.get_json()["decisions"] == N
    assert runtime.slate_models.version_id == "slate-v2"
    assert runtime.store.model_meta("slate-v2")["vw_args"] == optimized["vw_args"]
    settings = client.get("/v1/settings").get_json()["slate"]
    assert settings["vw_args"] == optimized["vw_args"] and settings["evaluation"] == doc["_id"]
    page = client.get(f"/evaluations/{doc['_id']}")
    assert page.status_code == 200 and b"optimized" in page.data and b"interactions" in page.data


def test_an_evaluation_needs_enough_decisions(make_app: Any, clock: Any) -> None:
    client = make_app(EVALUATION_MIN_DECISIONS=10).test_client()
    refused = client.post("/v1/evaluations", json={"kind": "slate"})
    assert refused.status_code == 422 and refused.get_json()["field"] == "since"
    assert "EVALUATION_MIN_DECISIONS = 10" in refused.get_json()["message"]
    bad = client.post("/v1/evaluations", json={"settings": {"x": "--ccb_explore_adf -d /etc/passwd"}})
    assert bad.status_code == 422 and bad.get_json()["field"] == "settings.x"
    assert client.get("/v1/evaluations/ev-nope").status_code == 404


def test_prompt_evaluations_value_every_policy_out_of_sample(make_app: Any) -> None:
    """The prompt path: IPS over prompt decisions, the learned policy with the serving floor."""
    from tests.service.reports.prompt_logs import START_MS, prompt_log

    app = make_app(EVALUATION_MIN_DECISIONS=300)
    runtime = app.extensions["elicit"]
    # Graded prompts are answered half the time, single ones a fifth: the truth of "never" is 0.
    prompt_log(runtime.store, START_MS, 400, np.random.default_rng(4), lambda fmt, vis: 0.5 if fmt == "graded" else 0.2)
    runtime.evaluations.stages = (Stage("cb_type", ("ips", "mtr"), "cb_type"),)
    result = runtime.evaluations.run("prompt", START_MS, START_MS + 86_400_000)
    rows = {row["name"]: row for row in result["policies"]}
    assert result["estimator"] == "IPS" and result["decisions"] == 400
    assert set(rows) == {"logged", "uniform", "baseline", "live", "optimized"}
    assert rows["baseline"]["value"] == 0.0 and rows["baseline"]["vw_args"] is None  # never asking earns no_prompt's 0
    assert rows["live"]["vw_args"] == runtime.config["PROMPT_VW_ARGS"]
    assert all(row["low"] <= row["value"] <= row["high"] for row in rows.values())
