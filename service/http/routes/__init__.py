"""HTTP blueprints, one per resource."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from bandit.errors import InvalidInput, MalformedRequest
from service.decide.requests import field_path, parse_json
from service.runtime.process import Runtime

Q = TypeVar("Q", bound=BaseModel)


def runtime() -> Runtime:
    return current_app.extensions["elicit"]


def json_body() -> object:
    if request.mimetype != "application/json":
        raise MalformedRequest("Content-Type must be application/json", field="body")
    return parse_json(request.get_data(cache=False))


def query(model: type[Q]) -> Q:
    """The query string, validated by the same model the OpenAPI document publishes for it."""
    try:
        return model.model_validate(request.args.to_dict(), by_alias=True, by_name=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(first["msg"], field=field_path(tuple(first["loc"]))) from exc
