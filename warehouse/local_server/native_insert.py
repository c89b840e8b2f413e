"""An INSERT whose data the native client sends: the columns it must send, then its Data blocks streamed
to the engine as Native bytes, up to the client's empty block."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warehouse.local_server.engine import QueryStats
from warehouse.local_server.errors import ClickHouseError
from warehouse.local_server.native_blocks import header_block
from warehouse.local_server.native_columns import insert_columns
from warehouse.local_server.native_packets import ClientPacket, QueryPacket, progress_packet, unexpected_packet

if TYPE_CHECKING:
    from warehouse.local_server.native_session import NativeSession


def insert_from_client(session: NativeSession, query: QueryPacket, head: str) -> bool:
    """Run the INSERT ``head`` on the client's data; returns whether the client cancelled it instead."""
    session.send_data(header_block(insert_columns(session.conn, head)))
    session.flush()
    incoming = _IncomingBlocks(session, query.compression)
    stats = QueryStats()
    try:
        session.conn.insert(head, "Native", incoming, stats=stats)
    except ClickHouseError:
        if incoming.failure is not None:  # reading the client's stream failed, not the engine
            raise incoming.failure from None
        incoming.drain()  # keep the stream in step: the client sends all its blocks before reading
        raise
    if incoming.cancelled:
        return True
    session.send(progress_packet(stats, session.revision))
    return False


class _IncomingBlocks:
    """The client's Data blocks of an INSERT, up to its empty block, as Native bytes for the engine."""

    def __init__(self, session: NativeSession, compressed: bool):
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
        _table, block = self.session.read_data_packet(self.compressed)
        self.finished = block is None
        return block

    def drain(self) -> None:
        while self._next() is not None:
            pass
