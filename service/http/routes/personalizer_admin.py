"""Personalizer's administration operations (query-versioned, ``?api-version=2022-09-01-preview``),
over elicit's learning settings, model files and offline evaluations; admin keys only.

``/configurations/policy`` (GET, PUT, DELETE = reset to the configured arguments),
``/configurations/service`` (GET), ``/configurations/applyFromEvaluation`` (POST),
``/evaluations`` (GET), ``/evaluations/<id>`` (PUT, GET, DELETE), ``/model`` (GET, PUT,
DELETE = a fresh model under the live arguments) and ``/model/properties`` (GET). Errors
leave in Personalizer's shape, as the Rank surface's do (service/http/routes/personalizer.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from bandit.errors import NotFound
from service.decide.requests import parse_model
from service.http.contract import endpoint
from service.http.personalizer.admin import (
    ApplyFromEvaluation,
    EvaluationContract,
    ModelProperties,
    PersonalizerEvaluation,
    PersonalizerEvaluationList,
    PolicyContract,
    ServiceConfiguration,
    duration,
    evaluation_view,
    iso,
    ms,
    row_name,
)
from service.http.personalizer.errors import authorize_subscription_key, error_response
from service.http.responses import ApiVersionQuery, PersonalizerError
from service.http.routes import json_body, runtime
from service.http.routes.personalizer import QUERY_VERSIONS
from service.learn.publish import FACTORIES, checked_args, checked_model, publish_outside_learner

bp = Blueprint("personalizer_admin", __name__, url_prefix="/personalizer")
OCTETS = "application/octet-stream"
KIND = "slate"  # Personalizer's Rank is elicit's one-slot slate


def admin_operation(rule: str, method: str, invalid: str, **contract: Any) -> Callable[[Callable[..., Any]], Any]:
    def decorate(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @endpoint(scope="admin", own_auth=True, error_model=PersonalizerError, query=ApiVersionQuery,
                  errors=(404, 409), tags=("personalizer",), **contract)
        @wraps(view)
        def wrapped(**kwargs: Any) -> ResponseReturnValue:
            try:
                authorize_subscription_key(request.headers.get("Ocp-Apim-Subscription-Key"), "admin")
                if request.args.get("api-version") not in QUERY_VERSIONS:
                    raise NotFound(f"api-version must be one of: {', '.join(QUERY_VERSIONS)}", field="api-version")
                return view(**kwargs)
            except Exception as exc:
                return error_response(exc, invalid=invalid)

        bp.add_url_rule(rule, endpoint=f"{view.__name__}", view_func=wrapped, methods=[method])
        return wrapped

    return decorate


def _policy() -> dict[str, Any]:
    live = runtime().retrainer.live(KIND)
    return {"name": str(live.get("name") or live["source"]), "arguments": str(live["vw_args"])}


def _apply_args(arguments: str, name: str) -> None:
    rt = runtime()
    checked_args(KIND, arguments, float(rt.config["EPSILON"]), rt.slate_models.fresh())
    rt.retrainer.apply(KIND, arguments, "personalizer", {"name": name})


@admin_operation("/configurations/policy", "GET", "BadRequest", summary="Personalizer: the learning settings",
                 responses={200: PolicyContract})
def get_policy() -> ResponseReturnValue:
    return jsonify(_policy())


@admin_operation("/configurations/policy", "PUT", "InvalidPolicyConfiguration",
                 summary="Personalizer: replace the learning settings (retrained on APPLY_RETRAIN_DAYS)",
                 body=PolicyContract, responses={200: PolicyContract})
def update_policy() -> ResponseReturnValue:
    policy = parse_model(PolicyContract, json_body())
    _apply_args(policy.arguments, policy.name)
    return jsonify(_policy())


@admin_operation("/configurations/policy", "DELETE", "BadRequest",
                 summary="Personalizer: reset the learning settings to the configured ones", responses={200: PolicyContract})
def reset_policy() -> ResponseReturnValue:
    _apply_args(str(runtime().config["SLATE_VW_ARGS"]), "configuration")
    return jsonify(_policy())


@admin_operation("/configurations/service", "GET", "BadRequest",
                 summary="Personalizer: the service configuration (read-only: elicit's configuration)",
                 responses={200: ServiceConfiguration})
def get_service_configuration() -> ResponseReturnValue:
    config = runtime().config
    return jsonify({
        "rewardWaitTime": duration(float(config["REWARD_WINDOW_S"])), "defaultReward": 0.0,
        "rewardAggregation": str(config["PERSONALIZER_REWARD_AGGREGATION"]),
        "explorationPercentage": float(config["EPSILON"]), "modelExportFrequency": duration(float(config["LEARN_INTERVAL_S"])),
        "logRetentionDays": -1, "learningMode": "Apprentice" if config["LEARNING_MODE"] == "apprentice" else "Online",
    })


@admin_operation("/configurations/applyFromEvaluation", "POST", "InvalidEvaluationContract",
                 summary="Personalizer: apply an evaluation's learning settings if they beat the online ones",
                 body=ApplyFromEvaluation, responses={204: None})
def apply_from_evaluation() -> ResponseReturnValue:
    body = parse_model(ApplyFromEvaluation, json_body())
    evaluations = runtime().evaluations
    doc = evaluations.get(body.evaluationId)
    rows = {row["name"]: row for row in (doc.get("result") or {}).get("policies", [])}
    evaluations.apply(body.evaluationId, row_name(body.policyName, rows))
    return Response(status=204)


@admin_operation("/evaluations", "GET", "BadRequest", summary="Personalizer: all offline evaluations",
                 responses={200: PersonalizerEvaluationList})
def list_evaluations() -> ResponseReturnValue:
    docs = runtime().settings.list_evaluations()
    return jsonify({"value": [evaluation_view(doc) for doc in docs], "nextLink": None})


@admin_operation("/evaluations/<evaluation_id>", "PUT", "InvalidEvaluationContract",
                 summary="Personalizer: submit an offline evaluation", body=EvaluationContract,
                 responses={200: PersonalizerEvaluation})
def create_evaluation(evaluation_id: str) -> ResponseReturnValue:
    contract = parse_model(EvaluationContract, json_body())
    supplied = {policy.name: policy.arguments for policy in contract.policies}
    doc = runtime().evaluations.start(KIND, ms(contract.startTime), ms(contract.endTime), supplied,
                                      evaluation_id=evaluation_id)
    runtime().settings.update_evaluation(evaluation_id, {"name": contract.name})
    return jsonify(evaluation_view({**doc, "name": contract.name}))


@admin_operation("/evaluations/<evaluation_id>", "GET", "BadRequest", summary="Personalizer: one offline evaluation",
                 responses={200: PersonalizerEvaluation})
def get_evaluation(evaluation_id: str) -> ResponseReturnValue:
    return jsonify(evaluation_view(runtime().evaluations.get(evaluation_id)))


@admin_operation("/evaluations/<evaluation_id>", "DELETE", "BadRequest", summary="Personalizer: delete an evaluation",
                 responses={204: None})
def delete_evaluation(evaluation_id: str) -> ResponseReturnValue:
    runtime().settings.delete_evaluation(evaluation_id)  # Personalizer: 204 whether or not it existed
    return Response(status=204)


@admin_operation("/model", "GET", "BadRequest", summary="Personalizer: export the current model",
                 responses={200: OCTETS})
def get_model() -> ResponseReturnValue:
    model, _ = runtime().slate_models.current()
    return Response(model.to_bytes(), mimetype=OCTETS)


@admin_operation("/model", "PUT", "InvalidModelImportFormat", summary="Personalizer: import a model file",
                 responses={204: None}, extra={"raw_body": OCTETS})
def import_model() -> ResponseReturnValue:
    rt = runtime()
    data = request.get_data(cache=False)
    checked_model(KIND, data, rt.slate_models.load, rt.slate_models.fresh())
    publish_outside_learner(rt.store, KIND, data, {"source": "personalizer-import", "vw_args": None}, rt.clock.now_ms())
    rt.slate_models.refresh()
    return Response(status=204)


@admin_operation("/model", "DELETE", "BadRequest", summary="Personalizer: reset the model (a fresh one, live settings)",
                 responses={204: None})
def reset_model() -> ResponseReturnValue:
    rt = runtime()
    args = str(rt.retrainer.live(KIND)["vw_args"])
    fresh = FACTORIES[KIND](float(rt.config["EPSILON"]), args)
    publish_outside_learner(rt.store, KIND, fresh.to_bytes(), {"source": "personalizer-reset", "vw_args": args},
                            rt.clock.now_ms())
    rt.slate_models.refresh()
    return Response(status=204)


@admin_operation("/model/properties", "GET", "BadRequest", summary="Personalizer: when the model was made",
                 responses={200: ModelProperties})
def get_model_properties() -> ResponseReturnValue:
    store = runtime().store
    latest = store.latest_model_meta(KIND)
    first = store.model_meta(f"{KIND}-v1")
    return jsonify({"creationTime": iso(first.get("published_at") if first else None),
                    "lastModifiedTime": iso(latest.get("published_at") if latest else None)})
