"""Admin endpoints: API keys, model versions, and forgetting a user."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from bandit.errors import NotFound
from service.core.pseudonyms import user_key
from service.decide.requests import parse_model
from service.http.contract import endpoint
from service.http.responses import ModelList, UserForgotten
from service.http.routes import json_body, runtime

bp = Blueprint("admin", __name__, url_prefix="/v1")


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    scope: Literal["decide", "read", "admin"]
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    rate_per_s: Annotated[float, Field(ge=0, le=1e6)] | None = Field(None, description="0: unlimited; unset: the default")
    burst: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class KeyInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    scope: Literal["decide", "read", "admin"]
    name: str | None
    created_at: int
    revoked_at: int | None
    rate_per_s: float | None = None
    burst: int | None = None


class KeyCreated(KeyInfo):
    key: str = Field(description="the key itself: shown this once, stored only as its SHA-256")


class KeyList(BaseModel):
    keys: list[KeyInfo]


class KeyRevoked(BaseModel):
    id: str
    revoked: Literal[True]


def _info(doc: dict[str, object]) -> dict[str, object]:
    return {"id": doc["_id"], **{k: doc.get(k) for k in ("scope", "name", "created_at", "revoked_at", "rate_per_s", "burst")}}


_ADMIN = {"scope": "admin", "tags": ("admin",)}


@bp.get("/keys")
@endpoint(summary="API keys (never the keys themselves)", responses={200: KeyList}, **_ADMIN)
def list_keys() -> ResponseReturnValue:
    return jsonify({"keys": [_info(doc) for doc in runtime().keys.list()]})


@bp.post("/keys")
@endpoint(summary="Create an API key", body=KeyCreate, responses={201: KeyCreated}, errors=(422,), **_ADMIN)
def create_key() -> ResponseReturnValue:
    request = parse_model(KeyCreate, json_body())
    key, doc = runtime().keys.create(request.scope, request.name, request.rate_per_s, request.burst)
    return jsonify({**_info(doc), "key": key}), 201


@bp.delete("/keys/<key_id>")
@endpoint(summary="Revoke an API key", responses={200: KeyRevoked}, errors=(404, 422), **_ADMIN)
def revoke_key(key_id: str) -> ResponseReturnValue:
    if not runtime().keys.revoke(key_id):
        raise NotFound(f"no active key {key_id!r}", field="key_id")
    return jsonify({"id": key_id, "revoked": True})


@bp.get("/models")
@endpoint(summary="Published model versions, newest first, and the ones this worker serves",
          responses={200: ModelList}, **_ADMIN)
def list_models() -> ResponseReturnValue:
    rt = runtime()
    return jsonify({"models": rt.store.list_models(), "serving": {"slate": rt.slate_models.version_id,
                                                                    "prompt": rt.prompt_models.version_id}})


@bp.delete("/users/<user_id>")
@endpoint(summary="Forget a user: state and feedback deleted, their decisions' user key tombstoned",
          responses={200: UserForgotten}, errors=(422,), **_ADMIN)
def forget_user(user_id: str) -> ResponseReturnValue:
    rt = runtime()
    # This worker's queued state updates first: written after the delete they would
    # bring the user's state back (another worker's land within milliseconds of a request).
    rt.state_writer.flush(float(rt.config["SHUTDOWN_FLUSH_S"]))
    rt.event_writer.flush(float(rt.config["SHUTDOWN_FLUSH_S"]))
    counts = rt.privacy.forget(user_key(str(rt.config["SECRET"]), user_id), rt.clock.now_ms())
    return jsonify({"forgotten": True, **counts})
