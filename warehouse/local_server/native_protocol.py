"""ClickHouse's native TCP protocol, server side, in front of the chDB engine.

A protocol front with no SQL of its own: every statement goes to the engine as the client wrote
it, results travel as the engine's own Native blocks, and errors carry the engine's codes and
messages. The only statements of the front's making are ``DESCRIBE``s that ask the engine for
column headers its Native output does not carry (empty results, INSERT targets).

One thread and one engine session per TCP connection, so ``SET``, ``USE`` and temporary tables
last for the connection, as in ClickHouse. The server negotiates protocol revision 54453 (see
``native_packets``), at which the engine's Native output is relayed block by block unchanged.
"""

from __future__ import annotations

import json
import re
import select
import socket
import socketserver
import threading
import time
import uuid

import structlog

from warehouse.local_server.connection_cap import ConnectionCap
from warehouse.local_server.engine import Engine, EngineConnection, QueryStats
from warehouse.local_server.errors import (
    NOT_IMPLEMENTED,
    TIMEOUT_EXCEEDED,
    UNKNOWN_PACKET_FROM_CLIENT,
    ClickHouseError,
)
from warehouse.local_server.native_blocks import (
    BlockShape,
    UnsupportedType,
    block_rows,
    header_block,
    split_blocks,
    walk_block,
)
from warehouse.local_server.native_packets import (
    END_OF_STREAM,
    PONG,
    REVISION_WITH_BLOCK_INFO,
    REVISION_WITH_TEMPORARY_TABLES,
    SERVER_REVISION,
    ClientPacket,
    ProtocolError,
    QueryPacket,
    data_packet,
    exception_packet,
    hello_packet,
    profile_info_packet,
    progress_packet,
    read_hello,
    read_query,
    skip_block_info,
    unexpected_packet,
)
from warehouse.local_server.native_wire import ByteReader, FrameCompressor, read_frame
from warehouse.local_server.sql_scan import scan
from warehouse.local_server.users import Users

log = structlog.get_logger(__name__)

BAD_ARGUMENTS = 36
UNKNOWN_SETTING = 115
_NOT_STREAMABLE = "Streaming query is not supported"  # chDB streams only SELECT-like statements
_UNKNOWN_SETTING_NAME = re.compile(r"Unknown setting '([^']+)'")
_OUTPUT_LIMIT = 1 << 18  # flush buffered packets beyond this many bytes
_RECEIVE_SIZE = 1 << 18
HANDSHAKE_TIMEOUT = 10.0  # seconds from connect to authenticated, ClickHouse's handshake_timeout_milliseconds
_IDENTIFIER = r"(?:`(?:[^`\\]|\\.)*`|\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][A-Za-z0-9_]*)"
_INSERT_HEAD = re.compile(
    rf"^(?:\s+|--[^\n]*\n|/\*.*?\*/)*INSERT\s+INTO\s+(?:TABLE\s+)?(?P<table>{_IDENTIFIER}(?:\s*\.\s*{_IDENTIFIER})?)"
    rf"\s*(?:\((?P<columns>.*)\))?\s*(?:SETTINGS\b.*)?$",
    re.I | re.S,
)
_NOT_INSERTABLE = {"MATERIALIZED", "ALIAS", "EPHEMERAL"}


class _QueryCancelled(Exception):
    pass


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
            _Session(self, sock).run()
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


