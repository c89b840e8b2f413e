"""Waiting for an eventually-true claim without turning its speed into a test (speed lives in bench/)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Room for a 2-core machine under the whole suite and other work: a poll stops as soon as its claim holds.
DEADLINE = 30.0


def eventually(check: Callable[[], T], timeout: float = DEADLINE, interval: float = 0.1) -> T:
    """``check()``'s result once it raises no AssertionError; past ``timeout`` seconds its last
    AssertionError propagates, so a claim that never holds still fails."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)
