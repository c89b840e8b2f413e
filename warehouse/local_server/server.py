"""Run the local ClickHouse server: open the engine, serve HTTP and native TCP, stop cleanly on a signal.

A protocol front for chDB: no SQL of its own (see the package docstring).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import structlog

from warehouse.local_server.engine import Engine
from warehouse.local_server.http_interface import HttpInterface
from warehouse.local_server.native_server import NativeServer
from warehouse.local_server.users import Users

log = structlog.get_logger(__name__)


class LocalServer:
    """The engine of one data directory behind both of ClickHouse's protocols."""

    def __init__(
        self, data_dir: Path, host: str, http_port: int, native_port: int, password: str = "", users: Users | None = None
    ):
        self.engine = Engine(data_dir)
        self.http = HttpInterface(self.engine, host, http_port, password, users)
        self.native = NativeServer(self.engine, host, native_port, password, users)
        self._threads = [
            threading.Thread(target=self.http.serve_forever, name="clickhouse-http", daemon=True),
            threading.Thread(target=self.native.serve_forever, name="clickhouse-native", daemon=True),
        ]
        self._stopped = threading.Event()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.http.shutdown()
        self.native.shutdown()
        for thread in self._threads:
            thread.join(timeout=2)
        self.engine.close()

    def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then close chDB cleanly."""
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.start()
        stop.wait()
        self.stop()
