"""The Personalizer surface's rules over HTTP: error bodies, versions, aggregation, `elicit ope`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from service.cli.main import main

Q = "?api-version=2022-09-01-preview"
ACTIONS = [{"id": f"a{i}", "features": [{"kind": {"n": f"k{i}"}}, {"weight": i / 10}]} for i in range(4)]


def subscription(app: Any, client: Any) -> dict[str, str]:
    """A decide-scope key as Personalizer's ``Ocp-Apim-Subscription-Key``, and the client's
    own admin Bearer key switched off, so the subscription key alone authenticates."""
    key, _ = app.extensions["elicit"].keys.create("decide", "personalizer-test", rate_per_s=0)
    client.api_key = None
    return {"Ocp-Apim-Subscription-Key": key}


@pytest.fixture
def h(app: Any, client: Any) -> dict[str, str]:
    return subscription(app, client)


def error(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert set(body) == {"error"} and response.headers["x-ms-error-code"] == body["error"]["code"]
    return body["error"]


def test_features_are_flattened_and_bad_ones_named(client: Any, runtime: Any, h: dict[str, str]) -> None:
    body = {
        "contextFeatures": [{"user": {"geo": {"city": "Paris"}, "tags": ["a", "b"], "gone": None}}, {"emb": [0.5, 2]},
                            {"user": {"age": 30}}],
        "actions": [{"id": "x", "features": [{"price": 9.5}]}, {"id": "y"}],
        "eventId": "f1",
    }
    assert client.post("/personalizer/v1.0/rank", json=body, headers=h).status_code == 201
    stored = runtime.store.get_decision("f1")
    assert stored["context"] == {"user": {"geo.city": "Paris", "tags": ["a", "b"], "age": 30}, "emb.0": 0.5, "emb.1": 2}
    assert stored["candidates"][0]["features"] == {"price": 9.5}

    mixed = {"actions": [{"id": "x", "features": [{"bad": [1, "two"]}]}]}
    err = error(client.post("/personalizer/v1.0/rank", json=mixed, headers=h))
    assert err["code"] == "InvalidRankRequest" and err["target"] == "actions[0].features[0].bad"
    not_objects = {"contextFeatures": ["device=tv"], "actions": ACTIONS}
    assert error(client.post("/personalizer/v1.0/rank", json=not_objects, headers=h))["target"] == "contextFeatures[0]"
    duplicate = {"actions": [ACTIONS[0], ACTIONS[0]]}
    assert error(client.post("/personalizer/v1.0/rank", json=duplicate, headers=h))["target"] == "actions[1].id"
    assert runtime.store.count_decisions() == 1


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/personalizer/rank", 404, "ResourceNotFound"),  # no api-version
        ("/personalizer/rank?api-version=2019-01-01", 404, "ResourceNotFound"),
        ("/personalizer/v9.9/rank", 404, "ResourceNotFound"),
        ("/personalizer/v1.0/configurations/service", 404, "ResourceNotFound"),
        ("/personalizer/evaluations" + Q, 404, "ResourceNotFound"),
    ],
)
def test_versions_and_unsupported_operations(client: Any, path: str, status: int, code: str, h: dict[str, str]) -> None:
    response = client.post(path, json={"actions": ACTIONS}, headers=h)
    assert response.status_code == status and error(response)["code"] == code


def test_bodies_keys_and_event_ids(make_app: Any) -> None:
    app = make_app(MAX_CONTENT_LENGTH=2000)
    client = app.test_client()
    h = subscription(app, client)
    other, _ = app.extensions["elicit"].keys.create("decide")
    assert client.post("/personalizer/v1.0/rank", json={"actions": ACTIONS}, headers={"Ocp-Apim-Subscription-Key": other}).status_code == 201
    assert client.post("/personalizer/v1.0/rank", json={"actions": ACTIONS}).status_code == 401
    read_only, _ = app.extensions["elicit"].keys.create("read")
    forbidden = client.post("/personalizer/v1.0/rank", json={"actions": ACTIONS}, headers={"Ocp-Apim-Subscription-Key": read_only})
    assert forbidden.status_code == 403 and error(forbidden)["code"] == "403"
    not_json = client.post("/personalizer/v1.0/rank", data="{", content_type="application/json", headers=h)
    assert not_json.status_code == 400 and error(not_json)["code"] == "BadRequest"
    big = client.post("/personalizer/v1.0/rank", json={"actions": ACTIONS, "pad": "x" * 3000}, headers=h)
    assert big.status_code == 413 and error(big)["code"] == "PayloadSizeExceeded"
    long_id = client.post("/personalizer/v1.0/rank", json={"actions": ACTIONS, "eventId": "e" * 200}, headers=h)
    assert long_id.status_code == 400 and error(long_id)["target"] == "eventId"
    assert client.post("/personalizer/v1.0/rank", json={"actions": ACTIONS, "eventId": "same"}, headers=h).status_code == 201
    reused = client.post("/personalizer/v1.0/rank", json={"actions": ACTIONS[:2], "eventId": "same"}, headers=h)
    assert reused.status_code == 409 and error(reused) == {
        "code": "InvalidRankRequest", "message": "event_id was already used for a different request", "target": "event_id"}
    assert app.extensions["elicit"].store.count_decisions() == 2


def test_multislot_rules(client: Any, runtime: Any, h: dict[str, str]) -> None:
    slots = [{"id": "s0", "baselineAction": "a0", "excludedActions": ["a1", "a2", "a3"]},
             {"id": "s1", "baselineAction": "a1", "excludedActions": ["nope"]}]
    ok = client.post("/personalizer/multislot/rank" + Q, json={"actions": ACTIONS, "slots": slots, "eventId": "m"}, headers=h)
    assert ok.status_code == 201 and ok.get_json()["slots"][0] == {"id": "s0", "rewardActionId": "a0"}
    cases = [
        ([{"id": "s0", "baselineAction": "zz"}], "slots[0].baselineAction"),
        ([{"id": "s0", "baselineAction": "a0", "excludedActions": ["a0"]}], "slots[0].baselineAction"),
        ([{"id": "s0", "baselineAction": "a0"}, {"id": "s0", "baselineAction": "a1"}], "slots[1].id"),
        ([{"id": "s0"}], "slots[0].baselineAction"),
        ([{"id": f"s{i}", "baselineAction": f"a{i % 4}"} for i in range(5)], "slots"),
    ]
    for bad_slots, target in cases:
        response = client.post("/personalizer/v1.1-preview.3/multislot/rank", json={"actions": ACTIONS, "slots": bad_slots}, headers=h)
        assert response.status_code == 400 and error(response)["target"] == target, bad_slots
    unknown_slot = client.post("/personalizer/multislot/events/m/reward" + Q,
                               json={"reward": [{"slotId": "s0", "value": 1}, {"slotId": "s9", "value": 1}]}, headers=h)
    assert unknown_slot.status_code == 400 and error(unknown_slot)["target"] == "reward[1].slotId"
    assert runtime.store.outcomes_for(["m"])["m"] == []  # the valid first entry was not written either


def test_sum_aggregation_adds_rewards_and_a_bare_number_is_a_reward(make_app: Any, clock: Any) -> None:
    app = make_app(PERSONALIZER_REWARD_AGGREGATION="sum")
    client, runtime = app.test_client(), app.extensions["elicit"]
    h = subscription(app, client)
    client.post("/personalizer/v1.0/rank", json={"actions": ACTIONS, "eventId": "s"}, headers=h)
    for value in (0.5, 0.25):
        assert client.post("/personalizer/v1.0/events/s/reward", json={"value": value}, headers=h).status_code == 204
    assert client.post("/personalizer/v1.0/events/s/reward", json=0.75, headers=h).status_code == 204
    clock.advance(601)
    runtime.learner.run_once()
    assert runtime.store.get_decision("s")["reward"] == [1.0]  # 1.5, clipped as every slate reward is


def test_personalizer_decisions_are_in_elicit_ope(client: Any, runtime: Any, runner: Any, clock: Any, h: dict[str, str]) -> None:
    """Rank and multi-slot decisions are slate decisions: `elicit ope` values them like native ones.

    Decisions made by the untrained model are uniform over each slot's allowed actions, so
    the ``uniform`` target must reproduce the logged value with every weight exactly 1 —
    which holds only if the replay honours per-slot exclusions.
    """
    rng = np.random.default_rng(5)
    rewards = []
    for i in range(60):
        if i % 2:
            body = client.post("/personalizer/v1.0/rank", json={"actions": ACTIONS, "excludedActions": ["a3"]}, headers=h).get_json()
            reward = 1.0 if body["rewardActionId"] == "a0" else 0.0
            client.post(f"/personalizer/v1.0/events/{body['eventId']}/reward", json={"value": reward}, headers=h)
            rewards.append(reward)
        else:
            slots = [{"id": "hero", "baselineAction": "a0", "excludedActions": ["a1", "a2"]},
                     {"id": "side", "baselineAction": "a1", "excludedActions": [str(x) for x in rng.choice(["a0", "a3"], 1)]}]
            body = client.post("/personalizer/multislot/rank" + Q, json={"actions": ACTIONS, "slots": slots}, headers=h).get_json()
            values = [{"slotId": s["id"], "value": 0.5 if s["rewardActionId"] == "a3" else 0.0} for s in body["slots"]]
            client.post(f"/personalizer/multislot/events/{body['eventId']}/reward" + Q, json={"reward": values}, headers=h)
            rewards.append(sum(v["value"] for v in values))
    clock.advance(601)
    assert runtime.learner.run_once().learned == 60

    result = runner.invoke(main, ["ope", "--json", "--policy", "logged", "--policy", "uniform"])
    assert result.exit_code == 0, result.output
    rows = {(row["policy"], row["estimator"]): row for row in json.loads(result.output)}
    logged, uniform = rows[("logged", "CascadeIPS")], rows[("uniform", "CascadeIPS")]
    assert logged["decisions"] == uniform["decisions"] == 60
    assert logged["value"] == pytest.approx(np.mean(rewards), abs=1e-12)
    assert uniform["max_weight"] == pytest.approx(1.0) and uniform["value"] == pytest.approx(logged["value"])
