"""Request limits that hold for every endpoint.

* Body: ``MAX_CONTENT_LENGTH`` bytes (Flask refuses a larger body with 413 before a view
  reads it; both error shapes say so: elicit's and Personalizer's).
* Ids in URL paths: at most ``MAX_PATH_PARAM`` characters (422 naming the parameter), the
  same bound the OpenAPI document publishes; longer ones could only ever be 404s, but
  would cost a store round trip and a log line each.
* Fields: the request models (service/decide/requests.py and friends) bound every string, list
  and feature dictionary; ``MAX_CANDIDATES`` and ``MAX_FEATURES`` are checked after them.
* Rate: per key (service/http/ratelimit.py).
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from bandit.errors import InvalidInput
from service.http.contract import spec_of


def check_request_limits() -> None:
    limit = int(current_app.config["MAX_PATH_PARAM"])
    spec = spec_of(current_app.view_functions.get(request.endpoint or ""))
    if spec is not None and spec.own_auth:
        return  # Personalizer checks its ids itself and answers in its own error shape
    limit_bytes = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit_bytes and (request.content_length or 0) > int(limit_bytes):
        raise RequestEntityTooLarge()  # also for endpoints that never read their body
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and len(value) > limit:
            raise InvalidInput(f"{name} is longer than {limit} characters", field=name)


def install(app: Flask) -> None:
    app.before_request(check_request_limits)  # after the key check: refusals to strangers stay 401
