"""Throttles for the accounts routes, in process memory (per API process, like ``ingest_api.ratelimit``).

- ``AttemptThrottle``: failed sign-ins per key in a sliding window. The first ``free`` failures cost
  nothing; each further one makes the next answer wait longer (0.5 s doubling, at most ``max_delay``);
  at ``refuse_after`` failures the key is refused (429 with Retry-After) until its oldest failure
  leaves the window. Keys are an e-mail address (whether or not it has an account, so the answers
  tell nothing) and the client's address (never logged).
- ``MailRequests``: how often mails may be asked for per address (extra requests are answered the
  same way but send nothing) and per client (429).

With N API processes these limits are up to N times looser; the lockout of an address after 10
failures in 15 minutes (``feelback.control_plane.lockout``, kept in the control-plane DB) is not.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from fastapi import Request

from feelback.control_plane.lockout import LockoutPolicy
from ingest_api.errors import ApiError
from ingest_api.ratelimit import TokenBuckets, network_of, retry_after_header


class AttemptThrottle:
    def __init__(
        self,
        free: int = 3,
        refuse_after: int = 10,
        window_seconds: float = 900,
        max_delay: float = 4.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free, self.refuse_after, self.window, self.max_delay = free, refuse_after, window_seconds, max_delay
        self.max_keys = max_keys
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def refused_for(self, key: str) -> float:
        """Seconds until ``key`` may try again, or 0."""
        failures = self._recent(key)
        if len(failures) < self.refuse_after:
            return 0.0
        return failures[-self.refuse_after] + self.window - self._clock()

    def delay(self, key: str) -> float:
        extra = len(self._recent(key)) - self.free
        return 0.0 if extra < 0 else min(self.max_delay, 0.5 * 2**extra)

    def failed(self, key: str) -> None:
        if len(self._failures) >= self.max_keys and key not in self._failures:
            self._forget_idle()
        self._failures.setdefault(key, deque(maxlen=self.refuse_after * 2)).append(self._clock())

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)

    def _forget_idle(self) -> None:
        horizon = self._clock() - self.window
        self._failures = {key: f for key, f in self._failures.items() if f and f[-1] > horizon}
        while len(self._failures) >= self.max_keys:
            del self._failures[next(iter(self._failures))]


class MailRequests:
    def __init__(self, per_address_per_hour: int = 5, per_client_per_hour: int = 30, clock: Callable[[], float] = time.monotonic):
        self.addresses = TokenBuckets(rate=per_address_per_hour / 3600, burst=per_address_per_hour, clock=clock)
        self.clients = TokenBuckets(rate=per_client_per_hour / 3600, burst=per_client_per_hour, clock=clock)

    def client_may_ask(self, client: str) -> None:
        wait = self.clients.take(client)
        if wait:
            raise too_many(wait, "too many requests for account mails from this network; try again later")

    def address_may_receive(self, kind: str, email: str) -> bool:
        return self.addresses.take(f"{kind}\x00{email}") == 0.0


def too_many(seconds: float, message: str) -> ApiError:
    minutes = max(1, math.ceil(seconds / 60))
    return ApiError(429, "too_many_attempts", f"{message} (in about {minutes} minute{'s' if minutes > 1 else ''})", {"Retry-After": retry_after_header(seconds)})


def client_key(request: Request) -> str:
    """The client's network (IPv6: its /64, which one host may rotate through), as the ingest limits key it."""
    return network_of(request.client.host) if request.client else "unknown"


class AccountLimits:
    """The throttles of one app (``app.state.account_limits``); tests pass tighter or looser ones."""

    def __init__(
        self,
        sign_in_by_email: AttemptThrottle | None = None,
        sign_in_by_client: AttemptThrottle | None = None,
        mail: MailRequests | None = None,
        lockout: LockoutPolicy | None = None,
    ) -> None:
        self.sign_in_by_email = sign_in_by_email or AttemptThrottle()
        self.sign_in_by_client = sign_in_by_client or AttemptThrottle(free=20, refuse_after=100)
        self.mail = mail or MailRequests()
        # The address's lockout in the control-plane DB (feelback.control_plane.lockout): it holds
        # across processes and restarts, where the throttles above are per process.
        self.lockout = lockout or LockoutPolicy()
