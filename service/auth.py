"""API keys with scopes: ``Authorization: Bearer <key>`` on every endpoint but the health checks.

Keys are 256 random bits (``ek_`` + 43 URL-safe characters), shown once at creation and
stored as their SHA-256 digest. A fast unsalted hash is enough *because* the keys are
random: brute-forcing a 256-bit preimage is infeasible at any hash speed, whereas bcrypt
and friends exist to slow down guessing of low-entropy passwords. bcrypt would also cost
~0.1 s of CPU per request and, being salted, could not be looked up by an index — each
request would need a key-id prefix and a second secret comparison.

Scopes (issue 8): ``decide`` — slates, prompts, outcomes, responses, feedback and the
Personalizer surface; ``read`` — reports, public feedback, the catalogue, metrics;
``admin`` — models, keys, catalogue writes, user deletion, and everything the other two
cover. Which scope an endpoint needs is declared with the view (service/contract.py);
a view that declares nothing needs ``admin`` (fail closed).

Verified keys are cached per process for ``AUTH_CACHE_S`` seconds, so a revocation reaches
every worker within that time; while the store is unreachable a key seen before keeps
working (decisions then go to the spool), an unseen one gets ``503``.

Development mode ``AUTH=off`` opens every endpoint *to loopback clients only* (127.0.0.1,
::1) as an admin; any other client still needs a key, and production mode refuses it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request

from bandit.errors import Forbidden, StoreUnavailable, Unauthorized
from service.contract import ANY, PUBLIC, SCOPES, spec_of
from service.ratelimit import RateLimiter
from service.store.keys import KeyDocuments

KEY_PREFIX = "ek_"
MAX_KEY_LENGTH = 256  # longer headers are refused before any hashing
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's public id (never the key), its scope and rate limits."""

    key_id: str
    scope: str
    rate_per_s: float | None = None
    burst: int | None = None

    def allows(self, needed: str) -> bool:
        return needed == ANY or self.scope == needed or self.scope == "admin"


DEV_PRINCIPAL = Principal("dev-loopback", "admin", rate_per_s=0.0)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class KeyStore:
    """Create, list, revoke and verify keys (the ``api_keys`` collection)."""

    def __init__(self, docs: KeyDocuments, cache_s: float = 10.0) -> None:
        self.docs = docs
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()
        #: True while the store is known to be down (service/durable.py): cached keys are
        #: then trusted without first waiting for a store timeout on every request
        self.store_down: Callable[[], bool] = lambda: False

    def create(self, scope: str, name: str | None = None, rate_per_s: float | None = None,
               burst: int | None = None) -> tuple[str, dict[str, Any]]:
        """A new key and its stored document (without the digest). The key is not kept."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        doc = {"_id": "k" + secrets.token_hex(6), "sha256": digest(key), "scope": scope, "name": name,
               "created_at": int(time.time() * 1000), "revoked_at": None, "rate_per_s": rate_per_s, "burst": burst}
        self.docs.insert(doc)
        return key, {k: v for k, v in doc.items() if k != "sha256"}

    def list(self) -> list[dict[str, Any]]:
        return self.docs.all()

    def revoke(self, key_id: str) -> bool:
        revoked = self.docs.revoke(key_id, int(time.time() * 1000))
        with self._lock:
            self._cache.clear()  # this worker forgets at once; others within AUTH_CACHE_S
        return revoked

    def verify(self, key: str) -> Principal | None:
        """The key's principal, or None for an unknown or revoked key."""
        hashed = digest(key)
        now = time.monotonic()
        cached = self._cache.get(hashed)
        if cached is not None and (now - cached[0] < self.cache_s or self.store_down()):
            return cached[1]
        try:
            doc = self.docs.by_hash(hashed)
        except StoreUnavailable:
            if cached is not None:  # stale but known: keep serving (and spooling) through an outage
                return cached[1]
            raise
        found = None
        if doc is not None and doc.get("revoked_at") is None:
            found = Principal(str(doc["_id"]), str(doc["scope"]), doc.get("rate_per_s"), doc.get("burst"))
        with self._lock:
            if len(self._cache) > 100_000:  # bounded: random bad keys cannot grow it for ever
                self._cache.clear()
            self._cache[hashed] = (now, found)
        return found


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
    runtime = app.extensions["elicit"]
    principal = runtime.keys.verify(key)
    if principal is None:
        raise Unauthorized("unknown or revoked API key")
    if not principal.allows(needed):
        raise Forbidden(f"this key has scope {principal.scope!r}; this endpoint needs {needed!r}", field="Authorization")
    limiter: RateLimiter = app.extensions["elicit.ratelimit"]
    limiter.take(principal)
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


def install(app: Flask) -> None:
    config = app.config
    app.extensions["elicit.ratelimit"] = RateLimiter(
        float(config["RATE_LIMIT_PER_S"]), int(config["RATE_LIMIT_BURST"])
    )
    app.before_request(check_request)
