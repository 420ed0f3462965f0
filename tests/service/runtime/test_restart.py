"""Decisions and the latest model survive a restart of the service."""

from __future__ import annotations

from typing import Any

from tests.helpers import slate_request


def test_decisions_and_model_survive_restart(make_app: Any, clock: Any) -> None:
    first = make_app()
    client = first.test_client()
    for i in range(30):
        body = client.post("/v1/slates", json=slate_request(event_id=f"r{i}", user=f"u{i}")).get_json()
        client.post(f"/v1/slates/r{i}/outcomes", json={"outcomes": [{"item_id": body["slate"][0]["item_id"], "type": "consume"}]})
    clock.advance(601)
    assert first.extensions["elicit"].learner.run_once().learned == 30
    probe = {"user_id": "probe", "context": {"device": "mobile", "hour": 13}, "candidates": slate_request()["candidates"], "slots": 2}
    before = first.extensions["elicit"].slates.registry.current()[0]
    first.extensions["elicit"].close()

    second = make_app()
    runtime = second.extensions["elicit"]
    assert runtime.slate_models.version_id == "slate-v1"
    assert runtime.store.count_decisions() == 30
    assert runtime.store.get_decision("r7")["learn_version"] == 1
    after = runtime.slates.registry.current()[0]
    texts = [f"|I id=f{i}" for i in range(5)]
    assert before.slot_pmf("|U a=b", texts, "|S position=0").tolist() == after.slot_pmf("|U a=b", texts, "|S position=0").tolist()
    response = second.test_client().post("/v1/slates", json={**probe, "event_id": "after"})
    assert response.status_code == 201 and response.get_json()["model_version"] == "slate-v1"
