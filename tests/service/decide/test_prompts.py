"""POST /v1/prompts, responses and feedback over HTTP: happy paths and every error rule."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from policies.prompts import DEFAULT_PROMPT_ACTIONS

PROMPT = {"user_id": "u1", "item_id": "m1", "context": {"device": "tv"}}


def prompt(client: Any, **changes: Any) -> Any:
    return client.post("/v1/prompts", json={**PROMPT, **changes})


def asked(client: Any, runtime: Any, fmt: str | None = None, user: str = "u1", item: str = "m1", tries: int = 200) -> str:
    """The event id of a decision that showed a prompt (of ``fmt`` if given); the untrained
    policy is uniform, so a few tries find one."""
    for _ in range(tries):
        body = prompt(client, user_id=user, item_id=item).get_json()
        if body["ask"] and (fmt is None or body["format"] == fmt):
            return body["event_id"]
    raise AssertionError("no prompt of that format was shown")


def declined(client: Any) -> str:
    for _ in range(200):
        body = prompt(client, user_id="quiet").get_json()
        if not body["ask"]:
            return body["event_id"]
    raise AssertionError("every decision asked")


def test_decision_is_logged_with_its_distribution_and_derived_context(client: Any, runtime: Any) -> None:
    response = prompt(client, event_id="p1")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"event_id", "ask", "format", "visibility", "probability", "model_version"}
    assert body["event_id"] == "p1" and body["model_version"] == "prompt-v0"
    assert body["ask"] == (body["format"] is not None) == (body["visibility"] is not None)
    stored = runtime.store.get_decision("p1")
    assert stored["kind"] == "prompt" and stored["actions"] == list(DEFAULT_PROMPT_ACTIONS)
    assert stored["context"] == {"device": "tv"} and stored["derived"]["prompts_24h"] == 0
    assert stored["distribution"][stored["chosen"]["index"]] == stored["chosen"]["probability"] == body["probability"]
    assert stored["actions"][stored["chosen"]["index"]] == stored["chosen"]["action"]
    assert sum(stored["distribution"]) == pytest.approx(1.0, abs=1e-12) and min(stored["distribution"]) > 0
    assert stored["window_end"] - stored["t"] == 600_000 and stored["response"] is None
    assert "u1" not in json.dumps(stored, default=str)


def test_repeated_event_id_replays_and_counts_the_prompt_once(client: Any, runtime: Any) -> None:
    first = prompt(client, event_id="same")
    again = prompt(client, event_id="same")
    assert (first.status_code, again.status_code) == (201, 200) and first.get_json() == again.get_json()
    assert runtime.store.count_decisions() == 1
    assert prompt(client, event_id="same", item_id="other").status_code == 409
    client.post("/v1/slates", json={"user_id": "u", "candidates": [{"id": "a"}], "slots": 1, "event_id": "slate-1"})
    assert prompt(client, event_id="slate-1").status_code == 409  # an id used by a slate
    assert runtime.event_writer.flush(5)  # counted as shown behind the response (service/decide/event_writer.py)
    shown = len((runtime.store.get_user(runtime.prompts._user("u1")) or {}).get("prompts") or [])
    assert shown == (1 if first.get_json()["ask"] else 0)


def test_derived_context_reflects_the_users_history(client: Any, runtime: Any, clock: Any) -> None:
    slate = client.post("/v1/slates", json={
        "user_id": "u1", "candidates": [{"id": "m1", "category": "film"}, {"id": "m2", "category": "doc"}], "slots": 2,
        "event_id": "s1"}).get_json()
    client.post("/v1/slates/s1/outcomes", json={"outcomes": [{"item_id": "m1", "type": "consume", "value": 0.5}]})
    assert client.post("/v1/feedback", json={"user_id": "u1", "item_id": "m2", "value": "up", "visibility": "private"}).status_code == 201
    for _ in range(2):
        asked(client, runtime)
        clock.advance(2 * 3600)
    event = prompt(client, event_id="probe").get_json()["event_id"]
    derived = runtime.store.get_decision(event)["derived"]
    assert derived["prompts_1h"] == 0 and derived["prompts_24h"] == 2 and derived["prompts_today"] == "2"
    assert derived["since_last_prompt"] == "lt1d" and derived["hours_since_last_prompt"] == 2.0
    assert derived["consumed"] is True and derived["consumed_amount"] == 0.5
    assert derived["feedback_count"] == 1
    assert derived["berserk_share"] == 0.5  # one of the two slots served was from the liked category "doc"
    assert len(slate["slate"]) == 2
    clock.advance(24 * 3600)
    later = runtime.store.get_decision(prompt(client).get_json()["event_id"])["derived"]
    assert later["prompts_24h"] == 0 and later["berserk_share"] == 0.0 and later["since_last_prompt"] == "ge1d"


def test_answer_is_feedback_with_the_prompts_visibility_and_feeds_the_slate_reward(client: Any, runtime: Any, clock: Any) -> None:
    client.post("/v1/slates", json={"user_id": "u1", "candidates": [{"id": "m1", "category": "film", "creator": "c1"}],
                                     "slots": 1, "event_id": "s1"})
    event = asked(client, runtime, fmt="graded")
    response = client.post(f"/v1/prompts/{event}/response", json={"response": "double_thumbs_up"})
    assert response.status_code == 202 and response.get_json() == {"event_id": event, "accepted": True, "in_window": True}
    decision = runtime.store.get_decision(event)
    assert decision["response"]["type"] == "double_thumbs_up" and decision["response"]["applied_at"] is not None
    stored = list(runtime.store.feedback.find({"event_id": event}))
    assert len(stored) == 1 and stored[0]["value"] == "double_up" and stored[0]["source"] == "prompt"
    assert stored[0]["visibility"] == decision["chosen"]["visibility"] and stored[0]["category"] == "film"
    user = runtime.store.get_user(runtime.prompts._user("u1"))
    assert user["feedback_count"] == 1 and user["answered"]["graded"] == 1
    assert {(lift["on"], lift["value"]) for lift in user["lifts"]} == {("category", "film"), ("creator", "c1")}
    # the slate that served m1 gets the explicit value as an outcome: double_up → reward 1.0
    assert [o["outcomes"][0]["type"] for o in runtime.store.outcomes_for(["s1"])["s1"]] == ["double_thumbs_up"]
    clock.advance(601)
    runtime.learner.run_once()
    assert runtime.store.get_decision("s1")["reward"] == [1.0]
    assert runtime.store.get_decision(event)["reward"] == pytest.approx(math.log2(3))


def test_thumbs_up_is_remembered_but_lifts_no_cap(client: Any, runtime: Any) -> None:
    client.post("/v1/slates", json={"user_id": "u1", "candidates": [{"id": "m1", "category": "film"}], "slots": 1})
    assert client.post("/v1/feedback", json={"user_id": "u1", "item_id": "m1", "value": "up", "visibility": "public"}).status_code == 201
    user = runtime.store.get_user(runtime.prompts._user("u1"))
    assert user["liked"][0]["value"] == "up" and not user.get("lifts")
    client.post("/v1/feedback", json={"user_id": "u1", "item_id": "m1", "value": "down", "visibility": "private"})
    user = runtime.store.get_user(runtime.prompts._user("u1"))
    assert user["disliked"][0]["item_id"] == "m1" and user["feedback_count"] == 2


@pytest.mark.parametrize(("response", "reward"), [("thumbs_up", 1.0), ("dismissed", -0.1), ("abandoned", -1.0), (None, 0.0)])
def test_rewards_follow_design_defaults(client: Any, runtime: Any, clock: Any, response: str | None, reward: float) -> None:
    event = asked(client, runtime, fmt="single")
    if response is not None:
        assert client.post(f"/v1/prompts/{event}/response", json={"response": response}).status_code == 202
    none = declined(client)
    clock.advance(601)
    assert runtime.learner.run_once().by_kind["prompt"].learned >= 2
    assert runtime.store.get_decision(event)["reward"] == pytest.approx(reward)
    assert runtime.store.get_decision(none)["reward"] == 0.0


def test_a_response_after_the_window_is_feedback_but_counts_as_ignored(client: Any, runtime: Any, clock: Any) -> None:
    event = asked(client, runtime, fmt="single")
    clock.advance(601)
    response = client.post(f"/v1/prompts/{event}/response", json={"response": "thumbs_up"})
    assert response.status_code == 202 and response.get_json()["in_window"] is False
    runtime.learner.run_once()
    assert runtime.store.get_decision(event)["reward"] == 0.0
    assert runtime.store.count_feedback({"event_id": event}) == 1


def test_public_feedback_lists_only_public_feedback(client: Any, runtime: Any) -> None:
    for item, visibility in [("a", "public"), ("b", "private"), ("c", "public")]:
        client.post("/v1/feedback", json={"user_id": "u9", "item_id": item, "value": "up", "visibility": visibility})
    body = client.get("/v1/users/u9/public-feedback").get_json()
    assert body["user_id"] == "u9" and sorted(f["item_id"] for f in body["feedback"]) == ["a", "c"]
    assert client.get("/v1/users/u9/public-feedback?limit=1").get_json()["feedback"][0]["item_id"] in {"a", "c"}
    assert client.get("/v1/users/nobody/public-feedback").get_json()["feedback"] == []
    bad = client.get("/v1/users/u9/public-feedback?limit=0")
    assert bad.status_code == 422 and bad.get_json()["field"] == "limit"


# errors ------------------------------------------------------------------------------------


def test_response_rules(client: Any, runtime: Any) -> None:
    single = asked(client, runtime, fmt="single")
    wrong = client.post(f"/v1/prompts/{single}/response", json={"response": "double_thumbs_up"})
    assert wrong.status_code == 422 and wrong.get_json()["field"] == "response"
    assert runtime.store.get_decision(single)["response"] is None  # nothing written
    assert client.post(f"/v1/prompts/{single}/response", json={"response": "thumbs_down"}).status_code == 202
    second = client.post(f"/v1/prompts/{single}/response", json={"response": "thumbs_up"})
    assert second.status_code == 409 and second.get_json()["field"] == "response"
    same_again = client.post(f"/v1/prompts/{single}/response", json={"response": "thumbs_down"})
    assert same_again.status_code == 409
    assert runtime.store.count_feedback() == 1

    graded = asked(client, runtime, fmt="graded")
    assert client.post(f"/v1/prompts/{graded}/response", json={"response": "dismissed"}).status_code == 202
    assert client.post(f"/v1/prompts/{graded}/response", json={"response": "double_thumbs_up"}).status_code == 409
    assert runtime.store.count_feedback() == 1  # a dismissal is not feedback

    none = declined(client)
    refused = client.post(f"/v1/prompts/{none}/response", json={"response": "thumbs_up"})
    assert refused.status_code == 409 and refused.get_json()["field"] == "event_id"

    unknown = client.post("/v1/prompts/nope/response", json={"response": "thumbs_up"})
    assert unknown.status_code == 404 and unknown.get_json()["field"] == "event_id"
    client.post("/v1/slates", json={"user_id": "u", "candidates": [{"id": "a"}], "slots": 1, "event_id": "slate-2"})
    assert client.post("/v1/prompts/slate-2/response", json={"response": "thumbs_up"}).status_code == 404
    assert client.post("/v1/slates/p-unknown/outcomes", json={"outcomes": [{"item_id": "a", "type": "click"}]}).status_code == 404


def test_an_interrupted_response_is_completed_by_its_retry(client: Any, runtime: Any) -> None:
    event = asked(client, runtime, fmt="single")
    decision = runtime.store.get_decision(event)
    # As if the worker died right after recording the response: no side effects yet.
    assert runtime.store.set_response(event, {"type": "thumbs_up", "t": decision["t"], "applied_at": None})
    assert client.post(f"/v1/prompts/{event}/response", json={"response": "thumbs_up"}).status_code == 202
    assert runtime.store.count_feedback({"event_id": event}) == 1
    assert client.post(f"/v1/prompts/{event}/response", json={"response": "thumbs_up"}).status_code == 409
    assert runtime.store.get_user(decision["user"])["feedback_count"] == 1


RESPONSE_ERRORS: list[tuple[str, Any, int, str]] = [
    ("unknown response", {"response": "love_it"}, 422, "response"),
    ("feedback value as response", {"response": "up"}, 422, "response"),
    ("missing response", {}, 422, "response"),
    ("response wrong type", {"response": 1}, 422, "response"),
    ("extra field", {"response": "thumbs_up", "visibility": "public"}, 422, "visibility"),
    ("not an object", ["thumbs_up"], 400, "body"),
]


@pytest.mark.parametrize(("name", "payload", "status", "field"), RESPONSE_ERRORS, ids=[c[0] for c in RESPONSE_ERRORS])
def test_bad_responses_are_refused(client: Any, runtime: Any, name: str, payload: Any, status: int, field: str) -> None:
    event = asked(client, runtime, fmt="graded")
    response = client.post(f"/v1/prompts/{event}/response", json=payload)
    assert response.status_code == status and response.get_json()["field"] == field
    assert runtime.store.get_decision(event)["response"] is None


PROMPT_ERRORS: list[tuple[str, Any, str]] = [
    ("missing user_id", {"item_id": "m1"}, "user_id"),
    ("missing item_id", {"user_id": "u1"}, "item_id"),
    ("empty item_id", {**PROMPT, "item_id": ""}, "item_id"),
    ("context wrong type", {**PROMPT, "context": ["tv"]}, "context"),
    ("context list of numbers", {**PROMPT, "context": {"tags": [1]}}, "context.tags[0]"),
    ("event_id wrong type", {**PROMPT, "event_id": 5}, "event_id"),
    ("unknown field", {**PROMPT, "format": "graded"}, "format"),
]


@pytest.mark.parametrize(("name", "payload", "field"), PROMPT_ERRORS, ids=[c[0] for c in PROMPT_ERRORS])
def test_bad_prompt_requests_log_nothing(client: Any, runtime: Any, name: str, payload: Any, field: str) -> None:
    response = client.post("/v1/prompts", json=payload)
    assert response.status_code == 422 and response.get_json()["field"] == field
    assert runtime.store.count_decisions() == 0


FEEDBACK = {"user_id": "u1", "item_id": "m1", "value": "up", "visibility": "public"}
FEEDBACK_ERRORS: list[tuple[str, Any, str]] = [
    ("response name as value", {**FEEDBACK, "value": "thumbs_up"}, "value"),
    ("unknown value", {**FEEDBACK, "value": "love"}, "value"),
    ("unknown visibility", {**FEEDBACK, "visibility": "friends"}, "visibility"),
    ("missing visibility", {k: v for k, v in FEEDBACK.items() if k != "visibility"}, "visibility"),
    ("missing item", {k: v for k, v in FEEDBACK.items() if k != "item_id"}, "item_id"),
    ("extra field", {**FEEDBACK, "event_id": "x"}, "event_id"),
]


@pytest.mark.parametrize(("name", "payload", "field"), FEEDBACK_ERRORS, ids=[c[0] for c in FEEDBACK_ERRORS])
def test_bad_feedback_is_refused_and_writes_nothing(client: Any, runtime: Any, name: str, payload: Any, field: str) -> None:
    response = client.post("/v1/feedback", json=payload)
    assert response.status_code == 422 and response.get_json()["field"] == field
    assert runtime.store.count_feedback() == 0 and runtime.store.get_user(runtime.prompts._user("u1")) is None