class _Session:
    """One client connection: the handshake, then queries until the client leaves."""

    def __init__(self, server: NativeServer, sock: socket.socket):
        self.server = server
        self.engine = server.engine
        self.sock = sock
        self.reader = ByteReader(self._receive)
        self._handshake_deadline: float | None = time.monotonic() + HANDSHAKE_TIMEOUT
        self.revision = 0
        self.profile: dict[str, str] = {}  # the signed-in user's settings (warehouse.local_server.users)
        self.conn: EngineConnection | None = None
        self._out = bytearray()
        self._compressed_input: ByteReader | None = None
        self._compressor: FrameCompressor | None = None
        self._closing = False

    def _receive(self) -> bytes:
        if self._handshake_deadline is not None:
            # Until the client is authenticated it gets a bounded time, however slowly it trickles bytes.
            remaining = self._handshake_deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
        return self.sock.recv(_RECEIVE_SIZE)

    def run(self) -> None:
        try:
            try:
                database = self._receive_hello()
            except TimeoutError:
                self.sock.settimeout(1.0)
                raise ClickHouseError.raised(
                    TIMEOUT_EXCEEDED, f"Handshake timeout exceeded ({HANDSHAKE_TIMEOUT * 1000:.0f} ms)"
                ) from None
            self._handshake_deadline = None
            self.sock.settimeout(None)
            with self.engine.connection(session_id=f"native-{uuid.uuid4().hex}", session_timeout=0) as conn:
                self.conn = conn
                if database:
                    conn.use_database(database)  # as in ClickHouse, an unknown one is refused instead of Hello
                engine = self.engine
                self._out += hello_packet(self.revision, engine.version, engine.timezone, socket.gethostname())
                self._flush()
                self._serve_packets()
        except ProtocolError as broken:
            self._try_send_exception(broken.error)
        except ClickHouseError as error:
            self._try_send_exception(error)
        except (EOFError, OSError):
            pass
        except Exception:
            log.exception("native protocol session failed")
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def _receive_hello(self) -> str:
        """Read and authenticate the client's Hello; returns the database it asks for."""
        packet = self.reader.read_varint()
        if packet in (ord("G"), ord("P"), ord("H")):  # an HTTP request on the native port
            self.sock.sendall(
                f"HTTP/1.0 400 Bad Request\r\n\r\nPort {self.server.port} is for clickhouse-client program\n"
                "You must use the port of the HTTP interface for HTTP.\n".encode()
            )
            raise EOFError
        if packet != ClientPacket.HELLO:
            raise unexpected_packet(packet, "Hello")
        hello = read_hello(self.reader)
        self.revision = min(hello.revision, SERVER_REVISION)
        user = hello.user or "default"
        try:
            self.profile = self.server.users.authenticate(user, hello.password)
        except ClickHouseError as refused:
            raise ProtocolError(refused) from None
        return hello.database

    def _serve_packets(self) -> None:
        while not self._closing:
            self.reader.discard_consumed()
            packet = self.reader.read_varint()
            if packet == ClientPacket.QUERY:
                self._handle_query(read_query(self.reader, self.revision))
            elif packet == ClientPacket.PING:
                self._out += PONG
            elif packet == ClientPacket.CANCEL:
                pass  # the query it meant has already finished
            else:
                raise ProtocolError(
                    ClickHouseError.raised(UNKNOWN_PACKET_FROM_CLIENT, f"Unexpected packet {packet} from client")
                )
            self._flush()

    # -- queries -----------------------------------------------------------------------------

    def _handle_query(self, query: QueryPacket) -> None:
        self._compressor = None
        if query.compression and self._compressed_input is None:
            self._compressed_input = ByteReader(lambda: read_frame(self.reader))
        try:
            self._receive_external_tables(query)  # first: the client sends them whatever happens next
            if query.compression:
                self._compressor = _output_compressor(query.settings)
            self._apply_settings(query)
            self._execute(query)
            self._out += END_OF_STREAM
        except ClickHouseError as error:
            self._out += exception_packet(error)
        except _QueryCancelled:
            self._out += END_OF_STREAM
        if "readonly" in query.settings:
            # The engine cannot lift readonly from a connection again, and ClickHouse applies a
            # query's settings to that query only: end the session (clients reconnect on their own).
            self._closing = True

    def _execute(self, query: QueryPacket) -> None:
        text = query.text.encode()
        statement = scan(text)
        insert = statement.insert_data
        if insert is not None and not text[insert.data_start :].strip(b" \t\r\n;"):
            self._insert_from_client(query, insert.head)
        elif statement.output_format is not None:
            raise ClickHouseError.raised(
                NOT_IMPLEMENTED,
                f"FORMAT {statement.output_format} in a query over the native protocol is not supported by this "
                "server (native clients format results themselves): drop the clause or use the HTTP interface",
            )
        else:
            try:
                self._run(query.text)
            finally:
                if statement.keyword == "USE":
                    self.conn.forget_database()

    def _apply_settings(self, query: QueryPacket) -> None:
        """Apply the query's settings; unknown ones not marked important are ignored, as ClickHouse does."""
        settings = dict(query.settings)
        while True:
            try:
                self.conn.apply_settings(settings, self.profile)
                return
            except ClickHouseError as error:
                unknown = _UNKNOWN_SETTING_NAME.search(error.message) if error.code == UNKNOWN_SETTING else None
                if unknown is None or unknown.group(1) not in settings or unknown.group(1) in query.important:
                    raise
                del settings[unknown.group(1)]

    def _receive_external_tables(self, query: QueryPacket) -> None:
        """Read the Data packets that follow a query up to the empty block; external tables are refused."""
        refused = None
        while True:
            packet = self.reader.read_varint()
            if packet == ClientPacket.CANCEL:
                raise _QueryCancelled
            if packet != ClientPacket.DATA:
                raise unexpected_packet(packet, "Data")
            table, block = self._read_data_packet(query.compression)
            if block is None:
                break
            refused = refused or table
        if refused is not None:
            raise ClickHouseError.raised(
                NOT_IMPLEMENTED, f"External tables (here '{refused}') are not supported by this server"
            )

    def _read_data_packet(self, compressed: bool) -> tuple[str, bytes | None]:
        """The table name and Native block (without block info) of a Data packet; None for the empty block."""
        table = self.reader.read_string() if self.revision >= REVISION_WITH_TEMPORARY_TABLES else ""
        source = self._compressed_input if compressed else self.reader
        try:
            if self.revision >= REVISION_WITH_BLOCK_INFO:
                skip_block_info(source)
            shape = walk_block(source)
        except ClickHouseError as error:  # a corrupt or undecodable compressed frame
            raise ProtocolError(error) from None
        except UnsupportedType as unsupported:
            # Without the block's end the rest of the stream is unreadable.
            raise ProtocolError(
                ClickHouseError.raised(
                    NOT_IMPLEMENTED, f"Type {unsupported} in client data is not supported by this server"
                )
            ) from None
        block = bytes(source.buf[shape.start : shape.end]) if shape.columns else None
        source.discard_consumed()
        return table, block

    def _run(self, sql: str) -> None:
        stats = QueryStats()
        chunks = self.conn.stream(sql, "Native", stats=stats)
        try:
            try:
                first = next(chunks, None)
            except ClickHouseError as error:
                if error.code != BAD_ARGUMENTS or _NOT_STREAMABLE not in error.message:
                    raise
                self._send_result_blocks(self.conn.query(sql, "Native", stats=stats))
                self._out += progress_packet(stats, self.revision)
                return
            shapes = _walk_chunk(first) if first is not None else []
            if shapes is None:
                # A column type the walker cannot skip: only the engine can name the columns, and
                # not while this stream is open. Nothing was sent yet, so ask, then run it again.
                chunks.close()
                columns = self._describe_result(sql)
                stats = QueryStats()
                chunks = self.conn.stream(sql, "Native", stats=stats)
                blocks = chunks
            elif shapes:
                columns = shapes[0].columns
                blocks = _first_then_rest(first, shapes, chunks)
            else:  # the engine's Native output of an empty result is empty, header included
                columns = self._describe_result(sql)
                blocks = iter(())
            if columns:
                self._send_data(header_block(columns))
            rows = count = size = 0
            for block in blocks:
                if count and self._client_cancelled():
                    raise _QueryCancelled
                rows, count, size = rows + block_rows(block), count + 1, size + len(block)
                self._send_data(block)
            self._out += profile_info_packet(rows, count, size)
            self._out += progress_packet(stats, self.revision)
        finally:
            chunks.close()

    def _send_result_blocks(self, output: bytes) -> None:
        """Relay a non-streamed result, which concatenates Native blocks, one Data packet per block."""
        try:
            shapes = split_blocks(output)
        except UnsupportedType as unsupported:
            raise ClickHouseError.raised(
                NOT_IMPLEMENTED, f"Type {unsupported} in this statement's result is not supported by this server"
            ) from None
        if shapes:
            self._send_data(header_block(shapes[0].columns))
        for shape in shapes:
            self._send_data(output[shape.start : shape.end])
        self._out += profile_info_packet(sum(s.rows for s in shapes), len(shapes), len(output))

    def _describe_result(self, sql: str) -> list[tuple[str, str]]:
        """The result columns of a query, asked of the engine; [] if it cannot say."""
        body = sql.strip().rstrip(";").strip()
        try:
            return _describe(self.conn, f"DESCRIBE (\n{body}\n)")
        except ClickHouseError:
            return []

    def _client_cancelled(self) -> bool:
        """Between result blocks: whether the client sent Cancel (anything else breaks the protocol)."""
        if not self.reader.buffered() and not select.select([self.sock], [], [], 0)[0]:
            return False
        packet = self.reader.read_varint()
        if packet == ClientPacket.CANCEL:
            return True
        raise unexpected_packet(packet, "Cancel or nothing during a query")

    # -- INSERT with data from the client ------------------------------------------------------

    def _insert_from_client(self, query: QueryPacket, head: str) -> None:
        self._send_data(header_block(self._insert_columns(head)))
        self._flush()
        incoming = _IncomingBlocks(self, query.compression)
        stats = QueryStats()
        try:
            self.conn.insert(head, "Native", incoming, stats=stats)
        except ClickHouseError:
            if incoming.failure is not None:  # reading the client's stream failed, not the engine
                raise incoming.failure from None
            incoming.drain()  # keep the stream in step: the client sends all its blocks before reading
            raise
        if incoming.cancelled:
            raise _QueryCancelled
        self._out += progress_packet(stats, self.revision)

    def _insert_columns(self, head: str) -> list[tuple[str, str]]:
        """Names and types the client must send: the listed columns, or all insertable ones."""
        match = _INSERT_HEAD.match(head)
        if match is None:
            raise ClickHouseError.raised(
                NOT_IMPLEMENTED, "This form of INSERT with data from the client is not supported by this server"
            )
        table, listed = match.group("table"), match.group("columns")
        if listed is not None:
            return _describe(self.conn, f"DESCRIBE (SELECT {listed} FROM {table})")
        rows = _describe(self.conn, f"DESCRIBE TABLE {table}", with_default_kind=True)
        return [(name, type_name) for name, type_name, kind in rows if kind not in _NOT_INSERTABLE]

    # -- output ---------------------------------------------------------------------------------

    def _send_data(self, block: bytes) -> None:
        self._out += data_packet(block, self.revision, self._compressor)
        if len(self._out) > _OUTPUT_LIMIT:
            self._flush()

    def _try_send_exception(self, error: ClickHouseError) -> None:
        try:
            self._out += exception_packet(error)
            self._flush()
        except OSError:
            pass

    def _flush(self) -> None:
        if self._out:
            self.sock.sendall(self._out)
            self._out = bytearray()


