"""API keys with scopes: ``Authorization: Bearer <key>`` on every endpoint but the health checks.

How keys are made, stored and cached: service/store/keys.py.

Scopes: ``decide`` — slates, prompts, outcomes, responses, feedback and the
Personalizer surface; ``read`` — reports, public feedback, the catalogue, metrics;
``admin`` — models, keys, catalogue writes, user deletion, and everything the other two
cover. Which scope an endpoint needs is declared with the view (service/http/contract.py);
a view that declares nothing needs ``admin`` (fail closed).

Development mode ``AUTH=off`` opens every endpoint *to loopback clients only* (127.0.0.1,
::1) as an admin; any other client still needs a key, and production mode refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, request

from service.core.errors import Forbidden, Unauthorized
from service.http.contract import ANY, PUBLIC, spec_of
from service.http.ratelimit import RateLimiter
from service.store.keys import KeyStore, Principal

MAX_KEY_LENGTH = 256  # longer headers are refused before any hashing
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
DEV_PRINCIPAL = Principal("dev-loopback", "admin", rate_per_s=0.0)


def allows(principal: Principal, needed: str) -> bool:
    """Whether the key may call an endpoint declared with scope ``needed``; admin may call all."""
    return needed == ANY or principal.scope == needed or principal.scope == "admin"


def bearer_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _from_loopback() -> bool:
    return (request.remote_addr or "") in LOOPBACK


def authorize(key: str | None, needed: str) -> Principal:
    """The caller's principal if ``key`` may use an endpoint needing ``needed``; else
    :class:`Unauthorized` (401) or :class:`Forbidden` (403). Also spends a rate-limit token."""
    app = current_app
    if not key and str(app.config.get("AUTH", "on")).lower() == "off" and _from_loopback():
        return DEV_PRINCIPAL
    if not key:
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    if len(key) > MAX_KEY_LENGTH:
        raise Unauthorized("unknown or revoked API key")
    gate = _gate()
    principal = gate.keys.verify(key)
    if principal is None:
        raise Unauthorized("unknown or revoked API key")
    if not allows(principal, needed):
        raise Forbidden(f"this key has scope {principal.scope!r}; this endpoint needs {needed!r}", field="Authorization")
    gate.limiter.take(principal.key_id, principal.rate_per_s, principal.burst)
    g.principal = principal
    return principal


def check_request() -> None:
    """``before_request``: every endpoint needs its declared scope (``admin`` if undeclared)."""
    view = current_app.view_functions.get(request.endpoint or "")
    spec = spec_of(view)
    if spec is not None and (spec.scope == PUBLIC or spec.own_auth):
        return
    if view is None:  # no route: 404/405 — but only to a caller with a valid key
        needed = ANY
    else:
        needed = spec.scope if spec is not None else "admin"
    authorize(bearer_key(), needed)


@dataclass(frozen=True)
class Gate:
    """What the key check of one app needs: its key store and this process's rate limiter."""

    keys: KeyStore
    limiter: RateLimiter


def _gate() -> Gate:
    return current_app.extensions["elicit.gate"]  # type: ignore[no-any-return]


def install(app: Flask, keys: KeyStore) -> None:
    config = app.config
    limiter = RateLimiter(float(config["RATE_LIMIT_PER_S"]), int(config["RATE_LIMIT_BURST"]))
    app.extensions["elicit.gate"] = Gate(keys, limiter)
    app.before_request(check_request)
