"""ClickHouse's native TCP protocol, server side, in front of the chDB engine.

A protocol front with no SQL of its own: every statement goes to the engine as the client wrote
it, results travel as the engine's own Native blocks, and errors carry the engine's codes and
messages. The only statements of the front's making are ``DESCRIBE``s that ask the engine for
column headers its Native output does not carry (``native_columns``).

One thread and one engine session per TCP connection (``native_session``), so ``SET``, ``USE`` and
temporary tables last for the connection, as in ClickHouse. The server negotiates protocol revision
54453 (see ``native_packets``), at which the engine's Native output is relayed block by block unchanged
(``native_query``; INSERT data from the client: ``native_insert``).
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time

from warehouse.local_server.connection_cap import ConnectionCap
from warehouse.local_server.engine import Engine
from warehouse.local_server.native_session import NativeSession
from warehouse.local_server.users import Users


class NativeServer:
    """Listens on ``host:port`` (0 picks a free port) and serves each TCP connection in its own thread."""

    def __init__(self, engine: Engine, host: str, port: int, password: str = "", users: Users | None = None):
        self.engine = engine
        self.users = users or Users.only_default(password)
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._guard = threading.Lock()
        self._serving = False
        self._tcp = _TcpServer((host, port), _Handler)
        self._tcp.front = self
        self.host, self.port = self._tcp.server_address[:2]

    def serve_forever(self) -> None:
        self._serving = True
        self._tcp.serve_forever(poll_interval=0.1)

    def shutdown(self, timeout: float = 1.0) -> None:
        """Stop accepting, close every client connection, and wait (bounded) for their threads."""
        deadline = time.monotonic() + timeout
        if self._serving:
            self._tcp.shutdown()
        self._tcp.server_close()
        with self._guard:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _serve(self, sock: socket.socket) -> None:
        with self._guard:
            self._sockets.add(sock)
            self._threads.add(threading.current_thread())
        try:
            NativeSession(self.engine, self.users, self.port, sock).run()
        finally:
            with self._guard:
                self._sockets.discard(sock)
                self._threads.discard(threading.current_thread())


class _TcpServer(ConnectionCap, socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    front: NativeServer


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.front._serve(self.request)
