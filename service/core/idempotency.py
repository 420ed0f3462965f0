"""Event-id idempotency for decisions (slates, prompts, the Personalizer surface).

A client that retries a request with the same ``event_id`` gets the logged decision back;
a *different* request under a used event id is a 409. Telling the two apart needs a digest
of the first request stored with its decision. It is an HMAC under the service secret, not
a bare hash: the body holds the raw user id, and an unkeyed hash of it could be matched
against guessed bodies by anyone who can read the log. And it
is computed only when the request names an event id: without one nothing can replay it,
and canonical JSON of a 50-candidate body is not free on the decision path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from bandit.errors import Conflict


def request_digest(secret: str, payload: Any) -> str:
    """HMAC-SHA256 of the request's canonical JSON (sorted keys): key order does not matter.

    >>> request_digest("s", {"a": 1, "b": [2]}) == request_digest("s", {"b": [2], "a": 1}) != request_digest("t", {"a": 1, "b": [2]})
    True
    """
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def replayed(existing: Mapping[str, Any], kind: str, digest: str | None) -> Mapping[str, Any]:
    """``existing`` if it is this very request logged before; otherwise a 409."""
    if existing.get("kind") != kind or digest is None or not hmac.compare_digest(str(existing.get("request_digest")), digest):
        raise Conflict("event_id was already used for a different request", field="event_id")
    return existing
