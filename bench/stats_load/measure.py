"""One measurement of a running API: warm every target, then the open loop, the closed loop and, for
comparison, the same on ``/healthz`` and on a trivial responder; with the machine's load around it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from bench.stats_load.closed_loop import aiohttp_client, closed_loop
from bench.stats_load.floor import trivial_server
from bench.stats_load.open_loop import open_loop
from bench.stats_load.processes import run_coroutine


def measure_stats_api(base_url: str, api_key: str, targets: Sequence[str], rate: float = 500, seconds: float = 10,
                      *, connections: int = 64, poisson: bool = True, skew: float = 1.1, warmup: float = 3.0,
                      client_processes: int = 2, baseline: bool = True, floor: bool = False) -> dict:  # fmt: skip
    """Open-loop p50/p99 at ``rate`` requests/s, then the closed-loop maximum at ``connections``.

    ``targets`` are request paths (see ``widget_targets``), most popular first. The API must be
    running (e.g. ``serve_api``) in another process. Returns ``{"open_loop": {...}, "closed_loop": {...}}``
    and, with ``baseline``, the same two measurements of the app's ``/healthz`` (no I/O, no stats
    code: the framework's own cost on this machine) under ``"baseline"``; with ``floor``, of a
    trivial HTTP responder in its own process under ``"floor"`` (what the load generators
    themselves add on this machine: their latency floor and the closed loop's ceiling).
    """
    # every target once, so the measurement starts from caches warmed the way steady traffic warms them
    run_coroutine(_warm(base_url, api_key, targets))
    result = {
        "load_average_before": [round(load, 2) for load in os.getloadavg()],
        "cpu_pressure_before": cpu_pressure(),
        "open_loop": open_loop(base_url, api_key, targets, rate, seconds, poisson, skew, warmup, connections),
        "closed_loop": closed_loop(base_url, api_key, targets, connections, seconds, client_processes, skew),
    }
    if baseline:
        result["baseline"] = {
            "open_loop": open_loop(base_url, api_key, ["/healthz"], rate, seconds, poisson, 0, warmup, connections),
            "closed_loop": closed_loop(base_url, api_key, ["/healthz"], connections, seconds, client_processes, 0),
        }
    if floor:
        with trivial_server() as trivial:
            result["floor"] = {
                "open_loop": open_loop(trivial, api_key, ["/"], rate, seconds, poisson, 0, warmup, connections),
                "closed_loop": closed_loop(trivial, api_key, ["/"], connections, seconds, client_processes, 0),
            }
    result["load_average_after"] = [round(load, 2) for load in os.getloadavg()]
    result["cpu_pressure_after"] = cpu_pressure()
    return result


def cpu_pressure() -> str | None:
    """Linux's CPU pressure (share of time runnable tasks waited for a core, over 10/60/300 s), if exposed."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0].removeprefix("some ")
    except (OSError, IndexError):
        return None


async def _warm(base_url: str, api_key: str, targets: Sequence[str]) -> None:
    async with aiohttp_client(base_url, api_key, connections=16) as client:
        semaphore = asyncio.Semaphore(16)

        async def one(path: str) -> None:
            async with semaphore, client.get(path) as response:
                if response.status >= 400:
                    raise SystemExit(f"GET {path} → {response.status}: {(await response.text())[:300]}")
                await response.read()

        await asyncio.gather(*(one(path) for path in dict.fromkeys(targets)))
