"""The published contract: ``/openapi.json`` is generated from the models
that validate traffic, and schemathesis, driving the WSGI app directly, finds no 5xx and
no response that does not conform to it.

Bounded: ``MAX_EXAMPLES`` per operation, derandomised (the same examples every run).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.decide.catalogue import ItemsRequest
from service.decide.requests import SlateRequest
from tests.helpers import candidates, slate_request

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture
def contract_app(make_app: Any) -> Any:
    """An app with something in it, so that reads can succeed as well as fail."""
    app = make_app()
    client = app.test_client()
    client.put("/v1/items", json={"items": [{"id": c["id"], "category": c["category"], "features": c["features"]}
                                            for c in candidates(5)]})
    assert client.post("/v1/slates", json=slate_request(event_id="x1")).status_code == 201
    return app


def test_every_operation_conforms(contract_app: Any) -> None:
    """Every operation of the document, ``MAX_EXAMPLES`` generated requests each (plus
    schemathesis' explicit examples), sent to the WSGI app with an admin key.

    (Driven with ``as_strategy`` and hypothesis directly: schemathesis' pytest plugin
    loader, ``from_fixture``, reads a private pytest attribute that pytest 9 removed.)"""
    key = contract_app.extensions["elicit.test_key"]
    headers = {"Authorization": f"Bearer {key}"}
    api = schemathesis.openapi.from_wsgi("/openapi.json", contract_app, headers=headers)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 30  # native, admin, meta and both Personalizer styles
    failures: list[str] = []
    calls = {"n": 0}

    for operation in operations:
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            calls["n"] += 1
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect them all: one run names every failing operation
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    print(f"schemathesis: {len(operations)} operations, {calls['n']} requests")
    assert not failures, "\n\n".join(failures)
    assert calls["n"] >= len(operations) * 3


def test_document_is_openapi_3_1_built_from_the_request_models(client: Any) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    components = doc["components"]["schemas"]
    slate = SlateRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    slate.pop("$defs", None)
    assert components["SlateRequest"] == slate  # the very model that validates POST /v1/slates
    items = ItemsRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    items.pop("$defs", None)
    assert components["ItemsRequest"] == items
    post = doc["paths"]["/v1/slates"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SlateRequest"}
    assert {"201", "401", "403", "422", "429", "503"} <= set(post["responses"])
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    assert doc["paths"]["/v1/users/{user_id}"]["delete"]["summary"].startswith("Forget")
    assert "/personalizer/{version}/rank" in doc["paths"] and "/personalizer/rank" in doc["paths"]
    query_rank = doc["paths"]["/personalizer/rank"]["post"]["parameters"]
    assert [(p["name"], p["in"], p["required"], p["schema"]["const"]) for p in query_rank] == [
        ("api-version", "query", True, "2022-09-01-preview")]
    path_rank = doc["paths"]["/personalizer/{version}/rank"]["post"]["parameters"]
    assert [p["name"] for p in path_rank] == ["version"] and "v1.0" in path_rank[0]["schema"]["enum"]


def test_a_response_off_contract_fails_loudly(app: Any, client: Any) -> None:
    """With TESTING on, the declared response model checks every JSON answer."""
    from service.http.routes import slates

    original = slates.activate
    view = app.view_functions["slates.activate"]
    app.view_functions["slates.activate"] = lambda event_id: ({"event_id": event_id, "surprise": 1}, 202)
    app.view_functions["slates.activate"].__elicit_spec__ = view.__elicit_spec__  # type: ignore[attr-defined]
    try:
        with pytest.raises(ValidationError, match="surprise"):  # TESTING propagates it to the test
            client.post("/v1/events/x/activate")
    finally:
        app.view_functions["slates.activate"] = original
