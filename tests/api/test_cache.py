"""The API's in-process caches: one load per key at a time, failures not kept, entries expire."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from ingest_api.cache import LoadingCache, MemoryCache


def test_concurrent_misses_share_one_load_and_later_reads_load_nothing():
    loads = []
    release = threading.Event()

    def load() -> str:
        loads.append(threading.current_thread().name)
        release.wait(5)
        return "value"

    async def scenario() -> list[str]:
        cache = LoadingCache(seconds=60)
        readers = [asyncio.ensure_future(cache.get("key", load)) for _ in range(10)]
        await asyncio.sleep(0.05)
        release.set()
        values = await asyncio.gather(*readers)
        assert cache.peek("key") == "value"
        assert await cache.get("key", load) == "value"
        return values

    assert asyncio.run(scenario()) == ["value"] * 10
    assert len(loads) == 1
    assert loads[0] != threading.main_thread().name  # the blocking load ran in a worker thread


def test_a_failed_load_is_not_kept_and_the_next_read_loads_again():
    calls = iter([LookupError("refused"), "loaded"])

    def load() -> str:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def scenario() -> str:
        cache = LoadingCache(seconds=60, expected=(LookupError,))
        with pytest.raises(LookupError):
            await cache.get("key", load)
        assert cache.peek("key") is None
        return await cache.get("key", load)

    assert asyncio.run(scenario()) == "loaded"


def test_a_cache_keeps_working_across_event_loops():
    cache = LoadingCache(seconds=0.05)
    assert asyncio.run(cache.get("key", lambda: 1)) == 1
    time.sleep(0.1)  # expired: the next read loads again, on another loop
    assert asyncio.run(cache.get("key", lambda: 2)) == 2


def test_memory_cache_evicts_the_least_recently_used_and_expires_entries():
    cache = MemoryCache(max_entries=2, seconds=0.05)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    time.sleep(0.1)
    assert cache.get("a") is None and len(cache) == 1
