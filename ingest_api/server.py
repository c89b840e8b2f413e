"""How the API is served: uvicorn, and with several workers one listening socket per worker.

``uvicorn --workers N`` lets all workers accept from one shared socket. Each worker's event loop
accepts every connection waiting when it wakes, so a burst of new keep-alive connections (an SDK
fleet after a deploy, a load balancer's pool, a load test) can all land on one worker and stay
there while the others idle: on this project's 2-core bench, one worker took 97-100 % of a round's
work in some rounds, which halved that round's throughput.

Here every worker gets a socket of its own, all bound to the same address with ``SO_REUSEPORT``, and
the kernel spreads new connections over them by a hash of the client's address and port (the way
nginx's ``listen ... reuse_port`` does). The parent keeps every socket open and listening, so a
worker that dies leaves its connections queued for the replacement uvicorn's supervisor starts on
that same socket, never refused.

    python -m ingest_api.server ingest_api.app:create_app --factory --host 127.0.0.1 --port 8000 --workers 2

Client addresses: ``X-Forwarded-For`` is believed only from ``--forwarded-allow-ips`` (the trusted
proxies, ``FEELBACK_TRUSTED_PROXIES``), none by default, where uvicorn alone trusts loopback: behind a
local proxy every client could otherwise name its own address. Logs never hold a raw IP
(``feelback.log.NoRawIps`` on every handler, uvicorn's access log included).
"""

from __future__ import annotations

import argparse
import copy
import logging
import socket
import sys

import uvicorn
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # no httptools: uvicorn's h11 bounds a request head itself (16 KiB)
    HttpToolsProtocol = None

from feelback.log import NO_RAW_IPS_FILTER, configure_logging

BACKLOG = 2048  # uvicorn's default
MAX_REQUEST_HEAD = 64 << 10  # bytes of request line and headers; h11's own bound is 16 KiB, nginx's 32 KiB
HEAD_TIMEOUT = 10.0  # seconds from a request's first bytes to the end of its headers
_HEAD_TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 53\r\n\r\nthe request line and headers took over 10 s to arrive"
)
_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 62\r\n\r\nthe request line and headers are over the limit of 65536 bytes"
)


if HttpToolsProtocol is not None:

    class BoundedHeadProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, which keeps a request's URL and headers as they come with no
        bound in size or time (60 MiB of headers grew a worker by 60 MiB before any route or key
        check; a byte a minute kept a connection for ever): past ``MAX_REQUEST_HEAD`` bytes, or
        ``HEAD_TIMEOUT`` seconds, without the end of the headers, the request is a 431 or a 408 and the
        connection closes. Bytes are counted per read, not per header, and the timer is armed only
        for a head that one read did not complete: nothing per ordinary request."""

        _awaiting_head = True
        _head_bytes = 0
        _head_timer = None

        def data_received(self, data: bytes) -> None:
            if self._awaiting_head:
                if self._head_bytes > MAX_REQUEST_HEAD:
                    self._refuse(_HEAD_TOO_LARGE)
                    return
                self._head_bytes += len(data)
            super().data_received(data)
            if self._awaiting_head and self._head_bytes and self._head_timer is None and not self.transport.is_closing():
                self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._refuse, _HEAD_TOO_SLOW)

        def on_headers_complete(self) -> None:
            self._awaiting_head = False
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._awaiting_head, self._head_bytes = True, 0

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().connection_lost(exc)

        def _refuse(self, answer: bytes) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.write(answer)
                self.transport.close()


class _Config(uvicorn.Config):
    """uvicorn's configuration, whose logging set-up (run in the supervisor and in every worker it
    spawns) also configures structlog: the level of FEELBACK_LOG_LEVEL, and no raw IP."""

    def configure_logging(self) -> None:
        super().configure_logging()
        level = self.log_level if isinstance(self.log_level, str) else logging.getLevelName(self.log_level or logging.WARNING)
        configure_logging(str(level))


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets listening on (host, port) with SO_REUSEPORT; port 0 picks one free port for all."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
            sock.listen(BACKLOG)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class WorkerPerSocket(Multiprocess):
    """uvicorn's worker supervisor (health checks, restarts, SIGHUP, shutdown), but the worker in
    slot ``i`` always listens on ``sockets[i]`` alone, replacements included."""

    failed_to_start = False

    def _spawn(self, slot: int) -> Process:
        process = Process(self.config, [self.sockets[slot]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._spawn(slot) for slot in range(self.processes_num)]

    def restart_all(self) -> None:
        """SIGHUP: replace each worker, its replacement serving before the old one retires."""
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._spawn(slot)
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def keep_subprocess_alive(self) -> None:
        for slot, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung or dead
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # the app cannot start: restarting would loop
                self.failed_to_start = True
                self.should_exit.set()
                return
            self.processes[slot] = self._spawn(slot)


def log_config(log_level: str) -> dict:
    """uvicorn's logging configuration, every handler behind ``NoRawIps``, and the root logger (the
    libraries' records) on uvicorn's handler at the same level."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"no_raw_ips": NO_RAW_IPS_FILTER}
    for handler in config["handlers"].values():
        handler["filters"] = ["no_raw_ips"]
    config["root"] = {"handlers": ["default"], "level": log_level.upper()}
    return config


def serve(
    app: str, *, host: str, port: int, workers: int = 1, factory: bool = False, log_level: str = "warning",
    forwarded_allow_ips: str = "",
) -> int:  # fmt: skip
    """Serve ``app`` (an import string) as ``uvicorn`` would, with a socket per worker when ``workers``
    > 1; returns the exit code (uvicorn's STARTUP_FAILURE when the app could not start). Proxy
    headers are read only from ``forwarded_allow_ips`` (comma-separated IPs or CIDRs; none when empty)."""
    config = _Config(
        app, host=host, port=port, workers=workers, factory=factory, log_level=log_level,
        log_config=log_config(log_level), proxy_headers=bool(forwarded_allow_ips),
        http=BoundedHeadProtocol if HttpToolsProtocol is not None else "h11",
        forwarded_allow_ips=forwarded_allow_ips,
    )  # fmt: skip
    if config.workers == 1:  # the process serves itself, as ``uvicorn`` does with one worker
        server = uvicorn.Server(config)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        return 0 if server.started else STARTUP_FAILURE
    sockets = listening_sockets(host, port, config.workers)
    supervisor = WorkerPerSocket(config, sockets)
    try:
        supervisor.run()
    finally:
        for sock in sockets:
            sock.close()
    return STARTUP_FAILURE if supervisor.failed_to_start else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest_api.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("app", help="the ASGI app as module:attribute, e.g. ingest_api.app:create_app")
    parser.add_argument("--factory", action="store_true", help="the attribute is a function that returns the app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument(
        "--forwarded-allow-ips", default="",
        help="proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed; default none",
    )  # fmt: skip
    parser.add_argument("--app-dir", default="", help="a folder to import the app from (put first on sys.path)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be 1 or more (got {args.workers})")
    if args.app_dir:
        sys.path.insert(0, args.app_dir)
    return serve(
        args.app, host=args.host, port=args.port, workers=args.workers, factory=args.factory,
        log_level=args.log_level, forwarded_allow_ips=args.forwarded_allow_ips,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
