"""Stats API load: open-loop latency at a fixed offered rate, and closed-loop maximum requests/s.

    .venv/bin/python -m bench.stats_load [--events 200000] [--rate 500] [--seconds 10] [--connections 64]
    .venv/bin/python -m bench.stats_load --base-url http://127.0.0.1:8000 --key fb_pk_... --target /v1/stats/votes/page-1 ...

Alone, it builds a world under a temporary folder: a local ClickHouse server, a project with one
content set per type, ``--events`` raw events over 90 days (skewed popularity, edits, revokes), a
dbt build, then a few thousand events after the build (so reads merge a live delta), and the API
as a uvicorn subprocess. With ``--base-url`` it loads an API that is already running.

Open loop: requests are scheduled at ``rate``/s (Poisson arrivals, or fixed intervals) whatever
the answers do, and each latency runs from the *scheduled* send time, so a stall is not hidden by
the generator waiting for it (no coordinated omission). The generator is a lean client of its own
(raw keep-alive connections, requests encoded beforehand, its own process, microsecond timers,
perf_counter clocks; see "open loop" below) and reports its own send lag and the API's time from
the actual send beside the latencies.
Closed loop: ``connections`` clients, each sending its next request as soon as the previous answer
arrives (wrk when installed, else aiohttp in several processes, so the client is not the
bottleneck); requests/s is the server's maximum at that concurrency. Both also run on the app's
``/healthz`` as a baseline (one FastAPI route: the framework's own cost on the same machine at the
same moment) and, from the command line, on a trivial HTTP responder in its own process: the
generators' floor (open-loop latency) and ceiling (closed-loop requests/s) on this machine.
The machine's load average is printed before and after: on a shared machine, judge by ratios.
Targets are read with Zipf-like popularity, after one warm-up read of each.

The pipeline bench (bench/pipeline.py) imports ``measure_stats_api``, ``register_project``,
``widget_targets`` and ``serve_api``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import contextlib
import datetime as dt
import gc
import json
import multiprocessing
import os
import random
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import aiohttp
import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import synthetic  # noqa: E402

KEY_HEADER = "X-Feelback-Key"
# A generator sending this late at p99 was itself short of CPU (on a quiet machine it is well under 1 ms).
STARVED_LAG_MS = 5.0
# What a widget shows most: one content's all-time and recent numbers; listing pages and rankings less.
WINDOW_MIX = (("all", 5), ("7d", 2), ("30d", 2), ("month", 1))


# --- targets --------------------------------------------------------------------------------------


def widget_targets(sets: Sequence[str], contents: Sequence[str], windows: Sequence[tuple[str, int]] = WINDOW_MIX) -> list[str]:
    """Request paths in popularity order (most read first): per content reads of every set and window
    (weighted), then each set's totals, top 10 and a 20-content batch. ``contents`` most popular first."""
    paths = []
    for content in contents:
        for content_set in sets:
            for window, weight in windows:
                paths += [f"/v1/stats/{content_set}/{content}?window={window}"] * weight
    for content_set in sets:
        batch = "&".join(f"content={content}" for content in contents[:20])
        paths += [f"/v1/stats/{content_set}?window=30d", f"/v1/stats/{content_set}/top?window=7d&by=count&limit=10",
                  f"/v1/stats/{content_set}/batch?window=all&{batch}"]  # fmt: skip
    return paths


class Popularity:
    """Picks targets with Zipf-like skew: the k-th target with weight 1 / k**skew (skew 0: uniformly)."""

    def __init__(self, targets: Sequence[str], skew: float, seed: int):
        self.targets = list(targets)
        weights = [1 / (rank + 1) ** skew for rank in range(len(self.targets))]
        total = sum(weights)
        self.cumulative = [0.0] * len(weights)
        running = 0.0
        for i, weight in enumerate(weights):
            running += weight / total
            self.cumulative[i] = running
        self.rng = random.Random(seed)

    def pick(self) -> str:
        return self.targets[min(bisect.bisect_left(self.cumulative, self.rng.random()), len(self.targets) - 1)]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _client(base_url: str, api_key: str, connections: int) -> aiohttp.ClientSession:
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


