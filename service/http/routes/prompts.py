"""``/v1/prompts``: decide whether and how to ask for feedback, and take the response."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.decide.requests import PromptRequest, PromptResponseIn
from service.http.contract import endpoint
from service.http.responses import PromptAnswer, PromptDecision
from service.http.routes import json_body, runtime

bp = Blueprint("prompts", __name__, url_prefix="/v1")


@bp.post("/prompts")
@endpoint(scope="decide", summary="Decide whether and how to ask for feedback now", body=PromptRequest,
          responses={201: PromptDecision, 200: PromptDecision}, errors=(409, 422), tags=("prompts",))
def create_prompt() -> ResponseReturnValue:
    body, created = runtime().prompts.decide(json_body())
    return jsonify(body), 201 if created else 200


@bp.post("/prompts/<event_id>/response")
@endpoint(scope="decide", summary="The user's response to a shown prompt", body=PromptResponseIn,
          responses={202: PromptAnswer}, errors=(404, 409, 422), tags=("prompts",))
def respond(event_id: str) -> ResponseReturnValue:
    return jsonify(runtime().prompts.respond(event_id, json_body())), 202
