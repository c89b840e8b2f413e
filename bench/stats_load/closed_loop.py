"""Closed loop: ``connections`` clients, each sending its next request as soon as the previous answer
arrives (wrk when installed, else aiohttp in several processes); requests/s is the server's maximum."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence

import aiohttp

from bench.stats_load.percentiles import percentile
from bench.stats_load.processes import run_coroutine
from bench.stats_load.targets import KEY_HEADER, Popularity


def aiohttp_client(base_url: str, api_key: str, connections: int) -> aiohttp.ClientSession:
    # aiohttp rather than httpx: on a 2-core machine httpx's client tops out near 200 requests/s,
    # below the rate under test, and would measure itself.
    return aiohttp.ClientSession(
        base_url,
        headers={KEY_HEADER: api_key},
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def _get(client: aiohttp.ClientSession, path: str) -> int:
    try:
        async with client.get(path) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return 599


async def _closed_loop(base_url: str, api_key: str, targets: Sequence[str], connections: int, seconds: float,
                       skew: float, seed: int) -> dict:  # fmt: skip
    popularity = Popularity(targets, skew, seed=seed)
    latencies: list[float] = []
    errors = 0
    async with aiohttp_client(base_url, api_key, connections) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                errors += await _get(client, popularity.pick()) >= 400
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return {"requests": len(latencies), "errors": errors, "elapsed": elapsed, "latencies": latencies}


def _closed_loop_process(args: tuple) -> dict:
    return run_coroutine(_closed_loop(*args))


WRK_SCRIPT = """
wrk.headers["{header}"] = "{key}"
local paths = {{ {paths} }}
local i = 0
init = function(args) i = math.random(#paths) end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def closed_loop(base_url: str, api_key: str, targets: Sequence[str], connections: int = 64, seconds: float = 10,
                processes: int = 2, skew: float = 1.1) -> dict:  # fmt: skip
    """The maximum requests/s at ``connections``: with wrk when installed (a C client leaves the
    machine's cores to the server), else with aiohttp clients in ``processes`` processes."""
    if shutil.which("wrk"):
        return _closed_loop_wrk(base_url, api_key, targets, connections, seconds, skew)
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    jobs = [(base_url, api_key, list(targets), share, seconds, skew, 10 + i) for i, share in enumerate(shares)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_closed_loop_process, jobs)
    latencies = [latency for part in parts for latency in part["latencies"]]
    requests = sum(part["requests"] for part in parts)
    return {
        "connections": connections,
        "client": f"aiohttp ({processes} processes)",
        "max_rps": round(requests / max(part["elapsed"] for part in parts), 1),
        "requests": requests,
        "errors": sum(part["errors"] for part in parts),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
    }


def _closed_loop_wrk(base_url: str, api_key: str, targets: Sequence[str], connections: int, seconds: float,
                     skew: float) -> dict:  # fmt: skip
    popularity = Popularity(targets, skew, seed=3)
    paths = ", ".join(json.dumps(popularity.pick()) for _ in range(20_000))
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT.format(header=KEY_HEADER, key=api_key, paths=paths))
        script.flush()
        command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency", "-s", script.name, base_url]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def milliseconds(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "connections": connections,
        "client": "wrk (2 threads)",
        "max_rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
        "p50_ms": milliseconds("50"),
        "p99_ms": milliseconds("99"),
    }
