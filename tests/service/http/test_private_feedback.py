"""Private feedback never leaves through a non-admin endpoint.

Users give private feedback (prompted and unprompted) on items whose ids appear nowhere
else, and public feedback on others. The prompt and feedback endpoints are exercised with
real requests, and then every other route the app has (whoever added it) is called with
placeholder arguments. No response may contain a private item id; the public ones come back.
"""

from __future__ import annotations

from typing import Any

from service.http.contract import spec_of

PRIVATE = ["secret-item-1", "secret-item-2"]
PUBLIC = ["shared-item-1", "shared-item-2"]


def test_no_response_of_any_endpoint_contains_private_feedback(app: Any, client: Any, runtime: Any, clock: Any) -> None:
    responses: list[Any] = []
    called: set[tuple[str, str]] = set()
    adapter = app.url_map.bind("localhost")

    def call(method: str, path: str, **kwargs: Any) -> Any:
        response = getattr(client, method)(path, **kwargs)
        responses.append(response)
        rule, _ = adapter.match(path.split("?")[0], method=method.upper(), return_rule=True)
        called.add((method.upper(), rule.rule))
        return response

    slate = call("post", "/v1/slates", json={"user_id": "alice", "candidates": [{"id": "m1"}, {"id": "m2"}], "slots": 1,
                                              "event_id": "s1", "defer_activation": True}).get_json()
    call("post", "/v1/slates/s1/outcomes", json={"outcomes": [{"item_id": slate["slate"][0]["item_id"], "type": "click"}]})
    call("post", "/v1/events/s1/activate")
    # prompted private feedback, through as many prompts as it takes to be asked privately
    answered = 0
    for i in range(200):
        body = call("post", "/v1/prompts", json={"user_id": "alice", "item_id": PRIVATE[0], "context": {}, "event_id": f"q{i}"}).get_json()
        if body["ask"] and body["visibility"] == "private":
            call("post", f"/v1/prompts/q{i}/response", json={"response": "thumbs_up"})
            answered += 1
            break
    assert answered == 1
    call("post", "/v1/feedback", json={"user_id": "alice", "item_id": PRIVATE[1], "value": "double_up", "visibility": "private"})
    for item in PUBLIC:
        call("post", "/v1/feedback", json={"user_id": "alice", "item_id": item, "value": "up", "visibility": "public"})
    call("post", "/v1/prompts", json={"user_id": "alice", "item_id": PUBLIC[0], "context": {}})
    clock.advance(601)
    runtime.learner.run_once()
    call("post", "/v1/prompts", json={"user_id": "alice", "item_id": "after", "context": {}})
    public = call("get", "/v1/users/alice/public-feedback")
    call("get", "/v1/users/alice/public-feedback?limit=1000")
    call("get", "/healthz")
    call("get", "/readyz")
    # error paths too: a refusal must not echo anything private either
    call("post", "/v1/prompts/q0/response", json={"response": "thumbs_down"})
    call("post", "/v1/prompts/nope/response", json={"response": "thumbs_down"})
    call("post", "/v1/feedback", json={"user_id": "alice", "item_id": PRIVATE[0], "value": "meh", "visibility": "private"})

    # Every other route of the app (other resources, future ones): called with placeholder
    # arguments and an empty body, so at least its answers to such calls are checked too.
    placeholders = {"user_id": "alice", "event_id": "q0", "report_id": "latest", "version": "v1.0", "rest": "x"}
    for rule in app.url_map.iter_rules():
        spec = spec_of(app.view_functions.get(rule.endpoint))
        if rule.endpoint == "static" or (spec is not None and spec.scope == "admin"):
            continue  # admin endpoints may (DELETE /v1/users/<id> forgets alice's feedback)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) in called:
                continue
            path = rule.build({arg: placeholders.get(arg, "x") for arg in rule.arguments}, append_unknown=False)[1]
            call(method.lower(), path, **({} if method == "GET" else {"json": {}}))
    assert ("GET", "/v1/users/<user_id>/public-feedback") in called

    assert runtime.store.count_feedback({"visibility": "private"}) == 2
    texts = [r.get_data(as_text=True) for r in responses]
    for item in PRIVATE:
        assert not any(item in text for text in texts), item
    assert {f["item_id"] for f in public.get_json()["feedback"]} == set(PUBLIC)
