"""Open loop: requests scheduled at a fixed offered rate whatever the answers do; latencies from the
*scheduled* send time (no coordinated omission), from a lean generator in a process of its own."""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import random
import re
import selectors
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence

import httpx

from bench.stats_load.percentiles import percentile
from bench.stats_load.processes import in_own_process
from bench.stats_load.targets import KEY_HEADER, Popularity

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


def open_loop_process() -> None:
    """The generator's own process: arguments as JSON on stdin, the result as JSON on stdout."""
    args = json.load(sys.stdin)
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        result = loop.run_until_complete(_open_loop(*args))
    finally:
        loop.close()
    json.dump(result, sys.stdout)


def open_loop(base_url: str, api_key: str, targets: Sequence[str], rate: float = 500, seconds: float = 10,
              poisson: bool = True, skew: float = 1.1, warmup: float = 3.0, connections: int = 64) -> dict:  # fmt: skip
    """Latencies at ``rate`` requests/s offered whatever the answers do, from a fresh process."""
    arguments = [base_url, api_key, list(targets), rate, seconds, poisson, skew, warmup, connections]
    process = in_own_process(__name__, "open_loop_process", stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    output, _ = process.communicate(json.dumps(arguments), timeout=warmup + seconds + 120)
    if process.returncode:
        raise RuntimeError(f"the open-loop generator failed (exit {process.returncode})")
    result = json.loads(output)
    result["statuses"] = {int(status): count for status, count in result["statuses"].items()}
    return result