# --- open loop ------------------------------------------------------------------------------------
#
# The generator is lean so that it measures the API, not itself: it runs in a process of its own
# (a bench that imported Dagster has a heap whose collections would pause it), with the garbage
# collector off while it measures, on asyncio's plain selector loop with select(2) (whose timeouts
# have microsecond precision, where epoll's and uvloop's timers round to milliseconds), over raw
# keep-alive connections with every request encoded beforehand and the whole schedule drawn
# beforehand. Latencies are time.perf_counter() differences from the *scheduled* send time; the
# generator's own lateness (send lag) and the server's time from the actual send are reported too.


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time; reads just enough of an answer
    (status line, Content-Length) to know where it ends."""

    def __init__(self, pool: _Pool):
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.request: tuple[float, float, bool] | None = None  # (scheduled, sent, measured)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # asyncio sets TCP_NODELAY on TCP sockets

    def send(self, request: bytes, scheduled: float, measured: bool) -> None:
        self.request = (scheduled, time.perf_counter(), measured)
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.request is None:
            return
        head = bytes(self.buffer[:end]).lower()
        status = int(head[9:12])
        found = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
        if b"\r\ntransfer-encoding:" in head:  # never sent by these routes; not worth parsing
            self.transport.close()
            return
        length = int(found.group(1)) if found else 0
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        done = time.perf_counter()
        (scheduled, sent, measured), self.request = self.request, None
        self.pool.answered(self, status, scheduled, sent, done, measured)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.lost(self)


class _Pool:
    """Keep-alive connections: a due request goes out on an idle one, else on a new one (up to
    ``limit``), else waits for the first to free up (its latency still runs from its schedule)."""

    def __init__(self, host: str, port: int, limit: int):
        self.host, self.port, self.limit = host, port, limit
        self.idle: list[_Connection] = []
        self.opened = 0
        self.waiting: collections.deque = collections.deque()
        self.latencies: list[float] = []
        self.lags: list[float] = []
        self.service: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.in_flight = 0
        self.drained: asyncio.Future | None = None

    async def open(self, count: int) -> None:
        for _ in range(count):
            await self._connect()

    async def _connect(self) -> _Connection:
        self.opened += 1
        try:
            _, connection = await asyncio.get_running_loop().create_connection(lambda: _Connection(self), self.host, self.port)
        except OSError:
            self.opened -= 1
            raise
        self.idle.append(connection)
        return connection

    def dispatch(self, request: bytes, scheduled: float, measured: bool) -> None:
        self.in_flight += 1
        if self.idle:
            self.idle.pop().send(request, scheduled, measured)
        elif self.opened < self.limit:
            asyncio.ensure_future(self._send_on_new(request, scheduled, measured))
        else:
            self.waiting.append((request, scheduled, measured))

    async def _send_on_new(self, request: bytes, scheduled: float, measured: bool) -> None:
        try:
            connection = await self._connect()
        except OSError:
            self._finish(599, scheduled, scheduled, time.perf_counter(), measured)
            return
        self.idle.remove(connection)
        connection.send(request, scheduled, measured)

    def answered(self, connection: _Connection, status: int, scheduled: float, sent: float, done: float, measured: bool) -> None:
        if self.waiting:
            connection.send(*self.waiting.popleft())
        else:
            self.idle.append(connection)
        self._finish(status, scheduled, sent, done, measured)

    def lost(self, connection: _Connection) -> None:
        self.opened -= 1
        if connection in self.idle:
            self.idle.remove(connection)
        if connection.request is not None:
            scheduled, sent, measured = connection.request
            connection.request = None
            self._finish(599, scheduled, sent, time.perf_counter(), measured)

    def _finish(self, status: int, scheduled: float, sent: float, done: float, measured: bool) -> None:
        self.in_flight -= 1
        if measured:
            self.latencies.append(done - scheduled)
            self.lags.append(sent - scheduled)
            self.service.append(done - sent)
            self.statuses[status] += 1
        if self.in_flight == 0 and self.drained is not None and not self.drained.done():
            self.drained.set_result(None)


def _encoded_requests(base_url: str, api_key: str, paths: Sequence[str]) -> tuple[str, int, dict[str, bytes]]:
    url = httpx.URL(base_url)
    host = f"{url.host}:{url.port}"
    requests = {path: f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{KEY_HEADER}: {api_key}\r\n\r\n".encode() for path in paths}
    return url.host, url.port, requests


async def _open_loop(base_url: str, api_key: str, targets: Sequence[str], rate: float, seconds: float,
                     poisson: bool, skew: float, warmup: float, connections: int = 64) -> dict:  # fmt: skip
    host, port, requests = _encoded_requests(base_url, api_key, dict.fromkeys(targets))
    popularity = Popularity(targets, skew, seed=1)
    gaps = random.Random(2)
    schedule = []  # (offset, request, measured), drawn before the first send
    offset = 0.0
    while offset < warmup + seconds:
        schedule.append((offset, requests[popularity.pick()], offset >= warmup))
        offset += gaps.expovariate(rate) if poisson else 1 / rate

    loop = asyncio.get_running_loop()
    pool = _Pool(host, port, limit=max(connections, 1024))
    await pool.open(connections)
    gc.collect()
    gc.disable()
    try:
        began = time.perf_counter() + 0.05
        for offset, request, measured in schedule:
            due = began + offset
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pool.dispatch(request, due, measured)
        ended = time.perf_counter()
        if pool.in_flight:
            pool.drained = loop.create_future()
            await asyncio.wait_for(pool.drained, timeout=60)
    finally:
        gc.enable()
        for connection in list(pool.idle):
            connection.transport.close()
    latencies, lags, service = pool.latencies, pool.lags, pool.service

    def ms(values: list[float], q: float) -> float:
        return round(percentile(values, q) * 1000, 2)

    ok = sum(count for status, count in pool.statuses.items() if status < 400)
    return {
        "offered_rps": rate,
        "schedule": "poisson" if poisson else "fixed",
        "requests": len(latencies),
        "sent_rps": round(len(latencies) / max(ended - began - warmup, 1e-9), 1),
        "ok": ok,
        "statuses": dict(pool.statuses),
        "p50_ms": ms(latencies, 50),
        "p90_ms": ms(latencies, 90),
        "p99_ms": ms(latencies, 99),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 2),
        # how late the generator sent (included in the latencies above; large values mean the
        # generator, not the API, was starved of CPU) and the API's time from the actual send
        "send_lag_p50_ms": ms(lags, 50),
        "send_lag_p99_ms": ms(lags, 99),
        "from_send_p50_ms": ms(service, 50),
        "from_send_p99_ms": ms(service, 99),
        "connections_opened": pool.opened,
    }


def _open_loop_process() -> None:
    """The generator's own process: arguments as JSON on stdin, the result as JSON on stdout."""
    args = json.load(sys.stdin)
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        result = loop.run_until_complete(_open_loop(*args))
    finally:
        loop.close()
    json.dump(result, sys.stdout)


