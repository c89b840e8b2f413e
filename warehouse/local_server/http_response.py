"""What ClickHouse's HTTP responses say about their bodies: content types, statuses, summary, codings."""

from __future__ import annotations

import json
import secrets
import string

from warehouse.local_server.engine import QueryStats
from warehouse.local_server.errors import ClickHouseError
from warehouse.local_server.http_codecs import ResponseEncoder, clickhouse_block

# Formats whose output is rows only (no header or footer): chDB's separately formatted chunks
# concatenate into one valid result, so these can be streamed. Others are formatted in one piece.
_STREAMABLE_FORMATS = frozenset(
    name.lower()
    for name in (
        "Native", "TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "CSV", "JSONEachRow", "JSONLines",
        "NDJSON", "JSONCompactEachRow", "JSONStringsEachRow", "JSONCompactStringsEachRow", "RowBinary",
        "LineAsString", "RawBLOB", "MsgPack", "BSONEachRow", "Null",
    )
)  # fmt: skip

_CONTENT_TYPES = [  # (lower-case name prefix, content type); the first match wins
    ("tabseparated", "text/tab-separated-values; charset=UTF-8"),
    ("tsv", "text/tab-separated-values; charset=UTF-8"),
    ("csvwithnames", "text/csv; charset=UTF-8; header=present"),
    ("csv", "text/csv; charset=UTF-8; header=absent"),
    ("jsoneachrow", "application/x-ndjson; charset=UTF-8"),
    ("jsonlines", "application/x-ndjson; charset=UTF-8"),
    ("ndjson", "application/x-ndjson; charset=UTF-8"),
    ("jsoncompacteachrow", "application/x-ndjson; charset=UTF-8"),
    ("jsonstringseachrow", "application/x-ndjson; charset=UTF-8"),
    ("jsoncompactstringseachrow", "application/x-ndjson; charset=UTF-8"),
    ("json", "application/json; charset=UTF-8"),
    ("xml", "application/xml; charset=UTF-8"),
    ("markdown", "text/markdown; charset=UTF-8"),
    ("native", "application/octet-stream"),
    ("rowbinary", "application/octet-stream"),
    ("parquet", "application/octet-stream"),
    ("arrow", "application/octet-stream"),
    ("orc", "application/octet-stream"),
    ("avro", "application/octet-stream"),
    ("protobuf", "application/octet-stream"),
    ("capnproto", "application/octet-stream"),
    ("msgpack", "application/octet-stream"),
    ("bsoneachrow", "application/octet-stream"),
    ("npy", "application/octet-stream"),
    ("rawblob", "application/octet-stream"),
]
TEXT_PLAIN = "text/plain; charset=UTF-8"


class ClientGone(Exception):
    """The client closed its connection while we were answering."""


# ClickHouse's mapping of exception codes to HTTP statuses (by exception name).
_STATUS_BY_NAME = {
    "REQUIRED_PASSWORD": 401,
    **dict.fromkeys(("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE"), 403),
    **dict.fromkeys(
        (
            "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
            "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
            "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID",
            "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE",
            "TOO_DEEP_AST", "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA",
            "TYPE_MISMATCH", "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        ),
        400,
    ),
    **dict.fromkeys(
        (
            "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE",
        ),
        404,
    ),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "CANNOT_SCHEDULE_TASK": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
}  # fmt: skip


def is_streamable(fmt: str, settings: dict[str, str]) -> bool:
    if settings.get("output_format_json_array_of_rows", "0") not in ("0", "false", "False"):
        return False  # JSONEachRow wrapped in [ ... ]: a header and a footer after all
    return fmt.lower() in _STREAMABLE_FORMATS


def content_type(fmt: str) -> str:
    lowered = fmt.lower()
    for prefix, value in _CONTENT_TYPES:
        if lowered.startswith(prefix):
            return value
    return TEXT_PLAIN


def http_status(error: ClickHouseError) -> int:
    return _STATUS_BY_NAME.get(error.name, 500)


def summary_header(stats: QueryStats, elapsed_ns: int) -> str:
    return json.dumps(
        {
            "read_rows": str(stats.read_rows),
            "read_bytes": str(stats.read_bytes),
            "written_rows": str(stats.written_rows),
            "written_bytes": str(stats.written_bytes),
            "total_rows_to_read": str(stats.read_rows),
            "result_rows": str(stats.result_rows),
            "result_bytes": str(stats.result_bytes),
            "elapsed_ns": str(elapsed_ns),
        },
        separators=(",", ":"),
    )


def exception_tag() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))


def exception_block(tag: str, text: str) -> bytes:
    """An error that happened after the response began, marked as ClickHouse 25.11+ marks it in the body."""
    message = text.rstrip("\n")
    return f"\r\n__exception__\r\n{tag}\r\n{message}\n{len(message.encode())} {tag}\r\n__exception__\r\n".encode()


class BodyEncoder:
    """The response body's codings: ClickHouse blocks (``compress=1``), then an HTTP content coding."""

    def __init__(self, http_coding: str | None, clickhouse_blocks: bool):
        self.http_coding = http_coding
        self._http = ResponseEncoder(http_coding) if http_coding else None
        self._blocks = clickhouse_blocks

    @property
    def identity(self) -> bool:
        return self._http is None and not self._blocks

    def encode(self, data: bytes) -> bytes:
        if self._blocks and data:
            data = clickhouse_block(data)
        if self._http is not None:
            data = self._http.encode(data)
        return data

    def finish(self) -> bytes:
        return self._http.finish() if self._http is not None else b""
