"""Reading one request of ClickHouse's HTTP interface: parameters, credentials, settings and body.

URL parameters follow ClickHouse's HTTP handler: a fixed set belongs to the HTTP layer (query,
database, user, session_id, ...), ``param_<name>`` are query parameters, and every other
parameter is a ClickHouse setting for the engine. A few real settings only steer the HTTP
layer (compression, progress headers, buffering); they are consumed here and not sent on.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from typing import BinaryIO, Iterator
from urllib.parse import parse_qsl

from warehouse.local_server.errors import NOT_IMPLEMENTED, ClickHouseError

READ_SIZE = 2 << 20  # body read size: big appends keep streamed INSERTs near in-process speed

HTTP_PARAMETERS = frozenset(
    {
        "query", "database", "default_format", "user", "password", "quota_key", "query_id", "role",
        "session_id", "session_timeout", "session_check", "close_session", "compress", "decompress",
        "buffer_size", "wait_end_of_query", "client_protocol_version", "stacktrace",
    }
)  # fmt: skip
HTTP_LAYER_SETTINGS = frozenset(
    {
        "enable_http_compression", "http_zlib_compression_level", "send_progress_in_http_headers",
        "http_headers_progress_interval_ms", "cancel_http_readonly_queries_on_client_close",
        "http_response_buffer_size", "http_wait_end_of_query", "add_http_cors_header",
        "http_native_compression_disable_checksumming_on_decompress", "http_write_exception_in_output_format",
    }
)  # fmt: skip
DEFAULT_SESSION_TIMEOUT = 60.0
MAX_SESSION_TIMEOUT = 3600.0
# Bounds on what a client sends before it is authenticated: the header block (lines, count, total
# bytes) and the body bytes drained after a refusal; past them the connection is closed.
MAX_HEADER_LINE = 65536
MAX_HEADERS = 100
MAX_HEADER_BYTES = 256 << 10
UNAUTHENTICATED_DRAIN = 1 << 20


class Headers(dict):
    """Request headers by lower-cased name; the small part of ``email.message.Message`` this front uses."""

    def get(self, name: str, default=None):
        return super().get(name.lower(), default)


class BadRequest(Exception):
    """A request the HTTP layer cannot even read, answered with a plain HTTP error status."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def read_headers(rfile: BinaryIO) -> Headers:
    """The header block of a request, read straight off the socket (the stdlib's e-mail parser is slow)."""
    headers = Headers()
    lines = size = 0
    while True:
        line = rfile.readline(MAX_HEADER_LINE + 1)
        if len(line) > MAX_HEADER_LINE:
            raise BadRequest(431, "Header line too long")
        if line in (b"\r\n", b"\n", b""):
            return headers
        lines, size = lines + 1, size + len(line)
        if lines > MAX_HEADERS:
            raise BadRequest(431, "Too many headers")
        if size > MAX_HEADER_BYTES:
            raise BadRequest(431, "Request header fields too large")
        name, colon, value = line.decode("iso-8859-1").partition(":")
        if not colon:
            raise BadRequest(400, "Bad header line")
        headers[name.strip().lower()] = value.strip()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class RequestOptions:
    """Everything a request says besides its SQL text and body."""

    query: str = ""
    user: str = "default"
    password: str = ""
    database: str | None = None
    default_format: str = "TabSeparated"
    query_id: str = ""
    session_id: str = ""
    session_timeout: float = DEFAULT_SESSION_TIMEOUT
    session_check: bool = False
    close_session: bool = False
    wait_end_of_query: bool = False
    http_compression: bool = False
    compress_blocks: bool = False  # compress=1: ClickHouse compressed blocks in the response
    decompress_blocks: bool = False  # decompress=1: ClickHouse compressed blocks in the request
    cors: bool = False
    query_parameters: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, pairs: list[tuple[str, str]], headers: Headers) -> "RequestOptions":
        options = cls()
        raw: dict[str, str] = {}
        for name, value in pairs:
            if name.startswith("param_"):
                options.query_parameters[name[len("param_") :]] = value
            elif name in HTTP_PARAMETERS or name in HTTP_LAYER_SETTINGS:
                raw[name] = value
            else:
                options.settings[name] = value
        options.query = raw.get("query", "")
        options.user, options.password = _credentials(raw, headers)
        options.database = headers.get("X-ClickHouse-Database") or raw.get("database") or None
        options.default_format = headers.get("X-ClickHouse-Format") or raw.get("default_format") or "TabSeparated"
        options.query_id = raw.get("query_id", "")
        options.session_id = raw.get("session_id", "")
        options.session_timeout = _session_timeout(raw.get("session_timeout"))
        options.session_check = _truthy(raw.get("session_check"))
        options.close_session = _truthy(raw.get("close_session"))
        options.wait_end_of_query = _truthy(raw.get("wait_end_of_query")) or _truthy(raw.get("http_wait_end_of_query"))
        options.http_compression = _truthy(raw.get("enable_http_compression"))
        options.compress_blocks = _truthy(raw.get("compress"))
        options.decompress_blocks = _truthy(raw.get("decompress"))
        options.cors = _truthy(raw.get("add_http_cors_header"))
        return options


