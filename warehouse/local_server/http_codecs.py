"""HTTP content codings of ClickHouse's HTTP interface, streaming in both directions.

Request bodies: ``Content-Encoding`` gzip, deflate, br, lz4, zstd (clickhouse-connect compresses each
insert block as its own lz4/zstd frame, so concatenated frames are accepted) and ClickHouse's own
compressed blocks (``decompress=1``). Responses: one of the same codings chosen from
``Accept-Encoding`` when ``enable_http_compression=1``, and ClickHouse blocks for ``compress=1``.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from typing import Callable, Iterable, Iterator

import lz4.block
import lz4.frame
import zstandard
from clickhouse_cityhash.cityhash import CityHash128

from warehouse.local_server.errors import CANNOT_DECOMPRESS, UNKNOWN_FORMAT, ClickHouseError
from warehouse.local_server.native_wire import check_frame_sizes, zstd_block

try:
    import brotli
except ImportError:  # optional, as in ClickHouse builds without it
    brotli = None

# Order of preference when a client accepts several: cheapest to produce first (the client is local).
RESPONSE_CODINGS = ("lz4", "zstd", "br", "gzip", "deflate")
MIN_COMPRESSED_SIZE = 1024  # smaller complete bodies go uncompressed: setting up a coder costs more than it saves
_ZSTD_LEVEL = 1
_ZLIB_LEVEL = 3  # ClickHouse's http_zlib_compression_level default


_PIECE = 4 << 20  # most bytes one step of a request body's decompression yields: a bomb is streamed, never held


def _frames(make: Callable[[], object], chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress a sequence of concatenated frames/members with fresh decompressors, in pieces of at
    most ``_PIECE`` bytes however much a chunk expands (zlib, lzma, bz2 and lz4 all take ``max_length``)."""
    decompressor = make()
    for chunk in chunks:
        while chunk:
            out = decompressor.decompress(chunk, _PIECE)
            if out:
                yield out
            while not decompressor.eof and not getattr(decompressor, "needs_input", True):
                out = decompressor.decompress(b"", _PIECE)  # lzma, bz2, lz4 keep unread input inside
                if out:
                    yield out
            if decompressor.eof:  # the next member/frame, if any (zlib's tail then repeats it: ignored)
                chunk = decompressor.unused_data
                decompressor = make()
            else:
                chunk = getattr(decompressor, "unconsumed_tail", b"")  # zlib keeps unread input outside


class _ChunkSource:
    """A file-like ``read`` over an iterator of byte chunks (for zstandard's stream reader)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        if not self._pending:
            self._pending = next(self._chunks, b"")
        size = len(self._pending) if size < 0 else size
        piece, self._pending = self._pending[:size], self._pending[size:]
        return piece


def _zstd_frames(chunks: Iterable[bytes]) -> Iterator[bytes]:
    reader = zstandard.ZstdDecompressor().stream_reader(_ChunkSource(chunks), read_across_frames=True)
    while piece := reader.read(_PIECE):
        yield piece


def _brotli_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    decompressor = brotli.Decompressor()
    for chunk in chunks:
        out = decompressor.process(chunk)
        if out:
            yield out


_REQUEST_DECODERS = {
    "gzip": lambda chunks: _frames(lambda: zlib.decompressobj(wbits=47), chunks),
    "deflate": lambda chunks: _frames(lambda: zlib.decompressobj(wbits=15), chunks),
    "lz4": lambda chunks: _frames(lz4.frame.LZ4FrameDecompressor, chunks),
    "zstd": _zstd_frames,
    "xz": lambda chunks: _frames(lzma.LZMADecompressor, chunks),
    "bz2": lambda chunks: _frames(bz2.BZ2Decompressor, chunks),
}
if brotli is not None:
    _REQUEST_DECODERS["br"] = _brotli_chunks
# ClickHouse also takes the file-suffix spellings; dlt sends "gz" for .jsonl.gz load files.
_ALIASES = {"gz": "gzip", "x-gzip": "gzip", "zst": "zstd", "lzma": "xz", "bzip2": "bz2"}


def decode_request_body(encoding: str, chunks: Iterable[bytes]) -> Iterable[bytes]:
    encoding = encoding.strip().lower()
    # ClickHouse reads "auto" and "none" as "detect from the file name", and a request body has none.
    if encoding in ("", "identity", "none", "auto"):
        return chunks
    encoding = _ALIASES.get(encoding, encoding)
    decoder = _REQUEST_DECODERS.get(encoding)
    if decoder is None:
        raise ClickHouseError.raised(UNKNOWN_FORMAT, f"Unknown compression method '{encoding}'")
    return _guarded(decoder(chunks), encoding)


def _guarded(chunks: Iterator[bytes], what: str) -> Iterator[bytes]:
    try:
        yield from chunks
    except ClickHouseError:
        raise
    except (zlib.error, RuntimeError, zstandard.ZstdError, lz4.block.LZ4BlockError, ValueError, OSError, EOFError) as exc:
        raise ClickHouseError.raised(CANNOT_DECOMPRESS, f"Cannot decompress {what} request body: {exc}") from None


# ClickHouse's compressed block: 16-byte CityHash128 of the rest, method byte, two UInt32 sizes.
_BLOCK_HEADER = struct.Struct("<BII")
_METHOD_NONE, _METHOD_LZ4, _METHOD_ZSTD = 0x02, 0x82, 0x90


def decode_clickhouse_blocks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Unpack ClickHouse compressed blocks (the ``decompress=1`` request body)."""
    return _guarded(_clickhouse_blocks(chunks), "ClickHouse compressed")


