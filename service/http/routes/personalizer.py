"""Azure Personalizer's REST paths (docs/personalizer.md), in both of its versioning styles.

* path-versioned: ``/personalizer/v1.0/rank``, ``/personalizer/v1.1-preview.3/multislot/rank``, ...
* query-versioned: ``/personalizer/rank?api-version=2022-09-01-preview``, ...

Every operation checks the ``Ocp-Apim-Subscription-Key`` header first and answers errors
with Personalizer's ``ErrorResponse`` body (service/http/personalizer/errors.py), never elicit's.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from bandit.errors import NotFound
from service.http.contract import endpoint
from service.http.personalizer.errors import authorize_subscription_key, error_response, render
from service.http.personalizer.handlers import PersonalizerApi
from service.http.personalizer.requests import MultiSlotRankRequest, MultiSlotRewardRequest, RankRequest, RewardRequest
from service.http.responses import ApiVersionQuery, MultiSlotRankResponse, PersonalizerError, RankResponse
from service.http.routes import json_body, runtime

bp = Blueprint("personalizer", __name__, url_prefix="/personalizer")

PATH_VERSIONS = ("v1.0", "v1.1-preview.1", "v1.1-preview.2", "v1.1-preview.3", "v1.1")
QUERY_VERSIONS = ("2022-09-01-preview",)


def api() -> PersonalizerApi:
    rt = runtime()
    found = current_app.extensions.get("elicit.personalizer")
    if found is None:  # one per app, built on first use from the app's runtime
        found = current_app.extensions["elicit.personalizer"] = PersonalizerApi(rt.slates, rt.store, current_app.config)
    return found


def _check_version(version: str | None) -> None:
    if version is not None:
        if version not in PATH_VERSIONS:
            raise NotFound(f"unknown Personalizer API version {version!r}; known: {', '.join(PATH_VERSIONS)}")
        return
    query_version = request.args.get("api-version")
    if query_version not in QUERY_VERSIONS:
        raise NotFound(f"api-version must be one of: {', '.join(QUERY_VERSIONS)}", field="api-version")


def operation(
    invalid: str, not_found: str = "ResourceNotFound", **contract: Any
) -> Callable[[Callable[..., ResponseReturnValue]], Any]:
    """Key check (scope ``decide``), version check, and Personalizer's error body with this
    operation's codes; ``contract``: the :func:`service.http.contract.endpoint` declaration."""

    def decorate(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @endpoint(scope="decide", own_auth=True, error_model=PersonalizerError, query=ApiVersionQuery,
                  errors=(404, 409), tags=("personalizer",), extra={"path": {"version": list(PATH_VERSIONS)}},
                  **contract)
        @wraps(view)
        def wrapped(version: str | None = None, **kwargs: Any) -> ResponseReturnValue:
            try:
                authorize_subscription_key(request.headers.get("Ocp-Apim-Subscription-Key"))
                _check_version(version)
                return view(**kwargs)
            except Exception as exc:  # every failure leaves in Personalizer's shape
                return error_response(exc, invalid=invalid, not_found=not_found)

        return wrapped

    return decorate


def _both_styles(rule: str, endpoint: str, view: Callable[..., ResponseReturnValue]) -> None:
    bp.add_url_rule(f"/<version>{rule}", endpoint=f"{endpoint}_path", view_func=view, methods=["POST"])
    bp.add_url_rule(rule, endpoint=f"{endpoint}_query", view_func=view, methods=["POST"])


def _no_content() -> Response:
    return Response(status=204)


@operation("InvalidRankRequest", summary="Rank (one slot)", body=RankRequest, responses={201: RankResponse})
def rank() -> ResponseReturnValue:
    return jsonify(api().rank(json_body())), 201  # 201 also for a replayed eventId, as clients expect


@operation("InvalidRewardRequest", summary="Reward of a Rank event", body=RewardRequest, responses={204: None})
def reward(event_id: str) -> ResponseReturnValue:
    api().reward(event_id, json_body())
    return _no_content()


@operation("InvalidEventIdToActivate", not_found="InvalidEventIdToActivate", summary="Activate a deferred event",
           responses={204: None})
def activate(event_id: str) -> ResponseReturnValue:
    api().activate(event_id)
    return _no_content()


@operation("InvalidRankRequest", summary="Multi-slot Rank", body=MultiSlotRankRequest,
           responses={201: MultiSlotRankResponse})
def rank_multi_slot() -> ResponseReturnValue:
    return jsonify(api().rank_multi_slot(json_body())), 201


@operation("InvalidRewardRequest", summary="Multi-slot Reward", body=MultiSlotRewardRequest, responses={204: None})
def reward_multi_slot(event_id: str) -> ResponseReturnValue:
    api().reward_multi_slot(event_id, json_body())
    return _no_content()


_both_styles("/rank", "rank", rank)
_both_styles("/events/<event_id>/reward", "reward", reward)
_both_styles("/events/<event_id>/activate", "activate", activate)
_both_styles("/multislot/rank", "multislot_rank", rank_multi_slot)
_both_styles("/multislot/events/<event_id>/reward", "multislot_reward", reward_multi_slot)
_both_styles("/multislot/events/<event_id>/activate", "multislot_activate", activate)


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@endpoint(scope="decide", own_auth=True, summary="not implemented", responses={404: PersonalizerError}, error_model=PersonalizerError,
          extra={"hidden": True})
def unsupported(rest: str) -> ResponseReturnValue:
    """Configuration, policy, evaluations, logs, model...: not part of elicit's surface."""
    try:
        authorize_subscription_key(request.headers.get("Ocp-Apim-Subscription-Key"))
    except Exception as exc:
        return error_response(exc, invalid="BadRequest")
    return render(
        404, "ResourceNotFound",
        f"elicit does not implement {request.method} /personalizer/{rest}; supported: Rank, Reward, Activate and "
        "their multi-slot forms (see docs/personalizer.md)",
    )
