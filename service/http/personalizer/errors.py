"""Personalizer's error body and status codes, and its subscription-key check.

Personalizer answers every failure with ``ErrorResponse``::

    {"error": {"code": "InvalidRankRequest", "message": "...", "target": "actions[2].id"}}

(``target`` only when a field is to blame) and the code also in the ``x-ms-error-code``
header, which is where azure-core looks first. Internally the operations raise elicit's
own errors (bandit/errors.py); :func:`error_response` translates them at the edge.
"""

from __future__ import annotations

import logging

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from bandit.errors import Conflict, ElicitError, MalformedRequest, NotFound, PayloadTooLarge
from service.core.errors import (
    Forbidden,
    RateLimited,
    StoreUnavailable,
    SubscriptionKeyForbidden,
    SubscriptionKeyRejected,
    Unauthorized,
)
from service.http.auth import authorize, bearer_key

log = logging.getLogger("elicit")

#: What Azure's front door answered for a missing or wrong key; clients may match on it.
ACCESS_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)


def authorize_subscription_key(key: str | None, scope: str = "decide") -> None:
    """Accept or refuse a Personalizer ``Ocp-Apim-Subscription-Key``: it must be an elicit
    API key of scope ``decide`` (or ``admin``; only ``admin`` for the administration
    operations), as made by ``elicit keys create`` (service/http/auth.py).
    ``Authorization: Bearer`` works too. Must run inside a request."""
    try:
        authorize((key or "").strip() or bearer_key(), scope)
    except Unauthorized as exc:
        raise SubscriptionKeyRejected(ACCESS_DENIED, field="Ocp-Apim-Subscription-Key") from exc
    except Forbidden as exc:
        raise SubscriptionKeyForbidden(exc.message, field="Ocp-Apim-Subscription-Key") from exc


def render(status: int, code: str, message: str, target: str | None = None) -> Response:
    error = {"code": code, "message": message}
    if target is not None:
        error["target"] = target
    response = jsonify({"error": error})
    response.status_code = status
    response.headers["x-ms-error-code"] = code
    return response


def error_response(exc: Exception, *, invalid: str, not_found: str = "ResourceNotFound") -> Response:
    """Personalizer's answer for ``exc``; ``invalid``/``not_found`` are the operation's codes."""
    if isinstance(exc, HTTPException):
        if exc.code == 413:
            return render(413, "PayloadSizeExceeded", "Exceeds maximum allowed payload size.", "body")
        return render(exc.code or 500, "BadRequest" if (exc.code or 500) < 500 else "InternalServerError",
                      exc.description or exc.name)
    if isinstance(exc, (SubscriptionKeyRejected, SubscriptionKeyForbidden)):
        return render(exc.status, exc.code, exc.message)
    if isinstance(exc, RateLimited):
        response = render(429, "TooManyRequests", exc.message)
        response.headers.update(exc.headers)
        return response
    if isinstance(exc, PayloadTooLarge):
        return render(413, "PayloadSizeExceeded", exc.message, exc.field)
    if isinstance(exc, MalformedRequest):
        return render(400, "BadRequest", exc.message, exc.field)
    if isinstance(exc, NotFound):
        return render(404, not_found, exc.message, exc.field)
    if isinstance(exc, Conflict):
        return render(409, invalid, exc.message, exc.field)
    if isinstance(exc, ElicitError) and exc.status < 500:
        return render(400, invalid, exc.message, exc.field)
    if isinstance(exc, StoreUnavailable):
        response = render(503, "ServiceUnavailable", exc.message)
        response.headers.update(exc.headers)
        return response
    log.error("personalizer operation failed", exc_info=exc)
    return render(500, "InternalServerError", "A generic error has occurred on the server.")
