"""The application factory (Flask tutorial style): ``create_app(config=None)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from service.core.config import check_mode, load_config
from service.http import auth, logs, metrics, openapi, request_limits
from service.http.error_handlers import register_error_handlers
from service.http.routes import (
    admin,
    evaluations,
    experiments,
    feedback,
    health,
    items,
    models,
    personalizer,
    personalizer_admin,
    prompts,
    reports,
    slates,
)
from service.runtime.process import Runtime


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service: configuration, store (embedded if no URI), models, routes.

    Background jobs (learner, model refresh) start unless ``BACKGROUND_JOBS`` is false.
    """
    settings = load_config(config)
    check_mode(settings)  # production mode: a real secret and auth on, or no start at all
    app = Flask("elicit")
    app.config.update(settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logs.install(app)  # JSON lines; access lines by route and event id, never raw paths (service/http/logs.py)
    runtime = Runtime(settings)
    app.extensions["elicit"] = runtime
    register_error_handlers(app)
    auth.install(app, runtime.keys)  # API keys and rate limits before every view (service/http/auth.py)
    request_limits.install(app)  # bounded ids in paths (service/http/request_limits.py)
    app.register_blueprint(health.bp)
    app.register_blueprint(slates.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(personalizer.bp)
    app.register_blueprint(personalizer_admin.bp)  # its fixed paths win over the catch-all (Werkzeug: static before variable)
    app.register_blueprint(prompts.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(items.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(models.bp)
    app.register_blueprint(evaluations.bp)
    app.register_blueprint(experiments.bp)
    metrics.install(app, runtime)  # /metrics (service/http/metrics.py)
    openapi.install(app)  # /openapi.json from the same models (service/http/openapi.py)
    if settings["BACKGROUND_JOBS"]:
        runtime.start_background()
    return app
