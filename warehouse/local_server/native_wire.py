"""Byte-level encoding of ClickHouse's native TCP protocol: varints, strings, fixed-width integers,
block info and the compressed-frame framing. No knowledge of packets' meaning lives here.
"""

from __future__ import annotations

import struct
from typing import Callable

import lz4.block
import zstandard
from clickhouse_cityhash.cityhash import CityHash128

from warehouse.local_server.errors import (
    CANNOT_DECOMPRESS,
    CORRUPTED_DATA,
    TOO_LARGE_SIZE_COMPRESSED,
    TOO_LARGE_STRING_SIZE,
    ClickHouseError,
)

CHECKSUM_DOESNT_MATCH = 40
UNKNOWN_COMPRESSION_METHOD = 89
METHOD_NONE = 0x02
METHOD_LZ4 = 0x82
METHOD_ZSTD = 0x90
FRAME_HEADER_SIZE = 9  # method byte + compressed size + uncompressed size
MAX_FRAME_INPUT = 1 << 20  # ClickHouse's max_compress_block_size
# ClickHouse's own bounds on lengths a peer declares (DEFAULT_MAX_STRING_SIZE, DBMS_MAX_COMPRESSED_SIZE).
MAX_STRING_SIZE = 1 << 30
MAX_FRAME_SIZE = 1 << 30
# An LZ4 block cannot expand more than 255:1 (a match length grows by 255 per byte); a frame that
# claims more is corrupt, and its claimed size is not allocated.
_LZ4_MAX_RATIO = 255

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_CHECKSUM = struct.Struct("<QQ")

# Block info as every ClickHouse server sends it: is_overflows = false, bucket_num = -1.
DEFAULT_BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"


