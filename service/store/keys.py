"""API keys: the ``api_keys`` collection and the per-process cache that verifies keys
(service/http/auth.py checks them on every request; ``elicit keys`` manages them).

Keys are 256 random bits (``ek_`` + 43 URL-safe characters), shown once at creation and
stored as their SHA-256 digest. A fast unsalted hash is enough *because* the keys are
random: brute-forcing a 256-bit preimage is infeasible at any hash speed, whereas bcrypt
and friends exist to slow down guessing of low-entropy passwords. bcrypt would also cost
~0.1 s of CPU per request and, being salted, could not be looked up by an index.

Verified keys are cached per process for ``AUTH_CACHE_S`` seconds, so a revocation reaches
every worker within that time; while the store is unreachable a key seen before keeps
working (decisions then go to the spool), an unseen one gets ``503``.

Documents: ``_id`` = key id (public, shown by ``elicit keys list``), ``sha256`` = hex digest
of the key (unique index: a request's key is found by its hash), ``scope``, ``name``,
``created_at``, ``revoked_at`` (epoch ms or None) and optional per-key rate limits. The
key itself is never stored.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from service.core.errors import StoreUnavailable
from service.store.mapping import _mapped

KEY_PREFIX = "ek_"
#: What a key may be granted: ``decide`` (decisions and their outcomes), ``read`` (reports,
#: public feedback, the catalogue, metrics), ``admin`` (everything).
SCOPES = ("decide", "read", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's public id (never the key), its scope and rate limits."""

    key_id: str
    scope: str
    rate_per_s: float | None = None
    burst: int | None = None


class KeyDocuments:
    """The ``api_keys`` collection."""

    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.keys = db["api_keys"]

    @_mapped
    def ensure_indexes(self) -> None:
        self.keys.create_index([("sha256", 1)], unique=True)

    @_mapped
    def insert(self, doc: dict[str, Any]) -> None:
        self.keys.insert_one(doc)

    @_mapped
    def by_hash(self, digest: str) -> dict[str, Any] | None:
        return self.keys.find_one({"sha256": digest})

    @_mapped
    def all(self) -> list[dict[str, Any]]:
        return list(self.keys.find({}, {"sha256": 0}).sort([("created_at", 1), ("_id", 1)]))

    @_mapped
    def revoke(self, key_id: str, now_ms: int) -> bool:
        """False when no such key or already revoked."""
        result = self.keys.update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": now_ms}})
        return result.modified_count == 1


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class KeyStore:
    """Create, list, revoke and verify keys (the ``api_keys`` collection)."""

    def __init__(self, docs: KeyDocuments, cache_s: float = 10.0) -> None:
        self.docs = docs
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()
        #: True while the store is known to be down (service/log/durable.py): cached keys are
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
