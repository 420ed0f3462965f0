"""Body and field limits on every endpoint; rate limits: tests/service/http/test_auth.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from service.http.contract import spec_of
from tests.helpers import slate_request

LIMIT = 4000  # MAX_CONTENT_LENGTH of these apps, small enough to overflow cheaply


@pytest.fixture
def small(make_app: Any) -> Any:
    app = make_app(MAX_CONTENT_LENGTH=LIMIT, MAX_CANDIDATES=20, MAX_FEATURES=10)
    client = app.test_client()
    assert client.post("/v1/slates", json=slate_request(5, 2, event_id="e1")).status_code == 201
    return app, client


def concrete(rule: str) -> str:
    path = re.sub(r"<[^>]+>", "x1", rule.replace("<version>", "v1.0"))
    return path + ("?api-version=2022-09-01-preview" if path.startswith("/personalizer/") and "/v1." not in path else "")


def body_routes(app: Any) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        spec = spec_of(app.view_functions.get(rule.endpoint))
        if spec is None or spec.extra.get("hidden"):
            continue
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"}):
            if spec.body is not None or not rule.rule.startswith("/personalizer"):
                found.append((method, rule.rule))  # Personalizer's Activate takes no body and reads none
    return found


def test_every_body_is_bounded(small: Any) -> None:
    app, client = small
    routes = body_routes(app)
    assert len(routes) >= 15  # native writes, keys, both Personalizer styles
    for method, rule in routes:
        response = client.open(concrete(rule), method=method, json={"pad": "x" * LIMIT})
        assert response.status_code == 413, (method, rule, response.status_code)
        body = response.get_json()
        if rule.startswith("/personalizer"):
            assert body["error"]["code"] == "PayloadSizeExceeded"
        else:
            assert body["error"] == "request_entity_too_large" and body["field"] == "body"


def test_ids_in_paths_are_bounded(small: Any) -> None:
    app, client = small
    long_id = "e" * 257
    for method, path in [("POST", f"/v1/slates/{long_id}/outcomes"), ("POST", f"/v1/events/{long_id}/activate"),
                         ("POST", f"/v1/prompts/{long_id}/response"), ("GET", f"/v1/users/{long_id}/public-feedback"),
                         ("DELETE", f"/v1/users/{long_id}"), ("GET", f"/v1/items/{long_id}"),
                         ("GET", f"/v1/reports/{long_id}"), ("DELETE", f"/v1/keys/{long_id}")]:
        response = client.open(path, method=method, json={})
        assert response.status_code == 422, (method, path)
        assert response.get_json()["field"] in {"event_id", "user_id", "item_id", "report_id", "key_id"}
    assert client.get("/v1/items/" + "e" * 256).status_code == 404  # the bound itself is fine
    pz = client.post(f"/personalizer/v1.0/events/{'e' * 129}/activate", json={})
    assert pz.status_code == 400 and pz.get_json()["error"]["target"] == "eventId"


FIELD_CASES = [
    # (method, path, body, status, field)
    ("POST", "/v1/slates", {**slate_request(5, 2), "user_id": "u" * 257}, 422, "user_id"),
    ("POST", "/v1/slates", {**slate_request(5, 2), "event_id": "e" * 129}, 422, "event_id"),
    ("POST", "/v1/slates", {**slate_request(5, 2), "candidates": [{"id": f"c{i}"} for i in range(21)]}, 422, "candidates"),
    ("POST", "/v1/slates", {**slate_request(5, 2), "context": {f"f{i}": 1 for i in range(11)}}, 422, "context"),
    ("POST", "/v1/slates", {**slate_request(5, 2), "context": {"s": "x" * 1025}}, 422, "context.s"),
    ("POST", "/v1/slates/e1/outcomes", {"outcomes": [{"item_id": "f0", "type": "click"}], "outcome_id": "o" * 129},
     422, "outcome_id"),
    ("POST", "/v1/prompts", {"user_id": "u", "item_id": "i" * 257}, 422, "item_id"),
    ("POST", "/v1/prompts", {"user_id": "u", "item_id": "i", "context": {f"f{i}": 1 for i in range(11)}}, 422, "context"),
    ("POST", "/v1/feedback", {"user_id": "u", "item_id": "i" * 257, "value": "up", "visibility": "public"}, 422, "item_id"),
    ("PUT", "/v1/items", {"items": [{"id": "a", "features": {f"f{i}": 1 for i in range(11)}}]}, 422, "items[0].features"),
    ("PUT", "/v1/items", {"items": [{"id": "a" * 257}]}, 422, "items[0].id"),
    ("POST", "/v1/keys", {"scope": "read", "name": "n" * 129}, 422, "name"),
    ("GET", "/v1/users/u/public-feedback?limit=1001", None, 422, "limit"),
    ("GET", "/v1/reports?limit=101", None, 422, "limit"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), FIELD_CASES)
def test_field_limits(small: Any, method: str, path: str, body: Any, status: int, field: str) -> None:
    _, client = small
    response = client.open(path, method=method, json=body)
    assert response.status_code == status and response.get_json()["field"] == field, response.get_json()


def test_list_lengths_under_the_default_body_limit(make_app: Any) -> None:
    client = make_app().test_client()  # default 1 MiB body: these lists fit in it, and are still refused
    response = client.put("/v1/items", json={"items": [{"id": f"{i}"} for i in range(10_001)]})
    assert response.status_code == 422 and response.get_json()["field"] == "items"
    body = client.post("/v1/slates", json=slate_request(5, 2, event_id="e1")).get_json()
    outcomes = [{"item_id": body["slate"][0]["item_id"], "type": "click"}] * 1001
    response = client.post("/v1/slates/e1/outcomes", json={"outcomes": outcomes})
    assert response.status_code == 422 and response.get_json()["field"] == "outcomes"


def test_personalizer_limits(small: Any) -> None:
    _, client = small
    many = client.post("/personalizer/v1.0/rank", json={"actions": [{"id": f"a{i}"} for i in range(21)]})
    assert many.status_code == 400 and many.get_json()["error"]["code"] == "InvalidRankRequest"
    features = client.post("/personalizer/v1.0/rank", json={"actions": [{"id": "a"}],
                                                             "contextFeatures": [{f"f{i}": 1 for i in range(11)}]})
    assert features.status_code == 400 and features.get_json()["error"]["target"] == "contextFeatures"
    long_event = client.post("/personalizer/v1.0/rank", json={"actions": [{"id": "a"}], "eventId": "e" * 129})
    assert long_event.status_code == 400 and long_event.get_json()["error"]["target"] == "eventId"
