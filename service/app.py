"""The application factory (Flask tutorial style): ``create_app(config=None)``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from service.config import load_config
from service.errors import register_error_handlers
from service.routes import feedback, health, items, personalizer, prompts, reports, slates
from service.runtime import Runtime


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service: configuration, store (embedded if no URI), models, routes.

    Background jobs (learner, model refresh) start unless ``BACKGROUND_JOBS`` is false.
    """
    settings = load_config(config)
    app = Flask("elicit")
    app.config.update(settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runtime = Runtime(settings)
    app.extensions["elicit"] = runtime
    register_error_handlers(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(slates.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(personalizer.bp)
    app.register_blueprint(prompts.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(items.bp)
    if settings["BACKGROUND_JOBS"]:
        runtime.start_background()
    return app
