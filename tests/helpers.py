"""Request builders and paths shared by the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The repository's root: real-process tests run commands from it.
ROOT = Path(__file__).resolve().parents[1]


def candidates(n: int, family: str = "f", features: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{family}{i}",
            "category": f"cat{i % 4}",
            "creator": f"creator{i % 7}",
            "features": {f"x{j}": float((i * 31 + j * 7) % 11) / 10 for j in range(features)},
        }
        for i in range(n)
    ]


def slate_request(n: int = 10, slots: int = 3, user: str = "u1", **extra: Any) -> dict[str, Any]:
    return {"user_id": user, "context": {"device": "mobile", "hour": 13}, "candidates": candidates(n), "slots": slots, **extra}


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    """Poll ``condition`` every 50 ms until it is truthy (real-process tests; no fixed sleeps)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
