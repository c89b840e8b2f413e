"""Token buckets per visitor and per project, in process memory.

One API process enforces its own limits; with N worker processes (``FEELBACK_API_WORKERS``) or
N replicas behind a load balancer the effective limit is up to N times the setting, which is
acceptable for abuse control (not for billing).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class TokenBuckets:
    """``rate`` tokens per second per key, holding at most ``burst``; memory bounded by ``max_keys``."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)

    def take(self, key: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens from ``key``'s bucket: 0.0 when allowed, else seconds until it would be."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > self.max_keys:
                self._forget_full_buckets(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        # A request larger than the bucket can never pass; tell it when the bucket is full again.
        return (min(cost, self.burst) - tokens) / self.rate

    def _forget_full_buckets(self, now: float) -> None:
        refill = self.burst / self.rate
        self._buckets = {key: (t, last) for key, (t, last) in self._buckets.items() if now - last < refill}
        while len(self._buckets) > self.max_keys:  # all recently active: drop the oldest inserted
            del self._buckets[next(iter(self._buckets))]


def retry_after_header(seconds: float) -> str:
    """Retry-After is whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class IngestLimits:
    """The two limits every public operation passes: its visitor's and its project's."""

    def __init__(self, visitor_per_minute: int, project_per_second: int, clock: Callable[[], float] = time.monotonic):
        self.visitors = TokenBuckets(rate=visitor_per_minute / 60, burst=max(1, visitor_per_minute), clock=clock)
        self.projects = TokenBuckets(rate=project_per_second, burst=max(1, project_per_second), clock=clock)

    def take_project(self, project_id: str, cost: int = 1) -> float:
        return self.projects.take(project_id, cost)

    def take_visitor(self, project_id: str, visitor_id: str) -> float:
        return self.visitors.take(f"{project_id}\x00{visitor_id}")
