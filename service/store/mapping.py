"""pymongo errors → :mod:`bandit.errors`, for every store method (a decorator).

Its own module so that the store's parts (``mongo``, ``state``, ``learning``) share it
without importing each other in a circle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from pymongo import errors as mongo_errors

from service.core.errors import StoreError, StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")

_UNREACHABLE = (mongo_errors.ConnectionFailure, mongo_errors.ServerSelectionTimeoutError, mongo_errors.AutoReconnect)


def _mapped(method: Callable[P, R]) -> Callable[P, R]:
    """Unreachable → :class:`StoreUnavailable` (HTTP 503), anything else → :class:`StoreError`."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except _UNREACHABLE as exc:
            raise StoreUnavailable("the store (MongoDB) cannot be reached; retry later") from exc
        except mongo_errors.PyMongoError as exc:
            raise StoreError(f"store operation {method.__name__} failed: {exc}") from exc

    return wrapper

