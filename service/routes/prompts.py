"""``/v1/prompts``: decide whether and how to ask for feedback, and take the response."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.routes import json_body, runtime

bp = Blueprint("prompts", __name__, url_prefix="/v1")


@bp.post("/prompts")
def create_prompt() -> ResponseReturnValue:
    body, created = runtime().prompts.decide(json_body())
    return jsonify(body), 201 if created else 200


@bp.post("/prompts/<event_id>/response")
def respond(event_id: str) -> ResponseReturnValue:
    return jsonify(runtime().prompts.respond(event_id, json_body())), 202
