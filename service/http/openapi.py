"""``/openapi.json``: the OpenAPI 3.1 document, generated from the app itself.

Every route of the Flask app is walked; its :class:`service.http.contract.Spec` gives the scope,
the request body model, the query model and the response models, and pydantic's
``model_json_schema`` turns each model into JSON Schema 2020-12 (which OpenAPI 3.1 uses
as is). Nothing is written by hand, so the document cannot drift: the same models
validate traffic (requests) and, with ``TESTING`` on, every JSON response
(:func:`check_response`) — a view answering off-contract fails the test that called it.

Why not spectree / flask-openapi3: both want to own validation (their own decorators
parse the body and answer 422 in their own shape), which would replace the existing
error bodies with field paths and the Personalizer error shape; a registry of ~80 lines
over the existing blueprints keeps both.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from service.http.contract import ANY, PUBLIC, Spec, endpoint, spec_of
from service.http.responses import ErrorBody

bp = Blueprint("openapi", __name__)

_PARAM = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")
#: statuses every authenticated endpoint may answer, besides its own
COMMON_ERRORS = (401, 403, 429, 503)
BODY_ERRORS = (400, 413, 422)
DESCRIPTIONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Malformed request (not JSON)",
    401: "Missing, unknown or revoked API key", 403: "The key's scope does not cover this endpoint",
    404: "Unknown id", 409: "Conflicting reuse of an id or state", 413: "Body too large",
    422: "Invalid value (the field is named)", 429: "Rate limit of the key exceeded (see Retry-After)",
    503: "Store unreachable (and spool full, for decisions)",
}


class _Schemas:
    """Components collected while the document is built (pydantic ``$defs`` hoisted)."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
        for name, sub in schema.pop("$defs", {}).items():
            self.components.setdefault(name, sub)
        self.components.setdefault(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}


def _parameters(rule: str, spec: Spec, schemas: _Schemas, max_path: int) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    path_enums = dict(spec.extra.get("path", {}))
    for name in _PARAM.findall(rule):
        schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": max_path}
        if name in path_enums:
            schema = {"type": "string", "enum": path_enums[name]}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    # Personalizer's query model (api-version) applies to its query-versioned paths only.
    if spec.query is not None and not ("version" in path_enums and "<version>" in rule):
        query = spec.query.model_json_schema(mode="validation")
        required = set(query.get("required", []))
        for name, prop in query.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def _content(response: Any, schemas: _Schemas) -> dict[str, Any]:
    if response is None:
        return {}
    if isinstance(response, str):
        return {"content": {response: {"schema": {"type": "string"}}}}
    return {"content": {"application/json": {"schema": schemas.ref(response, "serialization")}}}


def _operation(rule: str, method: str, endpoint_name: str, spec: Spec, schemas: _Schemas, max_path: int) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": f"{endpoint_name}_{method}", "summary": spec.summary, "tags": list(spec.tags)}
    params = _parameters(rule, spec, schemas, max_path)
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": schemas.ref(spec.body, "validation")}}}
    elif spec.extra.get("raw_body"):  # a file upload (PUT /v1/models)
        op["requestBody"] = {"required": True, "content": {spec.extra["raw_body"]: {"schema": {"type": "string",
                                                                                            "format": "binary"}}}}
    responses = {str(code): {"description": DESCRIPTIONS.get(code, "OK"), **_content(model, schemas)}
                 for code, model in spec.responses.items()}
    if spec.scope != PUBLIC:
        errors = set(COMMON_ERRORS) | set(spec.errors) | (set(BODY_ERRORS) if spec.body is not None or spec.extra.get("raw_body") else set())
        error_model = spec.error_model or ErrorBody
        for code in sorted(errors - {int(c) for c in responses}):
            responses[str(code)] = {"description": DESCRIPTIONS.get(code, "Error"), **_content(error_model, schemas)}
        if spec.own_auth:
            op["security"] = [{"subscriptionKey": []}, {"bearer": []}]
    else:
        op["security"] = []
    op["responses"] = dict(sorted(responses.items()))
    return op


def build_document(app: Flask) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    max_path = int(app.config.get("MAX_PATH_PARAM", 256))
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        spec = spec_of(app.view_functions.get(rule.endpoint))
        if spec is None or spec.extra.get("hidden"):
            continue
        path = _PARAM.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule.rule, method.lower(), rule.endpoint, spec,
                                                                    schemas, max_path)
    return {
        "openapi": "3.1.0",
        "info": {"title": "elicit", "version": "1.0.0",
                 "description": "Slates and feedback prompts with exact propensities, evaluated off-policy."},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "elicit API key (elicit keys create)"},
                "subscriptionKey": {"type": "apiKey", "in": "header", "name": "Ocp-Apim-Subscription-Key",
                                    "description": "Personalizer surface: an elicit API key of scope decide"},
            },
        },
        "security": [{"bearer": []}],
    }


@bp.get("/openapi.json")
@endpoint(scope=ANY, summary="This document", responses={200: "application/json"}, tags=("meta",))
def openapi_json() -> ResponseReturnValue:
    document = current_app.extensions.get("elicit.openapi")
    if document is None:
        document = current_app.extensions["elicit.openapi"] = build_document(current_app)
    return jsonify(document)


def check_response(response: Response) -> Response:
    """``after_request`` with ``TESTING`` on: a JSON response must match its declared model."""
    spec = spec_of(current_app.view_functions.get(request.endpoint or ""))
    if spec is None or response.mimetype != "application/json" or response.direct_passthrough:
        return response
    if response.status_code in spec.responses:
        declared = spec.responses[response.status_code]
    elif response.status_code >= 400:
        declared = spec.error_model or ErrorBody
    else:
        raise AssertionError(f"{request.endpoint} answered {response.status_code}, which its contract does not declare")
    if declared is not None and not isinstance(declared, str):
        declared.model_validate_json(response.get_data())  # raises: a 500, and the test that saw it fails
    return response


def install(app: Flask) -> None:
    app.register_blueprint(bp)
    if app.config.get("TESTING"):
        app.after_request(check_response)
