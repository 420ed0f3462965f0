"""Per-key rate limiting: a token bucket per API key, in this process.

Each worker process keeps its own buckets, so with N workers behind a load balancer a key
may get up to N times its rate in the worst case (and about its rate when the balancer
spreads evenly). That is deliberate: a shared bucket would put a MongoDB round trip on
every request, and the point of the limit is to protect workers from one noisy client,
which per-worker buckets do. A key's own ``rate_per_s``/``burst`` (``elicit keys create
--rate --burst``) override the configured defaults; a rate of 0 means unlimited.

>>> limiter = RateLimiter(rate_per_s=1.0, burst=2, now=lambda: 0.0)
>>> limiter.take("k1"); limiter.take("k1")
>>> limiter.take("k1")
Traceback (most recent call last):
...
service.core.errors.RateLimited: rate limit of 1 requests/s (burst 2) exceeded for this key
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from service.core.errors import RateLimited


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int, now: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # key id → (tokens, at)
        self._lock = threading.Lock()

    def take(self, key_id: str, rate_per_s: float | None = None, burst: int | None = None) -> None:
        """Spend one token of ``key_id``'s bucket, or raise :class:`RateLimited` (429).
        ``rate_per_s`` and ``burst``: the key's own limits (None: the configured defaults)."""
        rate = self.rate_per_s if rate_per_s is None else float(rate_per_s)
        if rate <= 0:
            return
        burst_size = float(self.burst if burst is None else burst)
        now = self.now()
        with self._lock:
            tokens, at = self._buckets.get(key_id, (burst_size, now))
            tokens = min(burst_size, tokens + (now - at) * rate)
            if tokens < 1.0:
                self._buckets[key_id] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / rate))  # Retry-After is whole seconds
                raise RateLimited(
                    f"rate limit of {rate:g} requests/s (burst {burst_size:g}) exceeded for this key", retry_after_s=wait
                )
            self._buckets[key_id] = (tokens - 1.0, now)