class _IncomingBlocks:
    """The client's Data blocks of an INSERT, up to its empty block, as Native bytes for the engine."""

    def __init__(self, session: _Session, compressed: bool):
        self.session = session
        self.compressed = compressed
        self.finished = False
        self.cancelled = False
        self.failure: BaseException | None = None

    def __iter__(self):
        while True:
            try:
                block = self._next()
            except BaseException as exc:  # the engine's insert would report it as an engine error
                self.failure = exc
                raise
            if block is None:
                return
            yield block

    def _next(self) -> bytes | None:
        if self.finished:
            return None
        packet = self.session.reader.read_varint()
        if packet == ClientPacket.CANCEL:
            self.finished = self.cancelled = True
            return None
        if packet != ClientPacket.DATA:
            raise unexpected_packet(packet, "Data")
        _table, block = self.session._read_data_packet(self.compressed)
        self.finished = block is None
        return block

    def drain(self) -> None:
        while self._next() is not None:
            pass


def _output_compressor(settings: dict[str, str]) -> FrameCompressor:
    """Compression of this query's Data packets, chosen by the settings as ClickHouse's server does."""
    level = settings.get("network_zstd_compression_level", "1")
    if not level.lstrip("-").isdigit():
        raise ClickHouseError(
            27, f"Cannot parse input: expected an integer, got '{level}'. (CANNOT_PARSE_INPUT_ASSERTION_FAILED)"
        )
    return FrameCompressor(settings.get("network_compression_method", "lz4"), int(level))


def _walk_chunk(chunk: bytes) -> list[BlockShape] | None:
    """The blocks of a streamed chunk; None when a column's type cannot be walked."""
    try:
        return split_blocks(chunk)
    except UnsupportedType:
        return None
    except (EOFError, ValueError, IndexError):
        raise ClickHouseError.raised(
            NOT_IMPLEMENTED, "The engine's output for this query is not in Native format"
        ) from None


def _first_then_rest(first: bytes, shapes: list[BlockShape], chunks):
    # chDB streams one block per chunk (tests pin it); splitting keeps the one-block-per-packet rule anyway.
    for shape in shapes:
        yield first if len(shapes) == 1 else first[shape.start : shape.end]
    yield from chunks


def _describe(conn: EngineConnection, statement: str, with_default_kind: bool = False) -> list[tuple]:
    rows = [json.loads(line) for line in conn.query(statement, "JSONCompactEachRow").splitlines() if line]
    return [(row[0], row[1], row[2]) if with_default_kind else (row[0], row[1]) for row in rows]
