"""POST /v1/slates, outcomes and activation over HTTP, happy paths and every error rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import candidates, slate_request


def test_slate_is_logged_with_its_distribution_before_the_answer(client: Any, runtime: Any) -> None:
    response = client.post("/v1/slates", json=slate_request(n=10, slots=3, event_id="e1"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["event_id"] == "e1" and body["model_version"] == "slate-v0"
    items = [slot["item_id"] for slot in body["slate"]]
    assert [slot["slot"] for slot in body["slate"]] == [0, 1, 2]
    assert len(set(items)) == 3 and set(items) <= {f"f{i}" for i in range(10)}

    stored = runtime.store.get_decision("e1")
    assert stored["kind"] == "slate" and stored["activated"] is True
    assert "u1" not in json.dumps(stored, default=str)  # only the keyed hash of the user id
    for slot, choice in zip(body["slate"], stored["chosen"]):
        assert choice["item_id"] == slot["item_id"] and choice["probability"] == slot["probability"]
        # the logged probability is the distribution's entry for the served item
        assert choice["distribution"][choice["allowed"].index(choice["item_id"])] == choice["probability"]
        assert sum(choice["distribution"]) == pytest.approx(1.0, abs=1e-12)
        assert min(choice["distribution"]) > 0
    # slot k may not hold an item an earlier slot holds; caps only ever shrink what is allowed
    for before, after in zip(stored["chosen"], stored["chosen"][1:]):
        assert set(after["allowed"]) < set(before["allowed"]) and before["item_id"] not in after["allowed"]
    assert len(stored["chosen"][0]["allowed"]) == 10


def test_repeated_event_id_returns_the_stored_decision_and_logs_nothing(client: Any, runtime: Any) -> None:
    first = client.post("/v1/slates", json=slate_request(event_id="same"))
    again = client.post("/v1/slates", json=slate_request(event_id="same"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    assert runtime.store.count_decisions() == 1
    different = client.post("/v1/slates", json=slate_request(n=5, event_id="same"))
    assert different.status_code == 409 and different.get_json()["field"] == "event_id"


def test_slots_with_features(client: Any, runtime: Any) -> None:
    request = slate_request(n=4)
    request["slots"] = [{"id": "hero", "features": {"size": "large"}}, {"id": "side", "features": {"size": "small"}}]
    body = client.post("/v1/slates", json=request).get_json()
    assert [slot["slot_id"] for slot in body["slate"]] == ["hero", "side"]


def test_outcomes_are_idempotent_and_checked(client: Any, runtime: Any) -> None:
    body = client.post("/v1/slates", json=slate_request(event_id="e2")).get_json()
    item = body["slate"][0]["item_id"]
    payload = {"outcomes": [{"item_id": item, "type": "consume"}], "outcome_id": "o1"}
    first = client.post("/v1/slates/e2/outcomes", json=payload)
    second = client.post("/v1/slates/e2/outcomes", json=payload)
    assert first.status_code == second.status_code == 202
    assert first.get_json()["duplicate"] is False and second.get_json()["duplicate"] is True
    assert len(runtime.store.outcomes_for(["e2"])["e2"]) == 1

    unknown = client.post("/v1/slates/nope/outcomes", json=payload)
    assert unknown.status_code == 404 and unknown.get_json()["field"] == "event_id"
    served = {slot["item_id"] for slot in body["slate"]}
    outsider = next(c["id"] for c in candidates(10) if c["id"] not in served)
    wrong = client.post("/v1/slates/e2/outcomes", json={"outcomes": [{"item_id": outsider, "type": "click"}]})
    assert wrong.status_code == 422 and wrong.get_json()["field"] == "outcomes[0].item_id"
    bad_type = client.post("/v1/slates/e2/outcomes", json={"outcomes": [{"item_id": item, "type": "love"}]})
    assert bad_type.status_code == 422 and bad_type.get_json()["field"] == "outcomes[0].type"
    assert len(runtime.store.outcomes_for(["e2"])["e2"]) == 1


def test_deferred_decisions_are_learned_only_once_activated(client: Any, runtime: Any, clock: Any) -> None:
    client.post("/v1/slates", json=slate_request(event_id="d1", defer_activation=True))
    clock.advance(3600)
    assert runtime.learner.run_once().learned == 0
    assert client.post("/v1/events/d1/activate").status_code == 202
    assert client.post("/v1/events/unknown/activate").status_code == 404
    assert runtime.learner.run_once().learned == 0  # its window starts at activation
    clock.advance(601)
    assert runtime.learner.run_once().learned == 1
    assert runtime.store.get_decision("d1")["learn_version"] == 1


def big_body() -> bytes:
    request = slate_request(n=10)
    request["context"] = {f"k{i}": "x" * 1000 for i in range(150)}
    request["candidates"] = candidates(10)
    return json.dumps({**request, "padding": "y" * (1 << 20)}).encode()


def _with(**changes: Any) -> dict[str, Any]:
    return {**slate_request(n=5, slots=2), **changes}


ERROR_CASES: list[tuple[str, Any, int, str]] = [
    ("malformed JSON", b'{"user_id": "u", ', 400, "body"),
    ("not an object", b"[1, 2]", 400, "body"),
    ("NaN", b'{"user_id": "u", "candidates": [{"id": "a", "features": {"x": NaN}}], "slots": 1}', 400, "body"),
    ("Infinity", b'{"user_id": "u", "candidates": [{"id": "a"}], "slots": 1, "context": {"x": -Infinity}}', 400, "body"),
    ("overflow", b'{"user_id": "u", "candidates": [{"id": "a", "features": {"x": 1e999}}], "slots": 1}', 400, "body"),
    ("overflow, signed exponent", b'{"user_id": "u", "candidates": [{"id": "a"}], "slots": 1, "context": {"x": 2E+0400}}', 400, "body"),
    ("overflow, 400 digits", b'{"user_id": "u", "candidates": [{"id": "a"}], "slots": 1, "context": {"x": 1' + b"0" * 400 + b'.5}}', 400, "body"),
    ("missing user_id", {k: v for k, v in _with().items() if k != "user_id"}, 422, "user_id"),
    ("user_id wrong type", _with(user_id=7), 422, "user_id"),
    ("candidates wrong type", _with(candidates="a,b"), 422, "candidates"),
    ("no candidates", _with(candidates=[]), 422, "candidates"),
    ("candidate without id", _with(candidates=[{"features": {}}]), 422, "candidates[0].id"),
    ("duplicate candidate ids", _with(candidates=[{"id": "a"}, {"id": "a"}], slots=1), 422, "candidates[1].id"),
    ("more slots than candidates", _with(candidates=[{"id": "a"}, {"id": "b"}], slots=3), 422, "slots"),
    # a count no request could fill: refused before anything is built per slot (once, it
    # built 10**12 slot objects until memory ran out)
    ("a trillion slots", _with(candidates=[{"id": "a"}, {"id": "b"}, {"id": "c"}], slots=10**12), 422, "slots"),
    ("zero slots", _with(slots=0), 422, "slots"),
    ("slots wrong type", _with(slots="two"), 422, "slots"),
    ("bad kind", _with(candidates=[{"id": "a", "kind": "forever"}], slots=1), 422, "candidates[0].kind"),
    ("feature list of numbers", _with(context={"tags": [1, 2]}), 422, "context.tags[0]"),
    ("nested too deep", _with(context={"a": {"b": {"c": 1}}}), 422, "context.a.b"),
    ("unknown field", _with(colour="red"), 422, "colour"),
    ("too many candidates", _with(candidates=[{"id": str(i)} for i in range(501)]), 422, "candidates"),
    ("too many features", _with(candidates=[{"id": "a", "features": {f"f{i}": 1 for i in range(201)}}], slots=1), 422, "candidates[0].features"),
    ("body over 1 MiB", big_body(), 413, "body"),
]


@pytest.mark.parametrize(("name", "payload", "status", "field"), ERROR_CASES, ids=[case[0] for case in ERROR_CASES])
def test_bad_input_is_a_clear_4xx_and_logs_nothing(client: Any, runtime: Any, name: str, payload: Any, status: int, field: str) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = client.post("/v1/slates", data=data, content_type="application/json")
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["field"] == field and body["message"]
    assert runtime.store.count_decisions() == 0


def test_wrong_content_type_is_400(client: Any, runtime: Any) -> None:
    response = client.post("/v1/slates", data=json.dumps(slate_request()), content_type="text/plain")
    assert response.status_code == 400 and response.get_json()["field"] == "body"
    assert runtime.store.count_decisions() == 0


def test_unknown_route_is_json_404(client: Any) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_store_unreachable_is_503_without_a_stack_trace(make_app: Any) -> None:
    from service.store import free_port

    app = make_app(MONGO_URI=f"mongodb://127.0.0.1:{free_port()}/?directConnection=true", STORE_TIMEOUT_MS=300)
    client = app.test_client()
    # A key the worker never saw cannot be checked without the store (a known one could,
    # and its decisions would go to the spool: tests/system/test_durability.py).
    client.api_key = "ek_never-seen-before"
    response = client.post("/v1/slates", json=slate_request())
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "store_unavailable" and "Traceback" not in response.get_data(as_text=True)
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_explicit_feedback_shapes_the_next_slate_from_the_users_own_state(client: Any, runtime: Any, clock: Any) -> None:
    """A thumbs down keeps the item out; a double-up lifts its creator's cap (one per
    slate) for LIFT days. Both are read from the user's state document, where the feedback
    wrote them (service/decide/slate_state.py), not from the feedback log."""
    items = [{"id": f"c{k}", "category": f"cat{k}", "creator": "chef"} for k in range(3)] + [
        {"id": f"o{k}", "category": f"other{k}", "creator": f"solo{k}"} for k in range(3)]
    body = {"user_id": "fb", "candidates": items, "slots": 4}

    def chef_items() -> int:
        slate = client.post("/v1/slates", json=body).get_json()
        return sum(choice["item_id"].startswith("c") for choice in slate["slate"])

    assert max(chef_items() for _ in range(5)) == 1  # one per creator
    assert client.post("/v1/feedback", json={"user_id": "fb", "item_id": "o1", "value": "down",
                                             "visibility": "private"}).status_code == 201
    slate = client.post("/v1/slates", json=body).get_json()
    assert {"item_id": "o1", "reason": "thumbs_down"} in slate["excluded"]
    assert "o1" not in {choice["item_id"] for choice in slate["slate"]}
    assert client.post("/v1/feedback", json={"user_id": "fb", "item_id": "c0", "value": "double_up",
                                             "visibility": "private"}).status_code == 201
    # five candidates left for four slots: at most two non-chef items, so the lift shows at once
    assert min(chef_items() for _ in range(5)) >= 2
    runtime.store.feedback.delete_many({})  # the rules do not read the feedback log
    assert min(chef_items() for _ in range(3)) >= 2


def test_logged_item_bodies_are_named_by_their_canonical_hash(client: Any, runtime: Any) -> None:
    """The decider names each body for the store (service/decide/slates.py) instead of letting
    it hash again: the name must be the store's own canonical hash, whatever the key order."""
    from service.store.compact import item_hash

    features = [{"x": 1.5, "tags": ["a", "b"]}, {"tags": ["a", "b"], "x": 1.5}, {"x": 2.0}]
    candidates = [{"id": f"i{k}", "category": "c", "features": f} for k, f in enumerate(features)]
    for user in ("u1", "u2"):
        assert client.post("/v1/slates", json={"user_id": user, "candidates": candidates, "slots": 2}).status_code == 201
    bodies = list(runtime.store.db["logged_items"].find({}))
    assert len(bodies) == 2  # i0 and i1 are one body in two key orders
    for body in bodies:
        assert body.pop("_id") == item_hash(body)
