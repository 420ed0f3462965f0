"""Pseudonymous user keys: a keyed hash of the user id, so raw ids are never stored."""

from __future__ import annotations

import hashlib
import hmac


def user_key(secret: str, user_id: str) -> str:
    """HMAC-SHA256 of the user id under the server secret, hex, 32 characters.

    >>> user_key("s", "alice") == user_key("s", "alice") != user_key("t", "alice")
    True
    >>> len(user_key("s", "alice"))
    32
    """
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:32]