def _session_timeout(value: str | None) -> float:
    if not value:
        return DEFAULT_SESSION_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        raise ClickHouseError(72, f"Cannot parse session_timeout '{value}'. (CANNOT_PARSE_NUMBER)") from None
    if not 0 <= seconds <= MAX_SESSION_TIMEOUT:
        message = f"Session timeout '{value}' is larger than max_session_timeout: {MAX_SESSION_TIMEOUT:g}"
        raise ClickHouseError(69, f"{message}. (ARGUMENT_OUT_OF_BOUND)")
    return seconds


def _credentials(raw: dict[str, str], headers: Headers) -> tuple[str, str]:
    """User and password from X-ClickHouse-User/Key, HTTP Basic auth or the user/password parameters."""
    user = headers.get("X-ClickHouse-User")
    password = headers.get("X-ClickHouse-Key")
    authorization = headers.get("Authorization", "")
    if user is None and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode()
        except ValueError:
            decoded = ""
        user, _, password = decoded.partition(":")
    if user is None:
        user = raw.get("user")
    if password is None:
        password = raw.get("password")
    return user or "default", password or ""


class RequestBody:
    """The raw request body as a stream of large pieces, for Content-Length or chunked transfer coding."""

    def __init__(self, rfile: BinaryIO, headers: Headers):
        self._rfile = rfile
        self.chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        self._remaining = 0 if self.chunked else content_length(headers)
        self.present = self.chunked or self._remaining > 0
        self.finished = not self.present
        self._chunks = self._read()

    def chunks(self) -> Iterator[bytes]:
        """The body's pieces; one iterator per request, so what a reader left unread can be drained."""
        return self._chunks

    def drain(self, limit: int | None = None) -> bool:
        """Read and drop whatever the request handling left unread; False if the body is broken or
        longer than ``limit`` bytes (the connection must then be closed). With a ``limit``, a body not
        known to fit (chunked, or declared longer) is not read at all: its sender may never finish it."""
        if limit is not None and (self.chunked or self._remaining > limit):
            return False
        drained = 0
        try:
            for chunk in self._chunks:
                drained += len(chunk)
                if limit is not None and drained > limit:
                    return False
        except (OSError, ValueError, BadRequest):
            return False
        return self.finished

    def _read(self) -> Iterator[bytes]:
        yield from self._chunked() if self.chunked else self._sized()
        self.finished = True

    def _sized(self) -> Iterator[bytes]:
        while self._remaining > 0:
            data = self._rfile.read(min(self._remaining, READ_SIZE))
            if not data:
                raise ConnectionError("client closed the connection in the middle of the request body")
            self._remaining -= len(data)
            yield data

    def _chunked(self) -> Iterator[bytes]:
        while True:
            line = self._rfile.readline(65537)
            if not line:
                raise ConnectionError("client closed the connection in the middle of the request body")
            size = _chunk_size(line)
            if size == 0:
                for _ in range(MAX_HEADERS + 1):  # trailers, bounded like headers
                    if self._rfile.readline(MAX_HEADER_LINE + 1) in (b"\r\n", b"\n", b""):
                        return
                raise BadRequest(431, "Too many trailer lines in the chunked request body")
            while size > 0:
                data = self._rfile.read(min(size, READ_SIZE))
                if not data:
                    raise ConnectionError("client closed the connection in the middle of the request body")
                size -= len(data)
                yield data
            self._rfile.readline(3)


def content_length(headers: Headers) -> int:
    value = (headers.get("Content-Length") or "0").strip()
    if not value.isdigit() or not value.isascii():
        raise BadRequest(400, f"Bad Content-Length {value[:40]!r}")
    return int(value)


def _chunk_size(line: bytes) -> int:
    digits = line.split(b";", 1)[0].strip() or b"0"
    if len(digits) > 16 or digits.strip(b"0123456789abcdefABCDEF"):
        raise BadRequest(400, "Bad chunk size line in the chunked request body")
    return int(digits, 16)


def read_prefix(chunks: Iterator[bytes], at_least: int) -> tuple[bytes, bool]:
    """Collect ``at_least`` bytes (or all there are); returns them and whether ``chunks`` is exhausted."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= at_least:
            return b"".join(parts), False
    return b"".join(parts), True


def form_fields(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """Fields of a multipart/form-data body: the query and its parameters, as clickhouse-connect sends them.

    File fields would be external tables, which the engine has no way to receive from us.
    """
    boundary = Message()
    boundary["Content-Type"] = content_type
    marker = boundary.get_param("boundary")
    if not marker:
        return []
    fields = []
    for part in body.split(b"--" + marker.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        headers = BytesHeaderParser().parsebytes(head)
        disposition = Message()
        disposition["Content-Disposition"] = headers.get("Content-Disposition", "")
        name = disposition.get_param("name", header="Content-Disposition")
        if disposition.get_param("filename", header="Content-Disposition") is not None:
            raise ClickHouseError.raised(NOT_IMPLEMENTED, "External tables are not supported by the local server")
        if name:
            fields.append((name, content.removesuffix(b"\r\n").decode()))
    return fields


def url_pairs(query_string: str) -> list[tuple[str, str]]:
    return parse_qsl(query_string, keep_blank_values=True)
