"""``/v1/slates``: decide a slate, report its outcomes, activate deferred decisions."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.routes import json_body, runtime

bp = Blueprint("slates", __name__, url_prefix="/v1")


@bp.post("/slates")
def create_slate() -> ResponseReturnValue:
    body, created = runtime().slates.decide(json_body())
    return jsonify(body), 201 if created else 200


@bp.post("/slates/<event_id>/outcomes")
def add_outcomes(event_id: str) -> ResponseReturnValue:
    return jsonify(runtime().slates.record_outcomes(event_id, json_body())), 202


@bp.post("/events/<event_id>/activate")
def activate(event_id: str) -> ResponseReturnValue:
    return jsonify(runtime().slates.activate(event_id)), 202