def _clickhouse_blocks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while len(pending) >= 25:
            method, compressed_size, size = _BLOCK_HEADER.unpack_from(pending, 16)
            check_frame_sizes(method, compressed_size, size)  # before buffering what the header announces
            end = 16 + compressed_size
            if len(pending) < end:
                break
            payload = bytes(pending[25:end])
            del pending[:end]
            if method == _METHOD_LZ4:
                yield lz4.block.decompress(payload, uncompressed_size=size)
            elif method == _METHOD_ZSTD:
                yield zstd_block(payload, size)
            elif method == _METHOD_NONE:
                yield payload
            else:
                raise ClickHouseError.raised(CANNOT_DECOMPRESS, f"Unknown compression method {method:#x}")
    if pending:
        raise ClickHouseError.raised(CANNOT_DECOMPRESS, "Truncated compressed block in request body")


def clickhouse_block(data: bytes) -> bytes:
    """One LZ4 ClickHouse compressed block of ``data`` (the ``compress=1`` response body)."""
    payload = lz4.block.compress(data, store_size=False)
    body = _BLOCK_HEADER.pack(_METHOD_LZ4, len(payload) + 9, len(data)) + payload
    checksum = CityHash128(body)
    return struct.pack("<QQ", checksum & 0xFFFFFFFFFFFFFFFF, checksum >> 64) + body


def choose_response_coding(accept_encoding: str) -> str | None:
    offered = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
    for coding in RESPONSE_CODINGS:
        if coding in offered and (coding != "br" or brotli is not None):
            return coding
    return None


class ResponseEncoder:
    """Compresses a response body piece by piece, flushing each so the client can decode as it reads."""

    def __init__(self, coding: str):
        self.coding = coding
        if coding == "gzip":
            self._zlib = zlib.compressobj(_ZLIB_LEVEL, wbits=31)
        elif coding == "deflate":
            self._zlib = zlib.compressobj(_ZLIB_LEVEL, wbits=15)
        elif coding == "zstd":
            self._zstd = zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compressobj()
        elif coding == "lz4":
            self._lz4 = lz4.frame.LZ4FrameCompressor(auto_flush=True)
            self._lz4_started = False
        elif coding == "br":
            self._br = brotli.Compressor()

    def encode(self, data: bytes) -> bytes:
        if self.coding in ("gzip", "deflate"):
            return self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self.coding == "zstd":
            return self._zstd.compress(data) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        if self.coding == "lz4":
            head = b""
            if not self._lz4_started:
                self._lz4_started = True
                head = self._lz4.begin()
            return head + self._lz4.compress(data)
        return self._br.process(data) + self._br.flush()

    def finish(self) -> bytes:
        if self.coding in ("gzip", "deflate"):
            return self._zlib.flush()
        if self.coding == "zstd":
            return self._zstd.flush()
        if self.coding == "lz4":
            return (b"" if self._lz4_started else self._lz4.begin()) + self._lz4.flush()
        return self._br.finish()
