"""Model export and import, learning settings export and import (admin).

``GET /v1/models/<id>/file`` is a published version's VW file as stored; ``PUT /v1/models``
publishes an uploaded file as the next version once it loads in VW and predicts what the
kind's configured arguments predict (else ``422`` saying why). ``GET /v1/settings`` is
the learning settings as JSON; ``PUT /v1/settings`` makes the given ones live (retraining
on the recent window, :mod:`service.learn.retrain`), ``POST /v1/settings/<kind>/restore``
brings back the previous ones.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from bandit.errors import InvalidInput, NotFound
from service.decide.requests import parse_model
from service.http.contract import endpoint
from service.http.responses import ModelVersion
from service.http.routes import json_body, query, runtime
from service.learn.publish import checked_args, checked_model, publish_outside_learner

bp = Blueprint("models", __name__, url_prefix="/v1")

Kind = Literal["slate", "prompt"]
_ADMIN = {"scope": "admin", "tags": ("admin",)}
OCTETS = "application/octet-stream"


class ModelUploadQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    kind: Kind = Field(description="which model the file replaces")


class KindSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    vw_args: Annotated[str, Field(min_length=1, max_length=2000, description="VW arguments, without --epsilon")]


class SettingsImport(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    slate: KindSettings | None = None
    prompt: KindSettings | None = None


class LiveSettings(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Kind
    vw_args: str
    epsilon: float
    source: str
    model_version: str | None
    updated_at: int | None
    previous: int = Field(description="how many earlier settings can be restored")


class SettingsExport(BaseModel):
    slate: LiveSettings
    prompt: LiveSettings


class AppliedSetting(BaseModel):
    kind: Kind
    model_version: str
    vw_args: str
    decisions: int = Field(description="joined decisions the new model learned (APPLY_RETRAIN_DAYS)")
    since: int
    until: int


class SettingsApplied(BaseModel):
    applied: list[AppliedSetting]


@bp.get("/models/<model_id>/file")
@endpoint(summary="Download a published model version's Vowpal Wabbit file", responses={200: OCTETS},
          errors=(404, 422), **_ADMIN)
def download_model(model_id: str) -> ResponseReturnValue:
    store = runtime().store
    meta = store.model_meta(model_id)
    if meta is None:
        raise NotFound(f"no published model {model_id!r}", field="model_id")
    return Response(store.load_model(meta["file_id"]), mimetype=OCTETS, headers={
        "Content-Disposition": f'attachment; filename="{model_id}.vw"', "X-Model-Sha256": str(meta["sha256"])})


@bp.put("/models")
@endpoint(summary="Upload a model file (application/octet-stream): published as the next version if VW loads it "
          "under the configured arguments", query=ModelUploadQuery, responses={201: ModelVersion}, errors=(422,),
          extra={"raw_body": OCTETS}, **_ADMIN)
def upload_model() -> ResponseReturnValue:
    kind = query(ModelUploadQuery).kind
    rt = runtime()
    registry: Any = rt.slate_models if kind == "slate" else rt.prompt_models
    data = request.get_data(cache=False)
    checked_model(kind, data, registry.load, registry.fresh())
    # The bytes as uploaded, so the download of this version is the same file (same sha256).
    meta = publish_outside_learner(rt.store, kind, data, {"source": "import", "vw_args": None}, rt.clock.now_ms())
    registry.refresh()
    return jsonify(meta), 201


@bp.get("/settings")
@endpoint(summary="The live learning settings of each kind, as JSON to import elsewhere",
          responses={200: SettingsExport}, **_ADMIN)
def export_settings() -> ResponseReturnValue:
    retrainer = runtime().retrainer
    return jsonify({kind: retrainer.live(kind) for kind in ("slate", "prompt")})


@bp.put("/settings")
@endpoint(summary="Import learning settings: each kind given is retrained on the recent window under them and "
          "published", body=SettingsImport, responses={200: SettingsApplied}, errors=(422,), **_ADMIN)
def import_settings() -> ResponseReturnValue:
    given = parse_model(SettingsImport, json_body())
    rt = runtime()
    wanted = {kind: settings.vw_args for kind, settings in (("slate", given.slate), ("prompt", given.prompt)) if settings}
    if not wanted:
        raise InvalidInput("give the settings of slate, prompt or both", field="body")
    epsilon = float(rt.config["EPSILON"])
    for kind, args in wanted.items():  # all checked before any is applied: nothing half-done
        registry: Any = rt.slate_models if kind == "slate" else rt.prompt_models
        checked_args(kind, args, epsilon, registry.fresh())
    applied = [rt.retrainer.apply(kind, args, "import").as_dict() for kind, args in wanted.items()]
    return jsonify({"applied": applied})


@bp.post("/settings/<kind>/restore")
@endpoint(summary="Bring back the learning settings live before the current ones (retrained and published)",
          responses={200: SettingsApplied}, errors=(404, 422), extra={"path": {"kind": ["slate", "prompt"]}}, **_ADMIN)
def restore_settings(kind: str) -> ResponseReturnValue:
    if kind not in ("slate", "prompt"):
        raise NotFound(f"no kind {kind!r}: slate or prompt", field="kind")
    return jsonify({"applied": [runtime().retrainer.restore(kind).as_dict()]})
