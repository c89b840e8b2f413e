"""Token buckets: per visitor in process memory; per project shared by the machine's workers.

A project's bucket lives in the idempotency store every worker opens (``ingest_api.idempotency``),
taken in the same transaction as the operations' claims, so ``FEELBACK_RATE_LIMIT_PROJECT_PER_SECOND``
holds for the machine whatever the number of workers; with N machines behind a load balancer it is
up to N times the setting. A visitor's bucket is per process (a visitor's requests may reach any
worker, so the effective limit is up to ``FEELBACK_API_WORKERS`` times the setting): acceptable for
abuse control, not for billing.

An operation costs one token, a batch one per operation; a batch of more operations than the
project's burst could never pass, and is refused (413) rather than asked to retry.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from functools import lru_cache


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
        tokens, wait = take_tokens(self._buckets.get(key), now, self.rate, self.burst, cost)
        self._buckets[key] = (tokens, now)
        if not wait and len(self._buckets) > self.max_keys:
            self._forget_full_buckets(now)
        return wait

    def _forget_full_buckets(self, now: float) -> None:
        refill = self.burst / self.rate
        self._buckets = {key: (t, last) for key, (t, last) in self._buckets.items() if now - last < refill}
        while len(self._buckets) > self.max_keys:  # all recently active: drop the oldest inserted
            del self._buckets[next(iter(self._buckets))]


def take_tokens(bucket: tuple[float, float] | None, now: float, rate: float, burst: float, cost: float) -> tuple[float, float]:
    """A bucket (tokens, last refill time; None: full) after taking ``cost`` at ``now``: (tokens left,
    0.0) when allowed, else (tokens, seconds until ``cost`` tokens are there; never 0 when ``cost``
    is over the burst, which can never pass)."""
    tokens, last = bucket if bucket is not None else (burst, now)
    tokens = min(burst, tokens + max(0.0, now - last) * rate)
    if tokens >= cost:
        return tokens - cost, 0.0
    return tokens, (cost - tokens) / rate


def retry_after_header(seconds: float) -> str:
    """Retry-After is whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class IngestLimits:
    """The two limits every public operation passes: its visitor's (here) and its project's (the
    rate and burst of the shared bucket, which the idempotency store takes from)."""

    def __init__(self, visitor_per_minute: int, project_per_second: int, clock: Callable[[], float] = time.monotonic):
        self.visitors = TokenBuckets(rate=visitor_per_minute / 60, burst=max(1, visitor_per_minute), clock=clock)
        if project_per_second <= 0:
            raise ValueError("project_per_second must be positive")
        self.project_rate = float(project_per_second)
        self.project_burst = float(max(1, project_per_second))

    def take_visitor(self, project_id: str, network: str) -> float:
        """A visitor is limited by its network address (``network_of``), never by what it says of
        itself (anonymous id, user agent): those it could change on every request."""
        return self.visitors.take(f"{project_id}\x00{network}")


@lru_cache(maxsize=8192)  # once per request: a client's next request finds its key here
def network_of(address: str) -> str:
    """The rate-limit key of a client address: an IPv4 address, or the /64 of an IPv6 one (one host
    commonly holds a whole /64 and could rotate through it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address)
    return str(ip)
