"""``/v1/experiments``: user-level experiments (service/decide/experiments.py).

Defining, starting and stopping take the admin scope; reading, with live counts of users
and decisions per arm from the log, the read scope. Stopping deletes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.decide.experiments import Experiment
from service.decide.requests import ExperimentIn
from service.http.contract import endpoint
from service.http.responses import ExperimentList, ExperimentOut
from service.http.routes import json_body, runtime

bp = Blueprint("experiments", __name__, url_prefix="/v1")
_TAGS = ("experiments",)


def _out(experiment: Experiment, counts: bool = True) -> dict[str, Any]:
    rt = runtime()
    view = experiment.as_json(rt.clock.now_ms())
    if counts:
        view["counts"] = rt.experiment_log.counts(experiment.name, [arm.name for arm in experiment.arms])
    return view


@bp.put("/experiments/<name>")
@endpoint(scope="admin", summary="Define an experiment (or change one that has not started)", body=ExperimentIn,
          responses={200: ExperimentOut}, errors=(404, 409, 422), tags=_TAGS)
def put_experiment(name: str) -> ResponseReturnValue:
    rt = runtime()
    return jsonify(_out(rt.experiments.define(name, json_body(), rt.clock.now_ms()))), 200


@bp.get("/experiments")
@endpoint(scope="read", summary="Every experiment, with users and decisions per arm", responses={200: ExperimentList},
          tags=_TAGS)
def list_experiments() -> ResponseReturnValue:
    return jsonify({"experiments": [_out(experiment) for experiment in runtime().experiments.experiments(fresh=True)]})


@bp.get("/experiments/<name>")
@endpoint(scope="read", summary="One experiment, with users and decisions per arm", responses={200: ExperimentOut},
          errors=(404, 422), tags=_TAGS)
def get_experiment(name: str) -> ResponseReturnValue:
    return jsonify(_out(runtime().experiments.get(name)))


@bp.post("/experiments/<name>/start")
@endpoint(scope="admin", summary="Start now an experiment defined to start later", responses={200: ExperimentOut},
          errors=(404, 409, 422), tags=_TAGS)
def start_experiment(name: str) -> ResponseReturnValue:
    rt = runtime()
    return jsonify(_out(rt.experiments.set_start(name, rt.clock.now_ms())))


@bp.post("/experiments/<name>/stop")
@endpoint(scope="admin", summary="Stop an experiment now (its data stays)", responses={200: ExperimentOut},
          errors=(404, 422), tags=_TAGS)
def stop_experiment(name: str) -> ResponseReturnValue:
    rt = runtime()
    return jsonify(_out(rt.experiments.set_stop(name, rt.clock.now_ms())))
