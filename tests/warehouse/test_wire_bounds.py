"""Lengths a client declares on the local server's wire are bounded before anything is buffered.

Raw sockets against the real local server (the session's child process): each probe declares a
length past ClickHouse's own limit and must get ClickHouse's error at once, the connection closed,
and the server's resident memory must not follow what the client sends.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from tests.fixtures.wire import trickle
from warehouse.local_server import native_session
from warehouse.local_server.engine import Engine
from warehouse.local_server.native_server import NativeServer
from warehouse.local_server.native_wire import ByteReader, string, varint
from warehouse.local_server.process import memory_of

GiB = 1 << 30
REVISION = 54453
BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"
FLOOD = 32 << 20  # bytes each flooding connection tries to send
CONNECTIONS = 4
RSS_SLACK = 24 << 20  # what the server may grow by while 4 connections send 128 MiB


def read_exception(sock: socket.socket) -> tuple[int, str]:
    """The server's next packet, which must be an Exception: (code, message)."""
    reader = ByteReader(lambda: sock.recv(65536))
    packet = reader.read_varint()
    assert packet == 2, f"expected an Exception packet, got packet {packet}"
    code = reader.read_i32()
    reader.read_string()  # name
    return code, reader.read_string()


def assert_closed(sock: socket.socket) -> None:
    try:
        assert sock.recv(1) == b""
    except ConnectionResetError:
        pass


def hello(password: str, client_name: bytes = b"probe") -> bytes:
    return (
        varint(0) + string(client_name) + varint(1) + varint(0) + varint(REVISION)
        + string("") + string("default") + string(password)
    )  # fmt: skip


def authenticated(server) -> socket.socket:
    """A native connection past the handshake (the server's Hello read)."""
    sock = socket.create_connection((server.host, server.native_port), timeout=10)
    sock.sendall(hello(server.password))
    reader = ByteReader(lambda: sock.recv(1))  # byte by byte: leave nothing after the Hello unread
    assert reader.read_varint() == 0
    reader.read_string(), reader.read_varint(), reader.read_varint(), reader.read_varint()
    reader.read_string(), reader.read_string(), reader.read_varint()  # time zone, display name, patch
    return sock


def query_packet(text_field: bytes, compression: int = 0) -> bytes:
    # query id, client info (NO_QUERY), no settings, no interserver secret, stage Complete
    return varint(1) + string("") + b"\x00" + string("") + string("") + varint(2) + varint(compression) + text_field


