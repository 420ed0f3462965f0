"""Liveness and readiness; the only endpoints that will never need an API key."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.routes import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    rt = runtime()
    try:
        rt.store.ping()
    except Exception as exc:
        return jsonify({"status": "unavailable", "store": "unreachable", "message": str(exc)}), 503
    return jsonify({"status": "ready", "store": "ok", "models": {"slate": rt.slate_models.version_id, "prompt": rt.prompt_models.version_id}})
