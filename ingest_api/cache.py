"""In-process caches of the API (ingest and stats): bounded, optionally expiring, and single-flight loads.

Used from the event loop only (no locks); the loads themselves run in worker threads.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import anyio.to_thread
import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")
_MISSING = object()


class MemoryCache:
    """Least-recently-used entries, at most ``max_entries``, each kept ``seconds`` (None: until evicted)."""

    def __init__(self, max_entries: int, seconds: float | None = None):
        self.max_entries, self.seconds = max_entries, seconds
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable, default: Any = None) -> Any:
        entry = self._entries.get(key, _MISSING)
        if entry is _MISSING:
            return default
        expires, value = entry
        if self.seconds is not None and expires < time.monotonic():
            del self._entries[key]
            return default
        self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        expires = time.monotonic() + self.seconds if self.seconds is not None else 0.0
        self._entries[key] = (expires, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class SingleFlight:
    """Runs a blocking load in a worker thread once per key at a time; concurrent callers share it."""

    def __init__(self, expected: tuple[type[BaseException], ...] = ()) -> None:
        self._running: dict[Hashable, asyncio.Future] = {}
        self._expected = expected  # failures that are answers (a refused key), not worth a warning

    def start(self, key: Hashable, load: Callable[[], T]) -> asyncio.Future:
        future = self._running.get(key)
        # a future of another event loop (a test client's loop that has gone) cannot be awaited here
        if future is None or future.get_loop() is not asyncio.get_running_loop():
            future = asyncio.ensure_future(anyio.to_thread.run_sync(load))
            self._running[key] = future
            future.add_done_callback(lambda done: self._finished(key, done))
        return future

    async def run(self, key: Hashable, load: Callable[[], T]) -> T:
        # shielded: a caller that goes away does not cancel the load others wait for
        return await asyncio.shield(self.start(key, load))

    def _finished(self, key: Hashable, future: asyncio.Future) -> None:
        if self._running.get(key) is future:
            del self._running[key]
        error = None if future.cancelled() else future.exception()
        if error is not None and not isinstance(error, self._expected):
            log.warning("cache_load_failed", key=repr(key)[:200], error=repr(error))


class LoadingCache:
    """Values loaded in a worker thread and kept ``seconds``; concurrent misses share one load, and a
    failed load is not kept."""

    def __init__(self, seconds: float, max_entries: int = 10_000, expected: tuple[type[BaseException], ...] = ()):
        self._entries = MemoryCache(max_entries, seconds)
        self._loads = SingleFlight(expected)

    def peek(self, key: Hashable) -> Any:
        """The cached value, or None, without suspending."""
        return self._entries.get(key)

    async def get(self, key: Hashable, load: Callable[[], T]) -> T:
        value = self._entries.get(key, _MISSING)
        if value is _MISSING:
            value = await self._loads.run(key, load)
            self._entries.put(key, value)
        return value


class RefreshingCache:
    """Values loaded in a worker thread and kept ``fresh_seconds``; after that a read still gets the
    old value (up to ``stale_seconds``) while one reload runs in the background, so reads never
    wait for a reload, only for a first load."""

    def __init__(self, fresh_seconds: float, stale_seconds: float, max_entries: int = 10_000):
        self.fresh_seconds = fresh_seconds
        self._entries = MemoryCache(max_entries, stale_seconds)
        self._loads = SingleFlight()

    async def get(self, key: Hashable, load: Callable[[], T]) -> T:
        entry = self._entries.get(key)
        if entry is None:
            value = await self._loads.run(key, load)
            self._entries.put(key, (time.monotonic(), value))
            return value
        loaded_at, value = entry
        if time.monotonic() - loaded_at > self.fresh_seconds:
            self._loads.start(key, load).add_done_callback(lambda done: self._store(key, done))
        return value

    def _store(self, key: Hashable, done: asyncio.Future) -> None:
        if not done.cancelled() and done.exception() is None:
            self._entries.put(key, (time.monotonic(), done.result()))
