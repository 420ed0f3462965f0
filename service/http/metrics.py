"""Prometheus ``/metrics`` (prometheus_client).

Process-wide series (requests, latency, decisions, spool) live in prometheus_client's
default registry; under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` makes them shared files
that every worker adds to (service/cli/gunicorn_conf.py sets it up), so one scrape sees the
whole server. Series read from state at scrape time (model versions served, learner lag,
report age, store up) come from a collector per app.

Endpoints are labelled with their URL *rule* (``/v1/users/<user_id>/public-feedback``),
never the concrete path, which may hold a raw user id (and would explode cardinality).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from service.http.contract import endpoint
from service.http.routes import runtime
from service.log.metrics import SPOOL_DEPTH
from service.runtime.process import Runtime

REQUESTS = Counter("elicit_requests", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "elicit_request_seconds", "Wall time from request to response", ["endpoint", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
bp = Blueprint("metrics", __name__)


class StateCollector(Collector):
    """Scrape-time series of one process: what its models, learner and reports look like now."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runtime = self.runtime
        version = GaugeMetricFamily("elicit_model_version", "Model version this worker serves", labels=["kind"])
        for kind, registry in (("slate", runtime.slate_models), ("prompt", runtime.prompt_models)):
            version.add_metric([kind], registry.version)
        yield version
        up = GaugeMetricFamily("elicit_store_up", "1 when the store answered this scrape")
        try:
            now = runtime.clock.now_ms()
            lag = GaugeMetricFamily("elicit_learner_lag_seconds",
                                    "Event-time age of the oldest decision whose window closed and is not learned",
                                    labels=["kind"])
            for kind in ("slate", "prompt"):
                due = runtime.store.due_decisions(kind, now, 1)
                lag.add_metric([kind], max(0.0, (now - due[0]["window_end"]) / 1000) if due else 0.0)
            reports = runtime.store.list_reports(1)
            age = GaugeMetricFamily("elicit_report_age_seconds", "Event-time age of the newest report (absent: none yet)")
            if reports:
                age.add_metric([], max(0.0, (now - int(reports[0]["created_at"])) / 1000))
            up.add_metric([], 1)
            yield lag
            yield age
        except Exception:  # a scrape must answer while the store is down; the series say it
            up.add_metric([], 0)
        yield up


def _process_registry() -> Any:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


@bp.get("/metrics")
@endpoint(scope="read", summary="Prometheus metrics", responses={200: "text/plain"}, tags=("meta",))
def metrics() -> Response:
    SPOOL_DEPTH.set(runtime().spool.depth())
    body = generate_latest(_process_registry()) + generate_latest(current_app.extensions["elicit.metrics"])
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0], headers={"Content-Type": CONTENT_TYPE_LATEST})


def _start() -> None:
    g.elicit_started = time.perf_counter()


def _finish(response: Response) -> Response:
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    started = g.get("elicit_started")
    REQUESTS.labels(rule, request.method, str(response.status_code)).inc()
    if started is not None:
        g.elicit_seconds = time.perf_counter() - started
        LATENCY.labels(rule, request.method).observe(g.elicit_seconds)
    return response


def install(app: Flask, runtime: Runtime) -> None:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StateCollector(runtime))
    app.extensions["elicit.metrics"] = registry
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)  # before the key check: 401s are timed too
    app.after_request(_finish)