def flood(address: tuple[str, int], head: bytes, connections: list[socket.socket]) -> None:
    """Open a connection, send ``head`` then up to FLOOD bytes; keep it open in ``connections``."""
    sock = socket.create_connection(address, timeout=10)
    connections.append(sock)
    piece = b"x" * (1 << 20)
    try:
        sock.sendall(head)
        for _ in range(FLOOD // len(piece)):
            sock.sendall(piece)
    except OSError:  # the server closed the connection: what a bounded server does
        pass


def assert_memory_bounded(pid: int, address: tuple[str, int], head: bytes) -> None:
    before = memory_of(pid)
    connections: list[socket.socket] = []
    threads = [threading.Thread(target=flood, args=(address, head, connections)) for _ in range(CONNECTIONS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        time.sleep(0.3)
        grown = memory_of(pid) - before
    finally:
        for sock in connections:
            sock.close()
    assert grown < RSS_SLACK, f"the server grew by {grown >> 20} MiB while clients sent {CONNECTIONS * FLOOD >> 20} MiB"


# --- the native port, before authentication ------------------------------------------------------


def test_a_hello_naming_a_gigabyte_is_refused_at_once(clickhouse_server):
    with socket.create_connection((clickhouse_server.host, clickhouse_server.native_port), timeout=5) as sock:
        sock.sendall(varint(0) + varint(GiB))  # Hello, then the client name's declared length
        code, message = read_exception(sock)
        assert code == 131 and "TOO_LARGE_STRING_SIZE" in message and "65536" in message
        assert_closed(sock)


def test_every_hello_string_is_bounded(clickhouse_server):
    too_long = b"p" * (64 << 10) + b"!"
    with socket.create_connection((clickhouse_server.host, clickhouse_server.native_port), timeout=5) as sock:
        sock.sendall(hello(too_long.decode()))
        assert read_exception(sock)[0] == 131
    with socket.create_connection((clickhouse_server.host, clickhouse_server.native_port), timeout=5) as sock:
        sock.sendall(hello("wrong", client_name=b"n" * 1000))  # long but within bounds: authentication decides
        assert read_exception(sock)[0] == 516


def test_unauthenticated_floods_do_not_grow_the_server(clickhouse_server):
    address = (clickhouse_server.host, clickhouse_server.native_port)
    assert_memory_bounded(clickhouse_server.process.pid, address, varint(0) + varint(GiB))


def test_a_client_that_trickles_its_hello_is_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(native_session, "HANDSHAKE_TIMEOUT", 0.5)
    engine = Engine(tmp_path / "data")
    server = NativeServer(engine, "127.0.0.1", 0, password="pw")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            began = time.monotonic()
            trickle(sock, hello("pw")[:8], every=0.2, until=0.6)  # each read alone would be in time
            code, message = read_exception(sock)
            assert code == 159 and "Handshake timeout" in message
            assert time.monotonic() - began < 10  # the handshake's 0.5 s, with room for a busy machine
    finally:
        server.shutdown()
        engine.close()


# --- the native port, after authentication -------------------------------------------------------


def test_a_query_text_past_the_string_limit_is_refused(clickhouse_server):
    with authenticated(clickhouse_server) as sock:
        sock.sendall(query_packet(varint(GiB + 1)))
        code, message = read_exception(sock)
        assert code == 131 and str(GiB) in message
        assert_closed(sock)


def test_a_compressed_frame_past_the_size_limit_is_refused(clickhouse_server):
    with authenticated(clickhouse_server) as sock:
        frame_head = bytes(16) + struct.pack("<BII", 0x82, (2 * GiB) & 0xFFFFFFFF, 10)
        sock.sendall(query_packet(string("SELECT 1"), compression=1) + varint(2) + string("") + frame_head)
        code, message = read_exception(sock)
        assert code == 39 and "Too large size_compressed_without_checksum" in message
        assert_closed(sock)


def test_an_lz4_frame_claiming_more_than_it_can_hold_is_refused(clickhouse_server):
    with authenticated(clickhouse_server) as sock:
        frame_head = bytes(16) + struct.pack("<BII", 0x82, 9 + 16, GiB)
        sock.sendall(query_packet(string("SELECT 1"), compression=1) + varint(2) + string("") + frame_head)
        assert read_exception(sock)[0] == 271
        assert_closed(sock)


def test_a_block_with_suspiciously_many_columns_or_rows_is_refused(clickhouse_server):
    for counts, word in ((varint(2_000_000) + varint(1), "columns"), (varint(1) + varint(10**13), "rows")):
        with authenticated(clickhouse_server) as sock:
            sock.sendall(query_packet(string("SELECT 1")) + varint(2) + string("") + BLOCK_INFO + counts)
            code, message = read_exception(sock)
            assert code == 117 and f"Suspiciously many {word}" in message
            assert_closed(sock)


# --- the HTTP interface ----------------------------------------------------------------------------


def http_status(sock: socket.socket) -> tuple[int, bytes]:
    head = b""
    while b"\r\n\r\n" not in head:
        piece = sock.recv(65536)
        if not piece:
            break
        head += piece
    return int(head.split(b" ", 2)[1]), head


def send_in_background(sock: socket.socket, data: bytes) -> None:
    """Send ``data`` and stop sending, far short of the declared length, while the test reads the answer
    (an authenticated request's body is drained after an error: its end tells the server to stop)."""

    def send() -> None:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threading.Thread(target=send, daemon=True).start()


def request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x"] + [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


MULTIPART_WRONG_PASSWORD = request_head(
    "/",
    {
        "Content-Type": "multipart/form-data; boundary=b",
        "Content-Length": str(GiB),
        "X-ClickHouse-User": "default",
        "X-ClickHouse-Key": "wrong",
    },
)


def test_a_multipart_body_is_not_read_before_authentication(clickhouse_server):
    with socket.create_connection((clickhouse_server.host, clickhouse_server.http_port), timeout=5) as sock:
        sock.sendall(MULTIPART_WRONG_PASSWORD + b"x" * 4096)
        status, head = http_status(sock)
        assert status == 403 and b"X-ClickHouse-Exception-Code: 516" in head


def test_unauthenticated_http_floods_do_not_grow_the_server(clickhouse_server):
    address = (clickhouse_server.host, clickhouse_server.http_port)
    assert_memory_bounded(clickhouse_server.process.pid, address, MULTIPART_WRONG_PASSWORD)


def test_a_statement_body_is_read_up_to_max_query_size(clickhouse_server):
    headers = {"Content-Length": str(GiB), "X-ClickHouse-User": "default", "X-ClickHouse-Key": clickhouse_server.password}
    with socket.create_connection((clickhouse_server.host, clickhouse_server.http_port), timeout=5) as sock:
        # The body is read in pieces of 2 MiB: send more than one, far less than the declared length.
        send_in_background(sock, request_head("/", headers) + b"SELECT 1 " + b" " * (3 << 20))
        status, head = http_status(sock)
        assert status == 400 and b"X-ClickHouse-Exception-Code: 62" in head
        assert b"Max query size exceeded" in head + sock.recv(65536)


def test_repeated_header_lines_count(clickhouse_server):
    with socket.create_connection((clickhouse_server.host, clickhouse_server.http_port), timeout=5) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\n" + b"X-Same: 1\r\n" * 200 + b"\r\n")
        assert http_status(sock)[0] == 431


@pytest.mark.parametrize("length", ["abc", "-5", "1e9"])
def test_a_malformed_content_length_is_a_400(clickhouse_server, length):
    with socket.create_connection((clickhouse_server.host, clickhouse_server.http_port), timeout=5) as sock:
        sock.sendall(request_head("/", {"Content-Length": length}))
        assert http_status(sock)[0] == 400


def test_a_compressed_request_block_past_the_size_limit_is_refused(clickhouse_server):
    headers = {
        "Content-Length": str(GiB),
        "X-ClickHouse-User": "default",
        "X-ClickHouse-Key": clickhouse_server.password,
    }
    block_head = bytes(16) + struct.pack("<BII", 0x82, (2 * GiB) & 0xFFFFFFFF, 10)
    with socket.create_connection((clickhouse_server.host, clickhouse_server.http_port), timeout=5) as sock:
        send_in_background(sock, request_head("/?decompress=1", headers) + block_head + bytes(3 << 20))
        status, head = http_status(sock)
        assert status == 500 and b"X-ClickHouse-Exception-Code: 39" in head


def test_a_compressed_body_is_decompressed_in_bounded_pieces(tmp_path):
    """A gzip body of 1 MiB that expands to 256 MiB: the server's peak memory must not follow it
    (a server process of its own, so that its peak is this request's)."""
    import zlib

    from warehouse.local_server.process import ServerProcess

    packer = zlib.compressobj(1, wbits=31)
    bomb = packer.compress(b"SELECT 1 ") + b"".join(packer.compress(b" " * (1 << 20)) for _ in range(256)) + packer.flush()
    server = ServerProcess(data_dir=tmp_path / "clickhouse").start()
    try:
        before = memory_of(server.process.pid, "VmHWM")
        headers = {
            "Content-Length": str(len(bomb)), "Content-Encoding": "gzip",
            "X-ClickHouse-User": "default", "X-ClickHouse-Key": server.password,
        }  # fmt: skip
        with socket.create_connection((server.host, server.http_port), timeout=30) as sock:
            sock.sendall(request_head("/", headers) + bomb)
            status, head = http_status(sock)
        grown = memory_of(server.process.pid, "VmHWM") - before
    finally:
        server.stop()
    assert status == 400 and b"X-ClickHouse-Exception-Code: 62" in head
    assert grown < 64 << 20, f"the server's peak grew by {grown >> 20} MiB for a 256 MiB bomb"


def test_connections_past_the_cap_are_closed_at_once(tmp_path, monkeypatch):
    from warehouse.local_server.connection_cap import ConnectionCap
    from warehouse.local_server.http_interface import HttpInterface

    monkeypatch.setattr(ConnectionCap, "max_connections", 2)
    engine = Engine(tmp_path / "data")
    native = NativeServer(engine, "127.0.0.1", 0, password="pw")
    http = HttpInterface(engine, "127.0.0.1", 0, password="pw")
    for target in (native.serve_forever, http.serve_forever):
        threading.Thread(target=target, daemon=True).start()
    try:
        for port in (native.port, http.port):
            held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
            with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
                assert_closed(third)
            held.pop().close()
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as again:
                again.settimeout(0.5)
                with pytest.raises(TimeoutError):  # served: the server waits for it to speak
                    again.recv(1)
            for sock in held:
                sock.close()
            time.sleep(0.2)
    finally:
        http.shutdown()
        native.shutdown()
        engine.close()


def test_an_http_client_that_trickles_its_headers_is_dropped(tmp_path, monkeypatch):
    from warehouse.local_server import http_interface

    monkeypatch.setattr(http_interface, "KEEP_ALIVE_TIMEOUT", 1.0)
    engine = Engine(tmp_path / "data")
    http = http_interface.HttpInterface(engine, "127.0.0.1", 0, password="pw")
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", http.port), timeout=5) as sock:
            began = time.monotonic()
            trickle(sock, b"GET /ping HTTP/1.1\r\nX-Slow: " + b"a" * 100, every=0.2)
            assert_closed(sock)
            # cut near the 1 s keep-alive timeout (room for a busy machine); uncut, the trickle takes 26 s
            assert time.monotonic() - began < 10
        with socket.create_connection(("127.0.0.1", http.port), timeout=5) as sock:  # a prompt one is served
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        http.shutdown()
        engine.close()


def test_a_client_awaiting_100_continue_is_refused_before_it_sends_its_body(clickhouse_server):
    address = (clickhouse_server.host, clickhouse_server.http_port)
    head = {"Content-Length": str(GiB), "Expect": "100-continue", "X-ClickHouse-User": "default"}
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(request_head("/", {**head, "X-ClickHouse-Key": "wrong"}))
        status, reply = http_status(sock)
        assert status == 403 and b"100 Continue" not in reply
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(request_head("/", {**head, "X-ClickHouse-Key": clickhouse_server.password, "Content-Length": "8"}))
        assert http_status(sock)[1].startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"SELECT 7")
        status, reply = http_status(sock)
        body = reply.split(b"\r\n\r\n", 1)[1] or sock.recv(100)
        assert status == 200 and body == b"7\n"


def test_the_http_debug_log_holds_no_address_and_no_password(tmp_path, caplog):
    from warehouse.local_server.http_interface import HttpInterface

    engine = Engine(tmp_path / "data")
    http = HttpInterface(engine, "127.0.0.1", 0, password="s3cret")
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        with caplog.at_level("DEBUG", logger="warehouse.local_server.http_interface"):
            with socket.create_connection(("127.0.0.1", http.port), timeout=5) as sock:  # an error is logged
                sock.sendall(b"GET /?user=default&password=s3cret HTTP/1.1\r\n" + b"X-Same: 1\r\n" * 200 + b"\r\n")
                assert http_status(sock)[0] == 431
            time.sleep(0.2)
    finally:
        http.shutdown()
        engine.close()
    logged = caplog.text
    assert "431" in logged and "s3cret" not in logged and "127.0.0.1" not in logged
