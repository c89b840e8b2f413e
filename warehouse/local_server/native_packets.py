"""The packets of ClickHouse's native TCP protocol, read and written at a negotiated revision.

Each field appears only from the protocol revision that introduced it (ClickHouse's
``Core/ProtocolDefines.h``); ``revision`` is always min(client's, server's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warehouse.local_server.engine import QueryStats
from warehouse.local_server.errors import INCORRECT_DATA, NOT_IMPLEMENTED, UNKNOWN_PACKET_FROM_CLIENT, ClickHouseError
from warehouse.local_server.native_wire import DEFAULT_BLOCK_INFO, ByteReader, FrameCompressor, i32, string, u8, varint

# The last revision before blocks carry per-column custom-serialization flags (54454): the
# engine's Native format output is then exactly a block as the protocol sends it.
SERVER_REVISION = 54453

REVISION_WITH_TEMPORARY_TABLES = 50264
REVISION_WITH_TOTAL_ROWS_IN_PROGRESS = 51554
REVISION_WITH_BLOCK_INFO = 51903
REVISION_WITH_CLIENT_INFO = 54032
REVISION_WITH_SERVER_TIMEZONE = 54058
REVISION_WITH_QUOTA_KEY_IN_CLIENT_INFO = 54060
REVISION_WITH_SERVER_DISPLAY_NAME = 54372
REVISION_WITH_VERSION_PATCH = 54401
REVISION_WITH_CLIENT_WRITE_INFO = 54420
REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS = 54429
REVISION_WITH_INTERSERVER_SECRET = 54441
REVISION_WITH_OPENTELEMETRY = 54442
REVISION_WITH_X_FORWARDED_FOR_IN_CLIENT_INFO = 54443
REVISION_WITH_REFERER_IN_CLIENT_INFO = 54447
REVISION_WITH_DISTRIBUTED_DEPTH = 54448
REVISION_WITH_INITIAL_QUERY_START_TIME = 54449
REVISION_WITH_PARALLEL_REPLICAS = 54453
# Not negotiated by this server, so never read: the quota-key addendum after Hello (54458) and
# query parameters after the query text (54459).

# Bounds on what a client declares, as ClickHouse sets them: the strings of Hello (read before
# authentication) and other short metadata (client info, setting names) at 64 KiB, the interserver
# secret's hash at 32 bytes; query text and setting values keep the generic 1 GiB (native_wire).
METADATA_STRING_SIZE = 64 << 10
SECRET_HASH_SIZE = 32
MAX_SETTINGS_IN_A_QUERY = 1 << 14  # ClickHouse has about 1,500 settings; a name repeats at most once
UNEXPECTED_PACKET_FROM_CLIENT = 102
SETTING_IS_IMPORTANT = 0x1
INTERFACE_TCP = 1
INTERFACE_HTTP = 2


class ClientPacket:
    HELLO, QUERY, DATA, CANCEL, PING, TABLES_STATUS_REQUEST = range(6)


class ServerPacket:
    HELLO, DATA, EXCEPTION, PROGRESS, PONG, END_OF_STREAM, PROFILE_INFO = range(7)


class ProtocolError(Exception):
    """The client's stream cannot be followed any further: reply with ``error``, then close."""

    def __init__(self, error: ClickHouseError):
        super().__init__(error.message)
        self.error = error


def unexpected_packet(packet: int, expected: str) -> ProtocolError:
    return ProtocolError(
        ClickHouseError.raised(
            UNEXPECTED_PACKET_FROM_CLIENT, f"Unexpected packet {packet} from client (expected {expected})"
        )
    )


@dataclass
class ClientHello:
    revision: int
    database: str
    user: str
    password: str


@dataclass
class QueryPacket:
    query_id: str
    text: str
    compression: bool
    settings: dict[str, str] = field(default_factory=dict)
    important: set[str] = field(default_factory=set)  # settings whose being unknown is an error


def read_hello(reader: ByteReader) -> ClientHello:
    """The client's Hello (the packet type already read); read before authentication, so every string is short."""
    reader.read_string(METADATA_STRING_SIZE)  # client name
    reader.read_varint()  # version major
    reader.read_varint()  # version minor
    revision = reader.read_varint()
    database = reader.read_string(METADATA_STRING_SIZE)
    user = reader.read_string(METADATA_STRING_SIZE)
    password = reader.read_string(METADATA_STRING_SIZE)
    return ClientHello(revision, database, user, password)


def read_query(reader: ByteReader, revision: int) -> QueryPacket:
    """A Query packet (the packet type already read)."""
    query_id = reader.read_string()
    if revision >= REVISION_WITH_CLIENT_INFO:
        _skip_client_info(reader, revision)
    settings, important = _read_settings(reader, revision)
    if revision >= REVISION_WITH_INTERSERVER_SECRET:
        reader.read_string(SECRET_HASH_SIZE)
    reader.read_varint()  # processing stage: this server always runs queries to completion
    compression = bool(reader.read_varint())
    text = reader.read_string()
    return QueryPacket(query_id, text, compression, settings, important)


