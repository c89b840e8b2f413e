"""A real warehouse outage for an API process: ClickHouse unreachable, then back (``TcpProxy``), and the
spool backlog that the outage leaves in ``ops.spool_backlog`` (``warehouse_outage``)."""

from __future__ import annotations

import datetime as dt
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.api.ingest_support import BROWSER_UA, ApiProcess, ingest_settings, seed_project
from warehouse.local_server.process import free_port


class TcpProxy:
    """Forwards ``listen_port`` to ``target_port`` on loopback: the warehouse 'coming back'."""

    def __init__(self, listen_port: int, target_port: int):
        self.target_port = target_port
        self.server = socket.create_server(("127.0.0.1", listen_port))
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed.set()
        self.server.close()


@dataclass(frozen=True)
class Outage:
    budget_bytes: int  # the API's spool budget: its snapshots are the rows with this budget
    down_at: dt.datetime
    back_at: dt.datetime
    accepted: int


BACKLOG_ROWS = (
    "SELECT recorded_at, pending_bytes, pending_segments, oldest_pending_seconds FROM ops.spool_backlog "
    "WHERE host = {host:String} AND budget_bytes = {budget:UInt64} ORDER BY recorded_at"
)


def backlog_rows(ch, outage: Outage) -> list[tuple]:
    rows = ch.query(BACKLOG_ROWS, parameters={"host": socket.gethostname(), "budget": outage.budget_bytes}).result_rows
    return [(at if at.tzinfo else at.replace(tzinfo=dt.UTC), *rest) for at, *rest in rows]


def warehouse_outage(clickhouse_server, ch, home: Path, seconds: float = 3.0, every_seconds: float = 0.5) -> Outage:
    """Run an API whose ClickHouse is unreachable for ``seconds`` while signals arrive, then comes back;
    return once its spool is drained and the snapshots of the outage are in ops.spool_backlog."""
    settings = ingest_settings(home)
    project = seed_project(settings)
    down_port = free_port()
    target = clickhouse_server.url.replace(f":{clickhouse_server.http_port}/", f":{down_port}/")
    budget = 50_000_000 + uuid.uuid4().int % 1_000_000
    api = ApiProcess(
        settings, target, FEELBACK_SPOOL_MAX_BYTES=str(budget), FEELBACK_SPOOL_DRAIN_INTERVAL_MS="100",
        FEELBACK_SPOOL_BACKLOG_SECONDS=str(every_seconds),
    ).start()  # fmt: skip
    proxy = None
    try:
        down_at = dt.datetime.now(dt.UTC)
        accepted = 0
        headers = {"X-Feelback-Key": project.public_key, "User-Agent": BROWSER_UA}
        with httpx.Client(base_url=api.url, headers=headers, timeout=10) as client:
            while (dt.datetime.now(dt.UTC) - down_at).total_seconds() < seconds:
                body = {"content_set": "stars", "content_key": "/outage", "value": 4, "idempotency_key": uuid.uuid4().hex}
                response = client.post("/v1/signals", json=body)
                assert response.status_code == 201, response.text  # ingest does not wait for the warehouse
                accepted += 1
                time.sleep(0.02)
        proxy = TcpProxy(down_port, clickhouse_server.http_port)
        back_at = dt.datetime.now(dt.UTC)
        outage = Outage(budget, down_at, back_at, accepted)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = backlog_rows(ch, outage)
            if rows and rows[-1][0] > back_at and rows[-1][1] == 0:
                return outage
            time.sleep(0.2)
        raise AssertionError(f"the spool was not drained and recorded within 60 s: {backlog_rows(ch, outage)[-5:]}")
    finally:
        api.kill(signal.SIGTERM)
        if proxy is not None:
            proxy.close()

