"""Flask error handlers: every error leaves as a JSON problem body, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from bandit.errors import ElicitError

log = logging.getLogger("elicit")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ElicitError)
    def elicit_error(exc: ElicitError) -> ResponseReturnValue:
        if exc.status >= 500 and exc.status != 503:
            log.error("internal error: %s", exc, exc_info=exc)
        return jsonify(exc.to_dict()), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        body = {"error": (exc.name or "error").lower().replace(" ", "_"), "message": exc.description or exc.name}
        if code == 413:
            body["field"] = "body"
        return jsonify(body), code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        return jsonify({"error": "internal_error", "message": "an unexpected error occurred; it has been logged"}), 500