def _skip_client_info(r: ByteReader, revision: int) -> None:
    if r.read_u8() == 0:  # query kind NO_QUERY: nothing follows
        return
    size = METADATA_STRING_SIZE
    r.skip(r.read_length(size)), r.skip(r.read_length(size)), r.skip(r.read_length(size))  # initial user, query id, address
    if revision >= REVISION_WITH_INITIAL_QUERY_START_TIME:
        r.skip(8)
    interface = r.read_u8()
    if interface == INTERFACE_TCP:
        r.skip(r.read_length(size)), r.skip(r.read_length(size)), r.skip(r.read_length(size))  # os user, hostname, client
        r.read_varint(), r.read_varint(), r.read_varint()  # client version major, minor, revision
    elif interface == INTERFACE_HTTP:
        r.read_u8(), r.skip(r.read_length(size))  # method, user agent
        if revision >= REVISION_WITH_X_FORWARDED_FOR_IN_CLIENT_INFO:
            r.skip(r.read_length(size))
        if revision >= REVISION_WITH_REFERER_IN_CLIENT_INFO:
            r.skip(r.read_length(size))
    if revision >= REVISION_WITH_QUOTA_KEY_IN_CLIENT_INFO:
        r.skip(r.read_length(size))
    if revision >= REVISION_WITH_DISTRIBUTED_DEPTH:
        r.read_varint()
    if interface == INTERFACE_TCP and revision >= REVISION_WITH_VERSION_PATCH:
        r.read_varint()
    if revision >= REVISION_WITH_OPENTELEMETRY and r.read_u8():
        r.skip(16 + 8)  # trace id, span id
        r.skip(r.read_length(METADATA_STRING_SIZE))  # trace state
        r.skip(1)  # trace flags
    if revision >= REVISION_WITH_PARALLEL_REPLICAS:
        r.read_varint(), r.read_varint(), r.read_varint()


def _read_settings(reader: ByteReader, revision: int) -> tuple[dict[str, str], set[str]]:
    settings: dict[str, str] = {}
    important: set[str] = set()
    count = 0
    while name := reader.read_string(METADATA_STRING_SIZE):
        count += 1
        if count > MAX_SETTINGS_IN_A_QUERY:
            raise ClickHouseError.raised(
                INCORRECT_DATA, f"Too many settings in a query: more than {MAX_SETTINGS_IN_A_QUERY}"
            )
        if revision < REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS:
            # Before 54429 each value is encoded by its setting's type, which only the engine knows.
            raise ProtocolError(
                ClickHouseError.raised(
                    NOT_IMPLEMENTED,
                    f"Settings from clients of protocol revision {revision} (< "
                    f"{REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS}) are not supported by this server",
                )
            )
        flags = reader.read_varint()
        settings[name] = reader.read_string()
        if flags & SETTING_IS_IMPORTANT:
            important.add(name)
    return settings, important


def skip_block_info(source: ByteReader) -> None:
    while field_number := source.read_varint():
        if field_number == 1:
            source.skip(1)  # is_overflows
        elif field_number == 2:
            source.skip(4)  # bucket_num
        else:
            raise ProtocolError(
                ClickHouseError.raised(UNKNOWN_PACKET_FROM_CLIENT, f"Unknown BlockInfo field number {field_number}")
            )


def hello_packet(revision: int, version: str, timezone: str, display_name: str) -> bytes:
    numbers = [int(part) for part in version.split(".") if part.isdigit()] + [0, 0, 0]
    major, minor, patch = numbers[:3]
    packet = varint(ServerPacket.HELLO) + string("ClickHouse") + varint(major) + varint(minor)
    packet += varint(SERVER_REVISION)
    if revision >= REVISION_WITH_SERVER_TIMEZONE:
        packet += string(timezone)
    if revision >= REVISION_WITH_SERVER_DISPLAY_NAME:
        packet += string(display_name)
    if revision >= REVISION_WITH_VERSION_PATCH:
        packet += varint(patch)
    return packet


def data_packet(block: bytes, revision: int, compressor: FrameCompressor | None) -> bytes:
    """A Data packet holding one Native block; the table name stays outside the compressed frames."""
    payload = DEFAULT_BLOCK_INFO + block if revision >= REVISION_WITH_BLOCK_INFO else block
    head = varint(ServerPacket.DATA) + (string("") if revision >= REVISION_WITH_TEMPORARY_TABLES else b"")
    return head + (compressor.frames(payload) if compressor else payload)


def progress_packet(stats: QueryStats, revision: int) -> bytes:
    packet = varint(ServerPacket.PROGRESS) + varint(stats.read_rows) + varint(stats.read_bytes)
    if revision >= REVISION_WITH_TOTAL_ROWS_IN_PROGRESS:
        packet += varint(0)  # total rows to read: the engine does not say in advance
    if revision >= REVISION_WITH_CLIENT_WRITE_INFO:
        packet += varint(stats.written_rows) + varint(stats.written_bytes)
    return packet


def profile_info_packet(rows: int, blocks: int, size: int) -> bytes:
    # rows, blocks, bytes, applied_limit, rows_before_limit, calculated_rows_before_limit
    return varint(ServerPacket.PROFILE_INFO) + varint(rows) + varint(blocks) + varint(size) + u8(0) + varint(0) + u8(0)


def exception_packet(error: ClickHouseError) -> bytes:
    # ClickHouse sends Poco's displayText(): the exception's name, then its message.
    return (
        varint(ServerPacket.EXCEPTION)
        + i32(error.code)
        + string("DB::Exception")
        + string(f"DB::Exception: {error.message}")
        + string("")  # stack trace
        + u8(0)  # no nested exception
    )


PONG = varint(ServerPacket.PONG)
END_OF_STREAM = varint(ServerPacket.END_OF_STREAM)
