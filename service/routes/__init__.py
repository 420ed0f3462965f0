"""HTTP blueprints, one per resource."""

from __future__ import annotations

from flask import current_app, request

from bandit.errors import MalformedRequest
from service.runtime import Runtime
from service.schemas import parse_json


def runtime() -> Runtime:
    return current_app.extensions["elicit"]


def json_body() -> object:
    if request.mimetype != "application/json":
        raise MalformedRequest("Content-Type must be application/json", field="body")
    return parse_json(request.get_data(cache=False))
