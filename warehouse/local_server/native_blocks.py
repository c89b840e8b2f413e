"""The layout of blocks in ClickHouse's Native format, walked without decoding values.

The front relays blocks as the engine and the clients encode them; it only needs to know where a
block ends (a client's uncompressed Data packet carries no length, and the engine's non-streamed
output concatenates blocks) and which columns it has (for header blocks). Walking skips each
column's bytes by its type's serialization; values are never decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from warehouse.local_server.errors import INCORRECT_DATA, ClickHouseError
from warehouse.local_server.native_wire import ByteReader, string, varint

_FIXED_WIDTH = {
    **dict.fromkeys(("UInt8", "Int8", "Bool", "Enum8", "Nothing"), 1),
    **dict.fromkeys(("UInt16", "Int16", "Enum16", "Date", "BFloat16"), 2),
    **dict.fromkeys(("UInt32", "Int32", "Float32", "Date32", "DateTime", "IPv4", "Decimal32", "Time"), 4),
    **dict.fromkeys(("UInt64", "Int64", "Float64", "DateTime64", "Decimal64", "Time64"), 8),
    **dict.fromkeys(("UInt128", "Int128", "UUID", "IPv6", "Decimal128"), 16),
    **dict.fromkeys(("UInt256", "Int256", "Decimal256"), 32),
}
_GEO_ALIASES = {
    "Point": "Tuple(Float64, Float64)",
    "Ring": "Array(Point)",
    "LineString": "Array(Point)",
    "MultiLineString": "Array(Ring)",
    "Polygon": "Array(Ring)",
    "MultiPolygon": "Array(Polygon)",
}
_NAMED_ELEMENT = re.compile(r"^(`(?:[^`\\]|\\.)*`|[A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)$", re.S)
_LOW_CARDINALITY_NEEDS_GLOBAL_DICTIONARY = 1 << 8
_LOW_CARDINALITY_HAS_ADDITIONAL_KEYS = 1 << 9
# ClickHouse's NativeReader refuses blocks beyond these before reading them.
MAX_COLUMNS = 1_000_000
MAX_ROWS = 1_000_000_000_000


class UnsupportedType(Exception):
    """A type whose Native serialization this walker does not know (Variant, Dynamic, JSON, ...)."""


@dataclass(frozen=True)
class BlockShape:
    columns: list[tuple[str, str]]  # (name, type)
    rows: int
    start: int  # position of the block's first byte in the reader's buffer
    end: int


def _split_arguments(inner: str) -> list[str]:
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(inner):
        ch = inner[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i].strip())
            start = i + 1
        i += 1
    parts.append(inner[start:].strip())
    return parts


@lru_cache(maxsize=1024)
def _layout(type_name: str) -> tuple:
    """How a column of ``type_name`` is laid out: a small tree of (kind, ...) tuples."""
    type_name = type_name.strip()
    head, _, rest = type_name.partition("(")
    head = head.strip()
    arguments = _split_arguments(rest[:-1]) if rest else []
    if head in _GEO_ALIASES:
        return _layout(_GEO_ALIASES[head])
    if head in _FIXED_WIDTH:
        return ("fixed", _FIXED_WIDTH[head])
    if head.startswith("Interval"):
        return ("fixed", 8)
    if head == "Decimal":
        precision = int(arguments[0])
        return ("fixed", 4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32)
    if head == "String":
        return ("string",)
    if head == "FixedString":
        return ("fixed", int(arguments[0]))
    if head == "Nullable":
        return ("nullable", _layout(arguments[0]))
    if head == "Array":
        return ("array", _layout(arguments[0]))
    if head == "Map":
        return ("array", ("tuple", (_layout(arguments[0]), _layout(arguments[1]))))
    if head == "Tuple":
        elements = []
        for argument in arguments:
            named = _NAMED_ELEMENT.match(argument)
            elements.append(_layout(named.group(2) if named else argument))
        return ("tuple", tuple(elements))
    if head == "LowCardinality":
        inner = arguments[0]
        if inner.startswith("Nullable("):
            inner = inner[len("Nullable(") : -1]  # the dictionary holds the non-nullable values
        return ("low_cardinality", _layout(inner))
    if head == "SimpleAggregateFunction":
        return _layout(arguments[-1])
    raise UnsupportedType(type_name)


def _skip_prefix(layout: tuple, reader: ByteReader) -> None:
    kind = layout[0]
    if kind == "low_cardinality":
        reader.skip(8)  # key serialization version
    elif kind in ("nullable", "array"):
        _skip_prefix(layout[1], reader)
    elif kind == "tuple":
        for element in layout[1]:
            _skip_prefix(element, reader)


def _skip_data(layout: tuple, reader: ByteReader, rows: int) -> None:
    kind = layout[0]
    if kind == "fixed":
        reader.skip(rows * layout[1])
    elif kind == "string":
        reader.skip_strings(rows)
    elif kind == "nullable":
        reader.skip(rows)
        _skip_data(layout[1], reader, rows)
    elif kind == "array":
        if rows:
            reader.skip((rows - 1) * 8)
            _skip_data(layout[1], reader, _rows(reader.read_u64()))  # offsets are cumulative: the last is the total
    elif kind == "tuple":
        for element in layout[1]:
            _skip_data(element, reader, rows)
    elif kind == "low_cardinality":
        while rows > 0:
            flags = reader.read_u64()
            if flags & _LOW_CARDINALITY_NEEDS_GLOBAL_DICTIONARY:
                raise UnsupportedType("LowCardinality with a global dictionary")
            if flags & _LOW_CARDINALITY_HAS_ADDITIONAL_KEYS:
                _skip_data(layout[1], reader, _rows(reader.read_u64()))
            indexes = _rows(reader.read_u64())
            if indexes == 0:
                raise UnsupportedType("LowCardinality granule without rows")
            reader.skip(indexes << (flags & 0xFF))
            rows -= indexes


def _rows(count: int) -> int:
    if count > MAX_ROWS:
        raise ClickHouseError.raised(INCORRECT_DATA, f"Suspiciously many rows in Native format: {count}")
    return count


def walk_block(reader: ByteReader) -> BlockShape:
    """Walk one Native block (no block info) starting at the reader's position."""
    start = reader.pos
    column_count = reader.read_varint()
    if column_count > MAX_COLUMNS:
        raise ClickHouseError.raised(INCORRECT_DATA, f"Suspiciously many columns in Native format: {column_count}")
    rows = _rows(reader.read_varint())
    columns = []
    for _ in range(column_count):
        name = reader.read_string()
        type_name = reader.read_string()
        columns.append((name, type_name))
        if rows:
            layout = _layout(type_name)
            _skip_prefix(layout, reader)
            _skip_data(layout, reader, rows)
    return BlockShape(columns, rows, start, reader.pos)


def split_blocks(data: bytes) -> list[BlockShape]:
    """The blocks of an engine output that concatenates Native blocks."""
    reader = ByteReader.over(data)
    shapes = []
    while reader.pos < len(data):
        shapes.append(walk_block(reader))
    return shapes


def block_rows(block: bytes) -> int:
    reader = ByteReader.over(block)
    reader.read_varint()
    return reader.read_varint()


def header_block(columns: list[tuple[str, str]]) -> bytes:
    """A Native block with the given columns and no rows: what ClickHouse sends before data."""
    out = bytearray(varint(len(columns)) + varint(0))
    for name, type_name in columns:
        out += string(name) + string(type_name)
    return bytes(out)