def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def string(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return varint(len(data)) + data


def u8(value: int) -> bytes:
    return bytes((value,))


def i32(value: int) -> bytes:
    return _I32.pack(value)


def u64(value: int) -> bytes:
    return _U64.pack(value)


class ByteReader:
    """Reads sequentially from a source of byte pieces (a socket, decompressed frames, one buffer).

    Unread bytes stay in ``buf`` and ``pos`` points at the next one, so callers can walk a
    structure in place and then slice out its raw bytes. ``refill`` returns b"" at end of input.
    """

    def __init__(self, refill: Callable[[], bytes], initial: bytes | bytearray = b""):
        self.buf = bytearray(initial) if not isinstance(initial, bytearray) else initial
        self.pos = 0
        self._refill = refill

    @classmethod
    def over(cls, data: bytes) -> "ByteReader":
        reader = cls(lambda: b"")
        reader.buf = data  # never grown: the refill is empty
        return reader

    def buffered(self) -> int:
        return len(self.buf) - self.pos

    def fill_to(self, end: int) -> None:
        while len(self.buf) < end:
            piece = self._refill()
            if not piece:
                raise EOFError("connection closed by the peer")
            self.buf += piece

    def discard_consumed(self) -> None:
        """Forget bytes already read; only between structures, since it shifts positions."""
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0

    def read(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.buf):
            self.fill_to(end)
        data = bytes(self.buf[self.pos : end])
        self.pos = end
        return data

    def skip(self, size: int) -> None:
        end = self.pos + size
        if end > len(self.buf):
            self.fill_to(end)
        self.pos = end

    def read_u8(self) -> int:
        if self.pos >= len(self.buf):
            self.fill_to(self.pos + 1)
        value = self.buf[self.pos]
        self.pos += 1
        return value

    def read_i32(self) -> int:
        return _I32.unpack(self.read(4))[0]

    def read_u32(self) -> int:
        return _U32.unpack(self.read(4))[0]

    def read_u64(self) -> int:
        return _U64.unpack(self.read(8))[0]

    def read_varint(self) -> int:
        shift = result = 0
        for _ in range(10):
            byte = self.read_u8()
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7
        raise ClickHouseError.raised(CANNOT_DECOMPRESS, "Malformed varint in the client's stream")

    def read_string(self, limit: int = MAX_STRING_SIZE) -> str:
        """A length-prefixed string; a declared length beyond ``limit`` is refused before any byte is read."""
        return self.read(self.read_length(limit)).decode("utf-8", errors="replace")

    def read_length(self, limit: int = MAX_STRING_SIZE) -> int:
        size = self.read_varint()
        if size > limit:
            raise too_large_string(size, limit)
        return size

    def skip_strings(self, count: int) -> None:
        """Skip ``count`` length-prefixed strings (a String column's data) without copying them."""
        buf = self.buf
        pos = self.pos
        for _ in range(count):
            if pos >= len(buf):
                self.fill_to(pos + 1)
            length = buf[pos]
            if length < 0x80:
                pos += 1 + length
            else:
                self.pos = pos
                length = self.read_length()
                pos = self.pos + length
        if pos > len(buf):
            self.fill_to(pos)
        self.pos = pos


def too_large_string(size: int, limit: int) -> ClickHouseError:
    return ClickHouseError.raised(TOO_LARGE_STRING_SIZE, f"Too large string size: {size}, maximum: {limit}")


def _checksum(frame: bytes) -> bytes:
    digest = CityHash128(frame)
    return _CHECKSUM.pack(digest >> 64, digest & 0xFFFFFFFFFFFFFFFF)


def read_frame(source: ByteReader) -> bytes:
    """Read one compressed frame from ``source`` and return its decompressed bytes."""
    checksum = source.read(16)
    header = source.read(FRAME_HEADER_SIZE)
    method = header[0]
    size_with_header, uncompressed_size = struct.unpack("<II", header[1:])
    check_frame_sizes(method, size_with_header, uncompressed_size)
    payload = source.read(size_with_header - FRAME_HEADER_SIZE)
    if _checksum(header + payload) != checksum:
        raise ClickHouseError(
            CHECKSUM_DOESNT_MATCH,
            "Checksum doesn't match: corrupted data. (CHECKSUM_DOESNT_MATCH)",
        )
    try:
        if method == METHOD_LZ4:
            return lz4.block.decompress(payload, uncompressed_size=uncompressed_size)
        if method == METHOD_ZSTD:
            return zstd_block(payload, uncompressed_size)
        if method == METHOD_NONE:
            return payload
    except Exception as exc:
        raise ClickHouseError.raised(CANNOT_DECOMPRESS, f"Cannot decompress block: {exc}") from None
    raise ClickHouseError.raised(CANNOT_DECOMPRESS, f"Unknown compression method: 0x{method:02x}")


def check_frame_sizes(method: int, size_with_header: int, uncompressed_size: int) -> None:
    """Refuse a compressed frame by its header alone, as ClickHouse's CompressedReadBuffer does."""
    if size_with_header > MAX_FRAME_SIZE:
        raise ClickHouseError(
            TOO_LARGE_SIZE_COMPRESSED,
            f"Too large size_compressed_without_checksum: {size_with_header}. Most likely corrupted data. "
            "(TOO_LARGE_SIZE_COMPRESSED)",
        )
    if size_with_header < FRAME_HEADER_SIZE:
        raise ClickHouseError.raised(
            CORRUPTED_DATA,
            f"Can't decompress data: the compressed data size ({size_with_header}, this should include header size) "
            f"is less than the header size ({FRAME_HEADER_SIZE})",
        )
    payload_size = size_with_header - FRAME_HEADER_SIZE
    if uncompressed_size > MAX_FRAME_SIZE or (
        method == METHOD_LZ4 and uncompressed_size > payload_size * _LZ4_MAX_RATIO + FRAME_HEADER_SIZE
    ):
        raise ClickHouseError.raised(
            CANNOT_DECOMPRESS,
            f"Cannot decompress block: {payload_size} compressed bytes cannot hold {uncompressed_size} bytes",
        )


def zstd_block(payload: bytes, uncompressed_size: int) -> bytes:
    """A zstd frame's content, never more than ``uncompressed_size`` bytes whatever the frame claims."""
    data = zstandard.ZstdDecompressor().stream_reader(payload).read(uncompressed_size + 1)
    if len(data) != uncompressed_size:
        raise ValueError(f"the frame holds {len(data)} bytes, its header says {uncompressed_size}")
    return data


class FrameCompressor:
    """Encodes bytes as ClickHouse compressed frames with one method (network_compression_method)."""

    def __init__(self, method: str = "lz4", zstd_level: int = 1):
        method = method.lower()
        if method in ("lz4", "lz4hc"):
            self.method_byte = METHOD_LZ4
        elif method == "zstd":
            self.method_byte = METHOD_ZSTD
            self._zstd = zstandard.ZstdCompressor(level=zstd_level)
        elif method == "none":
            self.method_byte = METHOD_NONE
        else:
            raise ClickHouseError(
                UNKNOWN_COMPRESSION_METHOD, f"Unknown compression method: {method}. (UNKNOWN_COMPRESSION_METHOD)"
            )

    def _compress(self, data: bytes) -> bytes:
        if self.method_byte == METHOD_LZ4:
            return lz4.block.compress(data, store_size=False)
        if self.method_byte == METHOD_ZSTD:
            return self._zstd.compress(data)
        return data

    def frames(self, data: bytes) -> bytes:
        out = bytearray()
        view = memoryview(data)
        for start in range(0, max(len(data), 1), MAX_FRAME_INPUT):
            piece = bytes(view[start : start + MAX_FRAME_INPUT])
            payload = self._compress(piece)
            header = struct.pack("<BII", self.method_byte, len(payload) + FRAME_HEADER_SIZE, len(piece))
            out += _checksum(header + payload) + header + payload
        return bytes(out)

