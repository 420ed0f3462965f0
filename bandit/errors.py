"""The one exception hierarchy of elicit.

Every error elicit raises on purpose is an :class:`ElicitError`; lower-level errors
(pymongo, Vowpal Wabbit) are mapped onto it with ``raise ... from exc`` so that callers
never have to know which library failed. The Flask error handlers turn each class into a
JSON problem body with the HTTP status written next to it here::

    ElicitError                      500  (never raised bare)
    ├── InvalidInput (ValueError)    422  bad request content; names the field
    │   ├── MalformedRequest         400  body is not JSON / not an object
    │   ├── PayloadTooLarge          413  over a configured size limit
    │   └── FeatureError             422  a feature name or value cannot be encoded
    ├── Unauthorized                 401  no API key, or one that is unknown or revoked
    ├── Forbidden                    403  a valid key whose scope does not cover the endpoint
    ├── NotFound (LookupError)       404  unknown event, item, report, ...
    ├── Conflict                     409  state does not allow this (already answered, ...)
    ├── ModelError                   500  Vowpal Wabbit refused an example or a model
    ├── RateLimited                  429  the key's request budget is spent; Retry-After says when
    └── StoreError                   500  MongoDB failed in a way that is our fault
        └── StoreUnavailable         503  MongoDB cannot be reached; retry later
            └── SpoolFull            503  ... and the local spool that stands in for it is full
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
    status = 400
    code = "malformed_request"


class PayloadTooLarge(InvalidInput):
    status = 413
    code = "payload_too_large"


class FeatureError(InvalidInput):
    code = "invalid_feature"


class Unauthorized(ElicitError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, field: str | None = "Authorization") -> None:
        super().__init__(message, field=field)
        self.headers["WWW-Authenticate"] = 'Bearer realm="elicit"'


class Forbidden(ElicitError):
    status = 403
    code = "forbidden"


class RateLimited(ElicitError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.headers["Retry-After"] = str(retry_after_s)


class NotFound(ElicitError, LookupError):
    status = 404
    code = "not_found"


class Conflict(ElicitError):
    status = 409
    code = "conflict"


class ModelError(ElicitError):
    code = "model_error"


class StoreError(ElicitError):
    code = "store_error"


class StoreUnavailable(StoreError):
    status = 503
    code = "store_unavailable"


class SpoolFull(StoreUnavailable):
    code = "spool_full"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers["Retry-After"] = "5"
