"""Offline evaluations (admin): start one, read it (JSON or an HTML page), apply its setting.

``POST /v1/evaluations`` checks the request, answers ``202`` with the stored document and
runs the evaluation in a background thread (service/runtime/evaluations.py); ``GET``
shows its status and, once ``done``, its result. ``POST /v1/evaluations/<id>/apply``
switches the live learning settings to the chosen one only if it beats the live one, else
``409`` with both bounds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field

from service.core.clock import Clock
from service.decide.requests import parse_model
from service.http.contract import endpoint
from service.http.responses import ErrorBody
from service.http.routes import json_body, runtime

bp = Blueprint("evaluations", __name__)
_ADMIN = {"scope": "admin", "tags": ("evaluations",)}
DAY_MS = 86_400_000
Setting = Annotated[str, Field(min_length=1, max_length=2000)]


class EvaluationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    kind: Literal["slate", "prompt"] = "slate"
    since: Annotated[int, Field(ge=0, le=10**15)] | None = Field(None, description="epoch ms; default: until − 7 days")
    until: Annotated[int, Field(ge=0, le=10**15)] | None = Field(None, description="epoch ms; default: now")
    settings: Annotated[dict[Annotated[str, Field(min_length=1, max_length=64)], Setting],
                        Field(max_length=10)] = Field(default_factory=dict, description="name → VW arguments to compare")
    features: bool = Field(False, description="also feature importance under the live settings (a pass per feature)")


class ApplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    policy: Annotated[str, Field(min_length=1, max_length=80)] = "optimized"


class Evaluation(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(alias="_id")
    kind: str
    status: Literal["running", "done", "failed"]
    since: int
    until: int


class EvaluationList(BaseModel):
    evaluations: list[Evaluation]


class EvaluationApplied(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: str
    model_version: str
    vw_args: str
    chosen: dict[str, Any]
    live: dict[str, Any]


class ApplyError(ErrorBody):
    chosen: dict[str, Any] | None = Field(None, description="409: the chosen setting's value and bounds")
    live: dict[str, Any] | None = Field(None, description="409: the live setting's value and bounds")


def window(request: EvaluationRequest, clock: Clock) -> tuple[int, int]:
    until = request.until if request.until is not None else clock.now_ms()
    return (request.since if request.since is not None else until - 7 * DAY_MS), until


@bp.post("/v1/evaluations")
@endpoint(summary="Start an offline evaluation (runs in the background)", body=EvaluationRequest,
          responses={202: Evaluation}, errors=(422,), **_ADMIN)
def start() -> ResponseReturnValue:
    request = parse_model(EvaluationRequest, json_body())
    rt = runtime()
    since, until = window(request, rt.clock)
    return jsonify(rt.evaluations.start(request.kind, since, until, request.settings, features=request.features)), 202


@bp.get("/v1/evaluations")
@endpoint(summary="Evaluations, newest first, without results", responses={200: EvaluationList}, **_ADMIN)
def list_all() -> ResponseReturnValue:
    return jsonify({"evaluations": runtime().settings.list_evaluations()})


@bp.get("/v1/evaluations/<evaluation_id>")
@endpoint(summary="One evaluation: status, and its result once done", responses={200: Evaluation},
          errors=(404, 422), **_ADMIN)
def get_one(evaluation_id: str) -> ResponseReturnValue:
    return jsonify(runtime().evaluations.get(evaluation_id))


@bp.get("/evaluations/<evaluation_id>")
@endpoint(summary="One evaluation as an HTML page", responses={200: "text/html"}, errors=(404, 422), **_ADMIN)
def page(evaluation_id: str) -> ResponseReturnValue:
    from service.reports.evaluation_html import render_evaluation

    return Response(render_evaluation(runtime().evaluations.get(evaluation_id)), mimetype="text/html")


@bp.post("/v1/evaluations/<evaluation_id>/apply")
@endpoint(summary="Make the chosen setting live if its value and lower bound beat the live setting's",
          body=ApplyRequest, responses={200: EvaluationApplied}, errors=(404, 409, 422), error_model=ApplyError, **_ADMIN)
def apply(evaluation_id: str) -> ResponseReturnValue:
    request = parse_model(ApplyRequest, json_body())
    return jsonify(runtime().evaluations.apply(evaluation_id, request.policy))
