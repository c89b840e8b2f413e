"""Every route's request body is bounded before authentication, in a real API process."""

from __future__ import annotations

import signal
import socket
import time

import pytest

from tests.api.ingest_support import ApiProcess, ingest_settings
from tests.fixtures.wire import trickle
from warehouse.local_server.process import memory_of

GiB = 1 << 30


@pytest.fixture(scope="module")
def api(clickhouse_server, tmp_path_factory):
    settings = ingest_settings(tmp_path_factory.mktemp("body-limits") / "home")
    process = ApiProcess(settings, clickhouse_server.url).start()
    yield process
    process.kill(signal.SIGTERM)


def answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    return data


@pytest.mark.parametrize("path", ["/v1/projects", "/v1/auth/sign-in", "/v1/projects/p/content-sets", "/v1/stats/votes/batch"])
def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(api, path):
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {GiB}\r\n\r\n"
        sock.sendall(head.encode() + b'{"name": "' + b"x" * 4096)
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 413") and b'"body_too_large"' in reply


def test_a_chunked_body_is_cut_at_the_limit(api):
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as sock:
        head = b"POST /v1/projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"x" * (256 << 10)
        sock.sendall(head + b'%x\r\n{"name": "\r\n' % 10)
        try:
            for _ in range(8):  # 2 MiB, over the 1 MiB limit
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 413") and b'"body_too_large"' in reply


def test_a_request_head_is_bounded(api):
    before = memory_of(api.process.pid)
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        line = b"X-Pad: " + b"a" * 8000 + b"\r\n"
        try:
            for _ in range(4000):  # 32 MiB of headers
                sock.sendall(line)
        except OSError:  # the server answered and closed
            pass
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 431")
    assert memory_of(api.process.pid) - before < 8 << 20


def test_a_body_that_arrives_with_its_head_is_not_mistaken_for_one(api):
    body = b'{"content_set": "votes", "content_key": "/x", "value": "' + b"y" * (900 << 10) + b'"}'
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as sock:
        head = f"POST /v1/signals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 401")  # read whole and refused for its missing key


def test_a_request_head_that_trickles_is_dropped(api):
    with socket.create_connection(("127.0.0.1", api.port), timeout=45) as sock:
        began = time.monotonic()
        trickle(sock, b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 60, every=0.5)  # 45 s if never cut
        reply = answer(sock)
        waited = time.monotonic() - began
    # cut after the promised 10 s (a behaviour, not a speed target), with room for a busy machine
    assert reply.startswith(b"HTTP/1.1 408") and 9 < waited < 30
