"""Personalizer's error body and status codes, and its subscription-key check.

Personalizer answers every failure with ``ErrorResponse``::

    {"error": {"code": "InvalidRankRequest", "message": "...", "target": "actions[2].id"}}

(``target`` only when a field is to blame) and the code also in the ``x-ms-error-code``
header, which is where azure-core looks first. Internally the operations raise elicit's
own errors (bandit/errors.py); :func:`error_response` translates them at the edge.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from bandit.errors import Conflict, ElicitError, MalformedRequest, NotFound, PayloadTooLarge, StoreUnavailable

log = logging.getLogger("elicit")

#: What Azure's front door answered for a missing or wrong key; clients may match on it.
ACCESS_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)


class SubscriptionKeyRejected(ElicitError):
    """No ``Ocp-Apim-Subscription-Key`` header, or one that is not a configured key."""

    status = 401
    code = "401"  # Azure's front door used the status as its code


def _configured(keys: str | Iterable[str] | None) -> list[str]:
    if keys is None:
        return []
    if isinstance(keys, str):  # ELICIT_PERSONALIZER_KEYS=key1,key2
        keys = keys.split(",")
    return [key.strip() for key in keys if key and key.strip()]


def authorize_subscription_key(key: str | None, configured: str | Iterable[str] | None = None) -> None:
    """Accept or refuse a Personalizer ``Ocp-Apim-Subscription-Key``.

    The hook issue 8 (API keys, scope ``decide``) replaces with its key store. Until then:
    any non-empty key when ``PERSONALIZER_KEYS`` is unset, else only the listed keys.

    >>> authorize_subscription_key("anything")
    >>> authorize_subscription_key("k2", "k1, k2")
    >>> authorize_subscription_key("k3", ["k1", "k2"])
    Traceback (most recent call last):
    ...
    service.personalizer.errors.SubscriptionKeyRejected: Access denied due to invalid subscription key ...
    """
    if not key or not key.strip():
        raise SubscriptionKeyRejected(ACCESS_DENIED, field="Ocp-Apim-Subscription-Key")
    allowed = _configured(configured)
    # compare_digest against every key: the time taken does not say which prefix matched.
    if allowed and not any([hmac.compare_digest(key.encode(), candidate.encode()) for candidate in allowed]):
        raise SubscriptionKeyRejected(ACCESS_DENIED, field="Ocp-Apim-Subscription-Key")


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
    if isinstance(exc, SubscriptionKeyRejected):
        return render(401, exc.code, exc.message)
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
        return render(503, "InternalServerError", exc.message)
    log.error("personalizer operation failed", exc_info=exc)
    return render(500, "InternalServerError", "A generic error has occurred on the server.")
