"""The generators' floor: a trivial HTTP responder in its own process (the open loop's latency floor and
the closed loop's ceiling on this machine)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterator

import httpx

from bench.stats_load.processes import in_own_process, run_coroutine


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


def serve_trivial() -> None:
    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(_Trivial, "127.0.0.1", int(sys.argv[1]))
        await server.serve_forever()

    run_coroutine(serve())


@contextlib.contextmanager
def trivial_server() -> Iterator[str]:
    """A trivial HTTP responder in its own process; yields its URL."""
    from warehouse.local_server.process import free_port

    port = free_port()
    process = in_own_process(__name__, "serve_trivial", [str(port)])
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
