"""One client connection of the native protocol: the handshake, then queries until the client leaves.

The session owns the socket, its buffered output and its engine connection; ``native_query`` runs
each query through the methods under "the wire".
"""

from __future__ import annotations

import select
import socket
import time
import uuid

import structlog

from warehouse.local_server.engine import Engine, EngineConnection
from warehouse.local_server.errors import NOT_IMPLEMENTED, TIMEOUT_EXCEEDED, UNKNOWN_PACKET_FROM_CLIENT, ClickHouseError
from warehouse.local_server.native_blocks import UnsupportedType, walk_block
from warehouse.local_server.native_packets import (
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
    read_hello,
    read_query,
    skip_block_info,
    unexpected_packet,
)
from warehouse.local_server.native_query import run_query
from warehouse.local_server.native_wire import ByteReader, FrameCompressor, read_frame
from warehouse.local_server.users import Users

log = structlog.get_logger(__name__)

_OUTPUT_LIMIT = 1 << 18  # flush buffered packets beyond this many bytes
_RECEIVE_SIZE = 1 << 18
HANDSHAKE_TIMEOUT = 10.0  # seconds from connect to authenticated, ClickHouse's handshake_timeout_milliseconds


class NativeSession:
    """One client connection on ``sock``, served by ``engine`` for the users of ``users``."""

    def __init__(self, engine: Engine, users: Users, port: int, sock: socket.socket):
        self.engine = engine
        self.users = users
        self.port = port
        self.sock = sock
        self.reader = ByteReader(self._receive)
        self._handshake_deadline: float | None = time.monotonic() + HANDSHAKE_TIMEOUT
        self.revision = 0
        self.profile: dict[str, str] = {}  # the signed-in user's settings (warehouse.local_server.users)
        self.conn: EngineConnection | None = None
        self.compressor: FrameCompressor | None = None  # of the current query's Data packets
        self._out = bytearray()
        self._compressed_input: ByteReader | None = None
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
                self.flush()
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
                f"HTTP/1.0 400 Bad Request\r\n\r\nPort {self.port} is for clickhouse-client program\n"
                "You must use the port of the HTTP interface for HTTP.\n".encode()
            )
            raise EOFError
        if packet != ClientPacket.HELLO:
            raise unexpected_packet(packet, "Hello")
        hello = read_hello(self.reader)
        self.revision = min(hello.revision, SERVER_REVISION)
        user = hello.user or "default"
        try:
            self.profile = self.users.authenticate(user, hello.password)
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
            self.flush()

    def _handle_query(self, query: QueryPacket) -> None:
        self.compressor = None
        if query.compression and self._compressed_input is None:
            self._compressed_input = ByteReader(lambda: read_frame(self.reader))
        run_query(self, query)
        if "readonly" in query.settings:
            # The engine cannot lift readonly from a connection again, and ClickHouse applies a
            # query's settings to that query only: end the session (clients reconnect on their own).
            self._closing = True

    # -- the wire ---------------------------------------------------------------------------------

    def send(self, packet: bytes) -> None:
        self._out += packet

    def send_data(self, block: bytes) -> None:
        self._out += data_packet(block, self.revision, self.compressor)
        if len(self._out) > _OUTPUT_LIMIT:
            self.flush()

    def flush(self) -> None:
        if self._out:
            self.sock.sendall(self._out)
            self._out = bytearray()

    def _try_send_exception(self, error: ClickHouseError) -> None:
        try:
            self._out += exception_packet(error)
            self.flush()
        except OSError:
            pass

    def read_data_packet(self, compressed: bool) -> tuple[str, bytes | None]:
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

    def client_cancelled(self) -> bool:
        """Between result blocks: whether the client sent Cancel (anything else breaks the protocol)."""
        if not self.reader.buffered() and not select.select([self.sock], [], [], 0)[0]:
            return False
        packet = self.reader.read_varint()
        if packet == ClientPacket.CANCEL:
            return True
        raise unexpected_packet(packet, "Cancel or nothing during a query")
