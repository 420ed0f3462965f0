"""Explicit feedback given without a prompt, and a user's *public* feedback.

Private feedback never leaves through this blueprint (nor any other non-admin one)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from service.routes import json_body, runtime
from service.schemas import check_limit

bp = Blueprint("feedback", __name__, url_prefix="/v1")


@bp.post("/feedback")
def give_feedback() -> ResponseReturnValue:
    return jsonify(runtime().prompts.record_feedback(json_body())), 201


@bp.get("/users/<user_id>/public-feedback")
def public_feedback(user_id: str) -> ResponseReturnValue:
    limit = check_limit(request.args.get("limit"), default=100, maximum=1000)
    return jsonify(runtime().prompts.public_feedback(user_id, limit))
