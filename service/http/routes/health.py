"""Liveness and readiness; the only endpoints that will never need an API key."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.http.contract import PUBLIC, endpoint
from service.http.responses import Health, Ready
from service.http.routes import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@endpoint(scope=PUBLIC, summary="The process is alive", responses={200: Health}, tags=("health",))
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@endpoint(scope=PUBLIC, summary="The store is reachable; which models are served", responses={200: Ready, 503: Ready},
          tags=("health",))
def readyz() -> ResponseReturnValue:
    rt = runtime()
    spool = rt.spool.depth() if getattr(rt, "spool", None) is not None else None
    try:
        rt.store.ping()
    except Exception as exc:
        return jsonify({"status": "unavailable", "store": "unreachable", "message": str(exc), "spool": spool}), 503
    return jsonify({"status": "ready", "store": "ok", "spool": spool,
                    "models": {"slate": rt.slate_models.version_id, "prompt": rt.prompt_models.version_id}})
