"""One query of a native protocol session: its settings, then its result relayed as the engine's Native
blocks, one Data packet per block, or its INSERT data taken from the client (``native_insert``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from warehouse.local_server.engine import QueryStats
from warehouse.local_server.errors import NOT_IMPLEMENTED, ClickHouseError
from warehouse.local_server.native_blocks import BlockShape, UnsupportedType, block_rows, header_block, split_blocks
from warehouse.local_server.native_columns import result_columns
from warehouse.local_server.native_insert import insert_from_client
from warehouse.local_server.native_packets import (
    END_OF_STREAM,
    ClientPacket,
    QueryPacket,
    exception_packet,
    profile_info_packet,
    progress_packet,
    unexpected_packet,
)
from warehouse.local_server.native_wire import FrameCompressor
from warehouse.local_server.sql_scan import scan

if TYPE_CHECKING:
    from warehouse.local_server.native_session import NativeSession

BAD_ARGUMENTS = 36
UNKNOWN_SETTING = 115
_NOT_STREAMABLE = "Streaming query is not supported"  # chDB streams only SELECT-like statements
_UNKNOWN_SETTING_NAME = re.compile(r"Unknown setting '([^']+)'")


class _QueryCancelled(Exception):
    pass


def run_query(session: NativeSession, query: QueryPacket) -> None:
    """Answer ``query``: its result or its exception, then the end of its stream."""
    try:
        _receive_external_tables(session, query)  # first: the client sends them whatever happens next
        if query.compression:
            session.compressor = _output_compressor(query.settings)
        _apply_settings(session, query)
        _execute(session, query)
        session.send(END_OF_STREAM)
    except ClickHouseError as error:
        session.send(exception_packet(error))
    except _QueryCancelled:
        session.send(END_OF_STREAM)


def _execute(session: NativeSession, query: QueryPacket) -> None:
    text = query.text.encode()
    statement = scan(text)
    insert = statement.insert_data
    if insert is not None and not text[insert.data_start :].strip(b" \t\r\n;"):
        if insert_from_client(session, query, insert.head):
            raise _QueryCancelled
    elif statement.output_format is not None:
        raise ClickHouseError.raised(
            NOT_IMPLEMENTED,
            f"FORMAT {statement.output_format} in a query over the native protocol is not supported by this "
            "server (native clients format results themselves): drop the clause or use the HTTP interface",
        )
    else:
        try:
            _relay_result(session, query.text)
        finally:
            if statement.keyword == "USE":
                session.conn.forget_database()


def _apply_settings(session: NativeSession, query: QueryPacket) -> None:
    """Apply the query's settings; unknown ones not marked important are ignored, as ClickHouse does."""
    settings = dict(query.settings)
    while True:
        try:
            session.conn.apply_settings(settings, session.profile)
            return
        except ClickHouseError as error:
            unknown = _UNKNOWN_SETTING_NAME.search(error.message) if error.code == UNKNOWN_SETTING else None
            if unknown is None or unknown.group(1) not in settings or unknown.group(1) in query.important:
                raise
            del settings[unknown.group(1)]


def _receive_external_tables(session: NativeSession, query: QueryPacket) -> None:
    """Read the Data packets that follow a query up to the empty block; external tables are refused."""
    refused = None
    while True:
        packet = session.reader.read_varint()
        if packet == ClientPacket.CANCEL:
            raise _QueryCancelled
        if packet != ClientPacket.DATA:
            raise unexpected_packet(packet, "Data")
        table, block = session.read_data_packet(query.compression)
        if block is None:
            break
        refused = refused or table
    if refused is not None:
        raise ClickHouseError.raised(
            NOT_IMPLEMENTED, f"External tables (here '{refused}') are not supported by this server"
        )


def _relay_result(session: NativeSession, sql: str) -> None:
    conn, revision = session.conn, session.revision
    stats = QueryStats()
    chunks = conn.stream(sql, "Native", stats=stats)
    try:
        try:
            first = next(chunks, None)
        except ClickHouseError as error:
            if error.code != BAD_ARGUMENTS or _NOT_STREAMABLE not in error.message:
                raise
            _send_result_blocks(session, conn.query(sql, "Native", stats=stats))
            session.send(progress_packet(stats, revision))
            return
        shapes = _walk_chunk(first) if first is not None else []
        if shapes is None:
            # A column type the walker cannot skip: only the engine can name the columns, and
            # not while this stream is open. Nothing was sent yet, so ask, then run it again.
            chunks.close()
            columns = result_columns(conn, sql)
            stats = QueryStats()
            chunks = conn.stream(sql, "Native", stats=stats)
            blocks = chunks
        elif shapes:
            columns = shapes[0].columns
            blocks = _first_then_rest(first, shapes, chunks)
        else:  # the engine's Native output of an empty result is empty, header included
            columns = result_columns(conn, sql)
            blocks = iter(())
        if columns:
            session.send_data(header_block(columns))
        rows = count = size = 0
        for block in blocks:
            if count and session.client_cancelled():
                raise _QueryCancelled
            rows, count, size = rows + block_rows(block), count + 1, size + len(block)
            session.send_data(block)
        session.send(profile_info_packet(rows, count, size))
        session.send(progress_packet(stats, revision))
    finally:
        chunks.close()


def _send_result_blocks(session: NativeSession, output: bytes) -> None:
    """Relay a non-streamed result, which concatenates Native blocks, one Data packet per block."""
    try:
        shapes = split_blocks(output)
    except UnsupportedType as unsupported:
        raise ClickHouseError.raised(
            NOT_IMPLEMENTED, f"Type {unsupported} in this statement's result is not supported by this server"
        ) from None
    if shapes:
        session.send_data(header_block(shapes[0].columns))
    for shape in shapes:
        session.send_data(output[shape.start : shape.end])
    session.send(profile_info_packet(sum(s.rows for s in shapes), len(shapes), len(output)))


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
