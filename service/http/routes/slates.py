"""``/v1/slates``: decide a slate, report its outcomes, activate deferred decisions."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.decide.requests import OutcomesRequest, SlateRequest
from service.http.contract import endpoint
from service.http.responses import Activated, OutcomesAccepted, SlateDecision
from service.http.routes import json_body, runtime

bp = Blueprint("slates", __name__, url_prefix="/v1")


@bp.post("/slates")
@endpoint(scope="decide", summary="Decide a slate (logged with exact propensities before the answer)",
          body=SlateRequest, responses={201: SlateDecision, 200: SlateDecision}, errors=(409, 422), tags=("slates",))
def create_slate() -> ResponseReturnValue:
    body, created = runtime().slates.decide(json_body())
    return jsonify(body), 201 if created else 200


@bp.post("/slates/<event_id>/outcomes")
@endpoint(scope="decide", summary="Report what happened to a slate's items", body=OutcomesRequest,
          responses={202: OutcomesAccepted}, errors=(404, 422), tags=("slates",))
def add_outcomes(event_id: str) -> ResponseReturnValue:
    return jsonify(runtime().slates.record_outcomes(event_id, json_body())), 202


@bp.post("/events/<event_id>/activate")
@endpoint(scope="decide", summary="Activate a decision made with defer_activation", responses={202: Activated},
          errors=(404, 422), tags=("slates",))
def activate(event_id: str) -> ResponseReturnValue:
    return jsonify(runtime().slates.activate(event_id)), 202
