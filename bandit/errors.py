"""The learning core's errors, and the root of elicit's one exception tree.

Every error elicit raises on purpose is an :class:`ElicitError`, with the HTTP status a
request that meets it is answered with. The classes here are the ones the learning core
(features, VW, policies, estimators) raises itself; the service adds its own (keys, rate
limits, the store, the spool, the learner lease) in service/core/errors.py, whose
docstring draws the whole tree once.
"""

from __future__ import annotations


class ElicitError(Exception):
    """Base of every deliberate elicit error."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        #: extra HTTP response headers (WWW-Authenticate, Retry-After)
        self.headers: dict[str, str] = {}

    def to_dict(self) -> dict[str, str]:
        body = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidInput(ElicitError, ValueError):
    """The request (or call) carries a value elicit will not accept."""

    status = 422
    code = "invalid_input"


class MalformedRequest(InvalidInput):
    """The body is not JSON, or not a JSON object."""

    status = 400
    code = "malformed_request"


class PayloadTooLarge(InvalidInput):
    """Over a configured size limit."""

    status = 413
    code = "payload_too_large"


class FeatureError(InvalidInput):
    """A feature name or value cannot be encoded for Vowpal Wabbit."""

    code = "invalid_feature"


class NotFound(ElicitError, LookupError):
    """An unknown event, item, report, key, ..."""

    status = 404
    code = "not_found"


class Conflict(ElicitError):
    """The state does not allow this (already answered, an event id reused for another request, ...)."""

    status = 409
    code = "conflict"


class ModelError(ElicitError):
    """Vowpal Wabbit refused an example or a model."""

    code = "model_error"