def _in_own_process(function: str, arguments: list | None = None, **popen) -> subprocess.Popen:
    """``bench.stats_load.<function>()`` in a fresh interpreter (whatever the caller's ``__main__``)."""
    code = f"from bench.stats_load import {function}; {function}()"
    return subprocess.Popen([sys.executable, "-c", code, *(arguments or [])], cwd=REPO, **popen)


def open_loop(base_url: str, api_key: str, targets: Sequence[str], rate: float = 500, seconds: float = 10,
              poisson: bool = True, skew: float = 1.1, warmup: float = 3.0, connections: int = 64) -> dict:  # fmt: skip
    """Latencies at ``rate`` requests/s offered whatever the answers do, from a fresh process."""
    arguments = [base_url, api_key, list(targets), rate, seconds, poisson, skew, warmup, connections]
    process = _in_own_process("_open_loop_process", stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    output, _ = process.communicate(json.dumps(arguments), timeout=warmup + seconds + 120)
    if process.returncode:
        raise RuntimeError(f"the open-loop generator failed (exit {process.returncode})")
    result = json.loads(output)
    result["statuses"] = {int(status): count for status, count in result["statuses"].items()}
    return result


# --- closed loop ----------------------------------------------------------------------------------


async def _closed_loop(base_url: str, api_key: str, targets: Sequence[str], connections: int, seconds: float,
                       skew: float, seed: int) -> dict:  # fmt: skip
    popularity = Popularity(targets, skew, seed=seed)
    latencies: list[float] = []
    errors = 0
    async with _client(base_url, api_key, connections) as client:
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
    return _run(_closed_loop(*args))


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
    _run(_warm(base_url, api_key, targets))
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


def _run(coroutine):
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


class _Trivial(asyncio.Protocol):
    """Answers every request at once with the same small JSON (requests without a body only)."""

    ANSWER = b'HTTP/1.1 200 OK\r\ncontent-length: 15\r\ncontent-type: application/json\r\n\r\n{"status":"ok"}'

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport, self.buffer = transport, b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        requests = self.buffer.count(b"\r\n\r\n")
        if requests:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(self.ANSWER * requests)


def _serve_trivial() -> None:
    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(_Trivial, "127.0.0.1", int(sys.argv[1]))
        await server.serve_forever()

    _run(serve())


@contextlib.contextmanager
def trivial_server() -> Iterator[str]:
    """A trivial HTTP responder in its own process; yields its URL."""
    from warehouse.local_server.process import free_port

    port = free_port()
    process = _in_own_process("_serve_trivial", [str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the trivial responder did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def _warm(base_url: str, api_key: str, targets: Sequence[str]) -> None:
    async with _client(base_url, api_key, connections=16) as client:
        semaphore = asyncio.Semaphore(16)

        async def one(path: str) -> None:
            async with semaphore, client.get(path) as response:
                if response.status >= 400:
                    raise SystemExit(f"GET {path} → {response.status}: {(await response.text())[:300]}")
                await response.read()

        await asyncio.gather(*(one(path) for path in dict.fromkeys(targets)))


# --- the API and its project, for benches ----------------------------------------------------------


def register_project(database_url: str, project_id: str, sets: dict[str, tuple[str, dict]], timezone: str = "UTC") -> str:
    """A control-plane project with this id (e.g. the project of synthetic events) and its content
    sets ({key: (signal type, config)}); returns a new public key."""
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.keys import KeyKind
    from feelback.control_plane.models import ContentSet, Project
    from feelback.control_plane.organizations import create_organization
    from feelback.control_plane.projects import issue_key
    from feelback.control_plane.users import operator_user
    from feelback.settings import Settings

    settings = Settings(database_url=database_url)
    upgrade_control_plane(settings)
    with session_scope(settings) as session:
        project = session.get(Project, project_id) or Project(
            id=project_id, name=project_id, timezone=timezone, allowed_origins=[],
            organization_id=create_organization(session, project_id, operator_user(session)).id,
        )  # fmt: skip
        session.add(project)
        session.flush()
        known = {content_set.key for content_set in project.content_sets}
        for key, (signal_type, config) in sets.items():
            if key not in known:
                session.add(ContentSet(project_id=project_id, key=key, signal_type=signal_type, config=config,
                                       one_per_visitor=signal_type != "message"))  # fmt: skip
        _, public_key = issue_key(session, project, KeyKind.public, "stats bench")
    return public_key


@contextlib.contextmanager
def serve_api(env: dict[str, str], workers: int = 1) -> Iterator[str]:
    """``ingest_api.app:create_app`` under uvicorn in a subprocess with ``env`` (FEELBACK_*); yields its URL.

    The command is the one ``feelback up`` runs (feelback/stack.py: uvicorn's defaults, which pick
    uvloop and httptools when installed, and the default log level ``warning``, under which the
    access log writes nothing), so the figures are those of the production configuration;
    ``workers`` > 1 adds ``--workers`` (each process then keeps caches of its own)."""
    from warehouse.local_server.process import free_port

    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "ingest_api.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# --- a world of its own ----------------------------------------------------------------------------

PROJECT = "stats-bench"
CONTENTS = 500


def insert_events(client, first: int, count: int, start: dt.datetime, span: dt.timedelta, reach: int) -> None:
    """Events ``first`` .. ``first + count - 1`` of one project; popular pages (low numbers) get most signals."""
    synthetic.insert_events(client, first, count, start, span, reach, projects=(PROJECT,), contents=CONTENTS, skew=3,
                            content_prefix="page-", idempotency_prefix="bench-")  # fmt: skip


def build_world(folder: Path, events: int) -> tuple[dict[str, str], str]:
    """A local server with ``events`` built and some more fresh; returns (API environment, public key)."""
    from pipelines.dbt_env import dbt_env
    from warehouse.client import get_client
    from warehouse.local_server.process import ServerProcess
    from warehouse.migrations import migrate

    server = ServerProcess(data_dir=folder / "clickhouse").start()
    atexit_stop(server)
    env = {"FEELBACK_CLICKHOUSE_URL": server.url, "FEELBACK_HOME": str(folder / "home"),
           "FEELBACK_DATABASE_URL": f"sqlite:///{folder / 'control.db'}"}
    os.environ.update(env)
    from feelback.settings import get_settings

    get_settings.cache_clear()
    key = register_project(env["FEELBACK_DATABASE_URL"], PROJECT, synthetic.CONTENT_SETS)
    client = get_client()
    migrate(client)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    began = time.monotonic()
    insert_events(client, 0, events, now - dt.timedelta(days=90), dt.timedelta(days=90) - dt.timedelta(minutes=30), events // 3)
    print(f"inserted {events:,} events over 90 days in {time.monotonic() - began:.1f} s")

    import pipelines.definitions  # noqa: F401
    from pipelines.defs.dlt.control_plane import control_plane_pipeline, control_plane_source
    from pipelines.defs.sentiment.scoring import ensure_table

    client.command("CREATE DATABASE IF NOT EXISTS raw_app")
    settings = get_settings()
    control_plane_pipeline(settings).run(control_plane_source(settings.control_db_url))
    ensure_table(client)  # messages stay unscored: VADER's cost is not this bench's subject
    began = time.monotonic()
    command = [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(REPO / "dbt_project"),
               "--profiles-dir", str(REPO / "dbt_project"), "--target-path", str(folder / "target"),
               "--log-path", str(folder / "logs"), "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
               "--vars", json.dumps({"min_day": str((now - dt.timedelta(days=91)).date()), "max_day": str(now.date())})]  # fmt: skip
    done = subprocess.run(command, env={**os.environ, **dbt_env(settings.clickhouse)}, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-3000:]}")
    print(f"dbt build in {time.monotonic() - began:.1f} s")
    # events after the build: every read merges a live delta (creates, edits and revokes of built signals)
    fresh = max(1000, events // 100)
    insert_events(client, events, fresh, now - dt.timedelta(seconds=30), dt.timedelta(seconds=25), events // 3)
    client.close()
    return env, key


def atexit_stop(server) -> None:
    import atexit

    atexit.register(lambda: server.process and server.process.poll() is None and server.stop())


def popular_contents() -> list[str]:
    return [f"page-{n}" for n in range(CONTENTS)]


def print_report(result: dict) -> None:
    parts = [("stats", result), ("/healthz", result.get("baseline")), ("trivial responder (generator floor)", result.get("floor"))]
    for name, part in parts:
        if part is None:
            continue
        opened, closed = part["open_loop"], part["closed_loop"]
        print(f"{name}: open loop {opened['offered_rps']:.0f} req/s offered ({opened['schedule']}), {opened['requests']:,} "
              f"requests, statuses {opened['statuses']}")  # fmt: skip
        print(f"    p50 {opened['p50_ms']:.2f} ms   p90 {opened['p90_ms']:.2f} ms   p99 {opened['p99_ms']:.2f} ms   "
              f"max {opened['max_ms']:.1f} ms   (from the actual send: p50 {opened['from_send_p50_ms']:.2f} ms, "
              f"p99 {opened['from_send_p99_ms']:.2f} ms; generator send lag p50 {opened['send_lag_p50_ms']:.2f} ms, "
              f"p99 {opened['send_lag_p99_ms']:.2f} ms)")  # fmt: skip
        print(f"    closed loop {closed['connections']} connections ({closed['client']}): {closed['max_rps']:,.0f} req/s, "
              f"p50 {closed['p50_ms']:.1f} ms, p99 {closed['p99_ms']:.1f} ms, errors {closed['errors']}")  # fmt: skip
        if opened["send_lag_p99_ms"] > STARVED_LAG_MS:
            print(f"    WARNING: the generator itself sent late (send lag p99 {opened['send_lag_p99_ms']:.1f} ms): the machine was "
                  "short of CPU, so these latencies measure the machine as much as the API")  # fmt: skip
    if "load_average_before" in result:
        print(f"load average (1, 5, 15 min) before {result['load_average_before']}, after {result['load_average_after']} "
              f"on {os.cpu_count()} cores; CPU pressure before {result['cpu_pressure_before']}, "
              f"after {result['cpu_pressure_after']}")  # fmt: skip
    print("targets: p50 <= 5 ms, p99 <= 25 ms at 500 req/s; >= 2,000 req/s at 64 connections")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="history size when building a world")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the API")
    parser.add_argument("--fixed", action="store_true", help="fixed intervals instead of Poisson arrivals")
    parser.add_argument("--no-floor", action="store_true", help="skip measuring the generators on a trivial responder")
    parser.add_argument("--base-url", help="load this running API instead of building a world")
    parser.add_argument("--key", help="public key for --base-url")
    parser.add_argument("--target", action="append", help="request path for --base-url (repeat; most popular first)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the API and the server on the way out
    options = dict(rate=args.rate, seconds=args.seconds, connections=args.connections, poisson=not args.fixed,
                   client_processes=args.client_processes, floor=not args.no_floor)  # fmt: skip

    if args.base_url:
        if not (args.key and args.target):
            parser.error("--base-url needs --key and at least one --target")
        print_report(measure_stats_api(args.base_url, args.key, args.target, **options))
        return
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as folder:
        env, key = build_world(Path(folder), args.events)
        with serve_api(env, workers=args.workers) as url:
            targets = widget_targets(list(synthetic.CONTENT_SETS), popular_contents())
            print(f"API {url}, {len(set(targets)):,} distinct targets read with skewed popularity")
            print_report(measure_stats_api(url, key, targets, **options))


if __name__ == "__main__":
    main()
