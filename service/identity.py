"""Pseudonymous user keys: a keyed hash of the user id, so raw ids are never stored."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

#: The configuration default; production mode refuses to run with it (or without a secret).
DEVELOPMENT_SECRET = "elicit-development-secret"
MIN_SECRET_LENGTH = 32


def user_key(secret: str, user_id: str) -> str:
    """HMAC-SHA256 of the user id under the server secret, hex, 32 characters.

    >>> user_key("s", "alice") == user_key("s", "alice") != user_key("t", "alice")
    True
    >>> len(user_key("s", "alice"))
    32
    """
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:32]


def check_mode(config: Mapping[str, Any]) -> None:
    """Refuse to start in production mode without a real secret or with auth switched off.

    >>> check_mode({"MODE": "production", "SECRET": DEVELOPMENT_SECRET, "AUTH": "on"})
    Traceback (most recent call last):
    ...
    RuntimeError: production mode needs ELICIT_SECRET: a random string of at least 32 characters (not the development default)
    """
    mode = str(config.get("MODE") or "development").lower()
    if mode not in ("development", "production"):
        raise RuntimeError(f"MODE must be development or production, not {mode!r}")
    if mode != "production":
        return
    secret = str(config.get("SECRET") or "")
    if secret == DEVELOPMENT_SECRET or len(secret) < MIN_SECRET_LENGTH:
        raise RuntimeError(
            f"production mode needs ELICIT_SECRET: a random string of at least {MIN_SECRET_LENGTH} characters "
            "(not the development default)"
        )
    if str(config.get("AUTH", "on")).lower() != "on":
        raise RuntimeError("production mode needs AUTH=on: the loopback development mode is not for production")
