"""The errors of the service, and the one drawing of elicit's whole exception tree.

Every error elicit raises on purpose is an :class:`~bandit.errors.ElicitError`. The
learning core's own errors (bad input, unknown ids, conflicts, VW failures) live in
bandit/errors.py; the ones only a running service can meet — keys, rate limits, the
store, the spool, the learner lease, Personalizer's key check — live here. Lower-level
errors (pymongo in service/store/mapping.py, Vowpal Wabbit in bandit/vw.py) are mapped
onto the tree with ``raise ... from exc``, so callers never need to know which library
failed. The Flask error handlers (service/http/error_handlers.py) turn each class into a
JSON problem body with the HTTP status written next to it here
(tests/service/core/test_errors.py checks this drawing against the classes)::

    ElicitError                        500  (never raised bare)
    ├── InvalidInput (ValueError)      422  bad request content; names the field
    │   ├── MalformedRequest           400  body is not JSON / not an object
    │   ├── PayloadTooLarge            413  over a configured size limit
    │   └── FeatureError               422  a feature name or value cannot be encoded
    ├── NotFound (LookupError)         404  unknown event, item, report, ...
    ├── Conflict                       409  state does not allow this (already answered, ...)
    │   └── ApplyRefused               409  an evaluated setting does not beat the live one: both bounds
    ├── ModelError                     500  Vowpal Wabbit refused an example or a model
    ├── Unauthorized                   401  no API key, or one that is unknown or revoked
    ├── Forbidden                      403  a valid key whose scope does not cover the endpoint
    ├── RateLimited                    429  the key's request budget is spent; Retry-After says when
    ├── SubscriptionKeyRejected        401  Personalizer: no or unknown Ocp-Apim-Subscription-Key
    ├── SubscriptionKeyForbidden       403  Personalizer: a key without the decide scope
    ├── StoreError                     500  MongoDB failed in a way that is our fault
    │   └── StoreUnavailable           503  MongoDB cannot be reached; retry later
    │       └── SpoolFull              503  ... and the local spool that stands in for it is full
    ├── LearnerStopped                 500  a learner pass ended without publishing
    │   ├── LeaseLost                  500  the learner lease passed to another process mid-pass
    │   └── ClaimsLost                 500  a claim of the pass never became durable
    └── ArchiveError                   500  an archive part is incomplete or does not match its manifest
"""

from __future__ import annotations

from typing import Any

from bandit.errors import Conflict, ElicitError


class Unauthorized(ElicitError):
    """No API key, or one that is unknown or revoked."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, field: str | None = "Authorization") -> None:
        super().__init__(message, field=field)
        self.headers["WWW-Authenticate"] = 'Bearer realm="elicit"'


class Forbidden(ElicitError):
    """A valid key whose scope does not cover the endpoint."""

    status = 403
    code = "forbidden"


class RateLimited(ElicitError):
    """The key's request budget is spent; ``Retry-After`` says when to come back."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.headers["Retry-After"] = str(retry_after_s)


class SubscriptionKeyRejected(ElicitError):
    """Personalizer: no ``Ocp-Apim-Subscription-Key`` header, or one that is not a key."""

    status = 401
    code = "401"  # Azure's front door used the status as its code


class SubscriptionKeyForbidden(ElicitError):
    """Personalizer: a valid key whose scope does not cover the surface (it needs ``decide``)."""

    status = 403
    code = "403"


class ApplyRefused(Conflict):
    """An evaluation's setting was not applied: its value and lower bound do not both beat
    the live setting's. The body carries both (``bounds``)."""

    code = "not_better"

    def __init__(self, message: str, bounds: dict[str, Any]) -> None:
        super().__init__(message, field="policy")
        self.bounds = bounds

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {**super().to_dict(), **self.bounds}


class StoreError(ElicitError):
    """MongoDB failed in a way that is our fault."""

    code = "store_error"


class StoreUnavailable(StoreError):
    """MongoDB cannot be reached; retry later."""

    status = 503
    code = "store_unavailable"


class SpoolFull(StoreUnavailable):
    """The store is unreachable and the local spool that stands in for it is full."""

    code = "spool_full"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers["Retry-After"] = "5"


class LearnerStopped(ElicitError):
    """A learner pass ended without publishing; the next pass learns what is unclaimed, once."""

    code = "learner_stopped"


class LeaseLost(LearnerStopped):
    """The learner lease passed to another process during a pass; nothing was published."""

    code = "lease_lost"


class ClaimsLost(LearnerStopped):
    """A claim of this pass never became durable (``Store.confirm_claims``); nothing was published."""

    code = "claims_lost"


class ArchiveError(ElicitError):
    """An archive part (service/evaluate/archive.py) is incomplete or does not match its
    manifest: nothing is deleted on its strength."""
