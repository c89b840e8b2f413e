"""ClickHouse's HTTP interface in front of the engine, for clickhouse-connect, dbt, dlt, curl and friends.

A protocol front only: it adds no SQL semantics. The engine parses and runs every statement; this
module accepts connections, routes requests (health checks, queries) and frames responses the way
ClickHouse does (keep-alive, chunked transfer coding); ``http_query`` reads and answers a query.
"""

from __future__ import annotations

import io
import logging
import re
import socket
import sys
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from warehouse.local_server.connection_cap import ConnectionCap
from warehouse.local_server.engine import Engine
from warehouse.local_server.http_query import QueryRequest
from warehouse.local_server.http_request import (
    UNAUTHENTICATED_DRAIN,
    BadRequest,
    RequestBody,
    RequestOptions,
    read_headers,
)
from warehouse.local_server.http_response import TEXT_PLAIN, ClientGone
from warehouse.local_server.users import Users

log = logging.getLogger(__name__)

_QUERY_STRING = re.compile(r"\?[^\s\"]*")
KEEP_ALIVE_TIMEOUT = 30  # seconds an idle keep-alive connection is kept, as ClickHouse's default
_NOT_FOUND_TEXT = (
    "There is no handle {path}\n\nUse / or /ping for health checks.\nOr /replicas_status for more sophisticated "
    "health checks.\n\nSend queries from your program with POST method or GET /?query=...\n"
)


class HttpInterface:
    """Serves ClickHouse's HTTP interface for ``engine`` on ``host:port`` until ``shutdown``."""

    def __init__(self, engine: Engine, host: str, port: int, password: str = "", users: Users | None = None):
        self.engine = engine
        self.users = users or Users.only_default(password)
        self.display_name = socket.gethostname()
        self._server = _Server((host, port), _Handler, self)
        self.port = self._server.server_address[1]
        self._serving = threading.Event()

    def serve_forever(self) -> None:
        self._serving.set()
        self._server.serve_forever(poll_interval=0.1)

    def shutdown(self) -> None:
        """Stop accepting, drop open connections (their requests end with a closed socket) and free the port."""
        if self._serving.is_set():
            self._server.shutdown()
        self._server.server_close()
        self._server.close_open_connections()

    def authenticate(self, options: RequestOptions) -> dict[str, str]:
        """The signed-in user's profile settings (``users``); a wrong name or password raises."""
        return self.users.authenticate(options.user, options.password)


class _Server(ConnectionCap, ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, handler, front: HttpInterface):
        self.front = front
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        # socketserver prints tracebacks to stderr; a client that hung up is routine, anything else is logged.
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            log.debug("HTTP connection ended: %s", error)
        else:
            log.exception("HTTP connection failed")

    def close_open_connections(self) -> None:
        with self._open_lock:
            open_sockets, self._open = list(self._open), set()
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _HeadDeadline(io.RawIOBase):
    """The socket's reads, bounded in total time while ``deadline`` is set: a client that trickles a
    request line and headers a byte at a time is dropped at the deadline, not kept for days."""

    def __init__(self, sock: socket.socket):
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request line and headers took too long")
            self._sock.settimeout(remaining)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    rbufsize = 1 << 16
    server: _Server
    awaiting_continue = False

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self._raw = _HeadDeadline(self.connection)
        self.rfile = io.BufferedReader(self._raw, self.rbufsize)
        # Headers and body go out in separate writes; without this, Nagle's algorithm and delayed
        # ACKs add tens of milliseconds to every small response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        # Idle between requests and the next request's head: KEEP_ALIVE_TIMEOUT in all; see _dispatch.
        self._raw.deadline = time.monotonic() + KEEP_ALIVE_TIMEOUT
        super().handle_one_request()

    def parse_request(self) -> bool:
        """The request line and headers; a leaner ``BaseHTTPRequestHandler.parse_request``."""
        self.command = None
        self.close_connection = True
        self.request_version = "HTTP/0.9"
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.send_error(400, f"Bad request line {self.requestline!r}")
            return False
        self.command, self.path, self.request_version = words
        try:
            self.headers = read_headers(self.rfile)
        except BadRequest as bad:
            self.send_error(bad.status, str(bad))
            return False
        connection = self.headers.get("Connection", "").lower()
        self.close_connection = "close" in connection or (
            self.request_version == "HTTP/1.0" and "keep-alive" not in connection
        )
        # 100 Continue only once the credentials are checked (continue_body): a client with a wrong
        # password is refused before it sends its body.
        self.awaiting_continue = self.headers.get("Expect", "").lower() == "100-continue"
        return True

    def continue_body(self) -> None:
        if self.awaiting_continue:
            self.awaiting_continue = False
            self._write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's signature
        # No client address (logs never hold one) and no query string (it may carry a password).
        log.debug("%s", _QUERY_STRING.sub("?…", format % args))

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    # --- routing -------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._raw.deadline = None
        self.connection.settimeout(None)
        try:
            self._route()
        except BadRequest as bad:  # the request's framing (Content-Length) cannot be followed
            self.close_connection = True
            self.send_error(bad.status, str(bad))

    def _route(self) -> None:
        front = self.server.front
        url = urlsplit(self.path)
        if url.path in ("/ping", "/replicas_status") or (url.path == "/" and not url.query and self.command != "POST"):
            self.send_complete(200, [("Content-Type", TEXT_PLAIN)], b"Ok.\n")
            return
        # As ClickHouse routes: GET/HEAD queries only on / and /query, POST queries on any path.
        if self.command == "POST" or url.path in ("/", "/query"):
            QueryRequest(self, front, url.query).run()
            return
        body = RequestBody(self.rfile, self.headers)
        # A client awaiting 100 Continue sends no body: nothing to drain, but the connection ends.
        self.close_connection = self.close_connection or self.awaiting_continue or not body.drain(UNAUTHENTICATED_DRAIN)
        self.send_complete(404, [("Content-Type", TEXT_PLAIN)], _NOT_FOUND_TEXT.format(path=url.path).encode())

    # --- writing -------------------------------------------------------------------------------------

    def _head(self, status: int, headers: list[tuple[str, str]], length: int | None) -> bytes:
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Date: {formatdate(usegmt=True)}"]
        lines.append("Connection: Close" if self.close_connection else "Connection: Keep-Alive")
        if not self.close_connection:
            lines.append(f"Keep-Alive: timeout={KEEP_ALIVE_TIMEOUT}")
        lines += [f"{name}: {value}" for name, value in headers]
        lines.append("Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True
            raise ClientGone from None

    def send_complete(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        head = self._head(status, headers, len(body))
        self._write(head if self.command == "HEAD" else head + body)

    def start_chunked(self, status: int, headers: list[tuple[str, str]], first: bytes) -> None:
        self._write(self._head(status, headers, None) + _framed(first))

    def send_chunk(self, data: bytes) -> None:
        if len(data) < 1 << 16:
            self._write(_framed(data))
        elif data:
            self._write(b"%x\r\n" % len(data))
            self._write(data)
            self._write(b"\r\n")

    def end_chunked(self, last: bytes) -> None:
        self._write(_framed(last) + b"0\r\n\r\n")


def _framed(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""
