"""Explicit feedback given without a prompt, and a user's *public* feedback.

Private feedback never leaves through this blueprint (nor any other non-admin one)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.decide.requests import FeedbackIn
from service.http.contract import endpoint
from service.http.responses import FeedbackQuery, FeedbackRecorded, PublicFeedback
from service.http.routes import json_body, query, runtime

bp = Blueprint("feedback", __name__, url_prefix="/v1")


@bp.post("/feedback")
@endpoint(scope="decide", summary="Explicit feedback given without a prompt", body=FeedbackIn,
          responses={201: FeedbackRecorded}, errors=(422,), tags=("feedback",))
def give_feedback() -> ResponseReturnValue:
    return jsonify(runtime().prompts.record_feedback(json_body())), 201


@bp.get("/users/<user_id>/public-feedback")
@endpoint(scope="read", summary="A user's public feedback, newest first", query=FeedbackQuery,
          responses={200: PublicFeedback}, errors=(422,), tags=("feedback",))
def public_feedback(user_id: str) -> ResponseReturnValue:
    return jsonify(runtime().prompts.public_feedback(user_id, query(FeedbackQuery).limit))
