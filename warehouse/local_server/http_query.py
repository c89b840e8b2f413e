"""One query request of the HTTP interface: read it, run it on an engine connection, answer it.

The ``query`` parameter and the body are one statement text, as in ClickHouse; an INSERT's data
(after its ``FORMAT name`` or ``VALUES``) is streamed from the body to the engine, never parsed
here. Results stream back with chunked transfer coding, after the first megabyte is held back so
that small results (and errors that happen early) get exact headers and a proper status.
"""

from __future__ import annotations

import logging
import time
import uuid
from itertools import chain
from typing import TYPE_CHECKING, Iterator

from warehouse.local_server.engine import EngineConnection, QueryStats
from warehouse.local_server.errors import SYNTAX_ERROR, UNKNOWN_EXCEPTION, ClickHouseError
from warehouse.local_server.http_codecs import (
    MIN_COMPRESSED_SIZE,
    choose_response_coding,
    decode_clickhouse_blocks,
    decode_request_body,
)
from warehouse.local_server.http_request import (
    UNAUTHENTICATED_DRAIN,
    BadRequest,
    RequestBody,
    RequestOptions,
    form_fields,
    read_prefix,
    url_pairs,
)
from warehouse.local_server.http_response import (
    TEXT_PLAIN,
    BodyEncoder,
    ClientGone,
    content_type,
    exception_block,
    exception_tag,
    http_status,
    is_streamable,
    summary_header,
)
from warehouse.local_server.sql_scan import Statement, is_temporary_table, scan

if TYPE_CHECKING:
    from warehouse.local_server.http_interface import HttpInterface, _Handler

log = logging.getLogger(__name__)

QUERY_PREFIX_SIZE = 256 << 10  # body bytes read to find where an INSERT's data begins (max_query_size)
DEFAULT_MAX_QUERY_SIZE = 256 << 10  # ClickHouse's max_query_size: the most of a body read as statement text
RESPONSE_BUFFER_SIZE = 1 << 20  # output held back before streaming, so small results get exact headers
_BAD_ARGUMENTS = 36


def _query_too_large(limit: int) -> ClickHouseError:
    return ClickHouseError.raised(
        SYNTAX_ERROR,
        f"Max query size exceeded (can be increased with the `max_query_size` setting): the query is longer than "
        f"{limit} bytes",
    )


def _insert_head_may_continue(statement: Statement, text: bytes) -> bool:
    if statement.keyword != "INSERT":
        return False
    data = statement.insert_data
    return not statement.complete or (data is not None and data.data_start >= len(text))


class QueryRequest:
    """One query request: read it, run it on an engine connection, answer it."""

    def __init__(self, handler: _Handler, front: HttpInterface, query_string: str):
        self.handler = handler
        self.front = front
        self.engine = front.engine
        self.started = time.perf_counter_ns()
        self.body = RequestBody(handler.rfile, handler.headers)
        self.query_string = query_string
        self.query_id = ""
        self.stats = QueryStats()
        self.options = RequestOptions()
        self.authenticated = False  # until then, nothing of the body is read but a bounded drain
        self.streaming = False  # once the status line is out, errors can only go into the body

    def run(self) -> None:
        try:
            try:
                self._run()
            except ClickHouseError as error:
                if self.streaming:
                    raise
                self._send_error(error)
            except (ClientGone, ConnectionError):
                raise
            except BadRequest as bad:
                if self.streaming:
                    raise ClientGone from bad
                self.handler.close_connection = True
                self.handler.send_error(bad.status, str(bad))
            except Exception as exc:  # a bug here must not take the connection's other requests down
                log.exception("HTTP query failed")
                if self.streaming:
                    raise ClientGone from exc
                text = f"{type(exc).__name__}: {exc}. (UNKNOWN_EXCEPTION)"
                self._send_error(ClickHouseError(UNKNOWN_EXCEPTION, text))
        except (ClientGone, ConnectionError, ClickHouseError):
            self.handler.close_connection = True

    def _run(self) -> None:
        pairs = url_pairs(self.query_string)
        headers = self.handler.headers
        self.options = options = RequestOptions.parse(pairs, headers)
        self.query_id = options.query_id or str(uuid.uuid4())
        # As in ClickHouse, credentials come from the URL and headers, and the body is read only after.
        profile = self.front.authenticate(options)
        self.authenticated = True
        self.handler.continue_body()
        request_type = headers.get("Content-Type", "")
        if request_type.startswith("multipart/form-data"):
            fields = form_fields(request_type, b"".join(self.body.chunks()))
            self.options = options = RequestOptions.parse(pairs + fields, headers)
            self.query_id = options.query_id or self.query_id
        statement, text, data = self._read_statement()
        with self.engine.connection(options.session_id or None, options.session_timeout, options.session_check) as conn:
            conn.apply_settings(options.settings, profile)
            if options.database:
                conn.use_database(options.database)
            elif not options.session_id:
                conn.use_database("default")
            try:
                if data is not None:
                    conn.insert(statement.insert_data.head, statement.insert_data.format, data, self.stats)
                    self._send_result(statement, b"")
                else:
                    self._run_statement(conn, statement, text.decode("utf-8", "replace"))
            finally:
                self._after_statement(conn, statement, text)
        if options.close_session and options.session_id:
            self.engine.close_session(options.session_id)

    def _read_statement(self) -> tuple[Statement, bytes, Iterator[bytes] | None]:
        """The statement text and, for an INSERT whose data comes with the body, the data's pieces.

        As in ClickHouse, the ``query`` parameter and the body are one text joined by a newline; an
        INSERT's data starts after its ``FORMAT name`` (or ``VALUES``) and is streamed, never parsed here.
        """
        query = self.options.query.encode()
        if not self.body.present:
            if not query.strip():
                raise ClickHouseError.raised(SYNTAX_ERROR, "Empty query")
            return scan(query), query, None
        chunks = decode_request_body(self.handler.headers.get("Content-Encoding", ""), self.body.chunks())
        if self.options.decompress_blocks:
            chunks = decode_clickhouse_blocks(chunks)
        limit = self._max_query_size()
        prefix, exhausted = read_prefix(chunks, min(QUERY_PREFIX_SIZE, limit + 1))
        text = query + b"\n" + prefix if query else prefix
        statement = scan(text)
        # Read on while an INSERT's head (or its FORMAT name) might continue past what has been read.
        while not exhausted and _insert_head_may_continue(statement, text):
            if len(text) > limit:
                raise _query_too_large(limit)
            more, exhausted = read_prefix(chunks, QUERY_PREFIX_SIZE)
            text += more
            statement = scan(text)
        if statement.insert_data is not None:
            return statement, text, chain((text[statement.insert_data.data_start :],), chunks)
        if not exhausted and len(text) <= limit:  # the rest of the body is statement text, up to max_query_size
            more, exhausted = read_prefix(chunks, max(1, limit + 1 - len(text)))
            text += more
            statement = scan(text)
        if len(text) > limit:
            raise _query_too_large(limit)
        if not text.strip():
            raise ClickHouseError.raised(SYNTAX_ERROR, "Empty query")
        return statement, text, None

    def _max_query_size(self) -> int:
        value = self.options.settings.get("max_query_size", "")
        return int(value) if value.isdigit() else DEFAULT_MAX_QUERY_SIZE  # a bad value: the engine refuses it

    def _run_statement(self, conn: EngineConnection, statement: Statement, sql: str) -> None:
        options = self.options
        fmt = statement.output_format or options.default_format
        params = options.query_parameters
        one_piece = self.handler.command == "HEAD" or self.handler.request_version == "HTTP/1.0"
        if options.wait_end_of_query or one_piece or not is_streamable(fmt, options.settings):
            self._send_result(statement, conn.query(sql, options.default_format, params, self.stats))
            return
        stream = conn.stream(sql, options.default_format, params, self.stats)
        try:
            first, exhausted = read_prefix(stream, RESPONSE_BUFFER_SIZE)
        except ClickHouseError as error:
            if error.code != _BAD_ARGUMENTS or "Streaming query is not supported" not in error.message:
                raise
            # The engine streams SELECTs only; other statements answer in one piece.
            self._send_result(statement, conn.query(sql, options.default_format, params, self.stats))
            return
        if exhausted:
            self._send_result(statement, first)
        else:
            self._stream_result(statement, first, stream)

    def _after_statement(self, conn: EngineConnection, statement: Statement, text: bytes) -> None:
        if statement.keyword == "USE":
            conn.forget_database()
        if self.options.session_id:
            return
        if statement.keyword in ("SET", "USE") or (statement.keyword == "CREATE" and is_temporary_table(text)):
            # Outside a session, session state must not outlive the request: retire the pooled connection.
            conn.broken = True

    # --- answers -------------------------------------------------------------------------------------

    def _headers(self, statement: Statement | None) -> list[tuple[str, str]]:
        options = self.options
        headers = [
            ("X-ClickHouse-Server-Display-Name", self.front.display_name),
            ("X-ClickHouse-Query-Id", self.query_id),
            ("X-ClickHouse-Timezone", options.settings.get("session_timezone") or self.engine.timezone),
        ]
        if options.cors:
            headers.append(("Access-Control-Allow-Origin", "*"))
        if statement is not None:
            fmt = statement.output_format or options.default_format
            headers += [("Content-Type", content_type(fmt)), ("X-ClickHouse-Format", fmt)]
        return headers

    def _encoder(self, size: int | None = None) -> BodyEncoder:
        """The body's codings; ``size`` is the length of a complete body (None when streaming)."""
        coding = None
        if self.options.http_compression and (size is None or size >= MIN_COMPRESSED_SIZE):
            coding = choose_response_coding(self.handler.headers.get("Accept-Encoding", ""))
        return BodyEncoder(coding, self.options.compress_blocks)

    def _summary(self) -> tuple[str, str]:
        return ("X-ClickHouse-Summary", summary_header(self.stats, time.perf_counter_ns() - self.started))

    def _send_result(self, statement: Statement, output: bytes) -> None:
        encoder = self._encoder(len(output))
        headers = self._headers(statement)
        if encoder.http_coding:
            headers.append(("Content-Encoding", encoder.http_coding))
        body = output if encoder.identity else encoder.encode(output) + encoder.finish()
        self.handler.send_complete(200, headers + [self._summary()], body)

    def _stream_result(self, statement: Statement, first: bytes, rest: Iterator[bytes]) -> None:
        encoder = self._encoder()
        tag = exception_tag()
        headers = self._headers(statement) + [("X-ClickHouse-Exception-Tag", tag)]
        if encoder.http_coding:
            headers.append(("Content-Encoding", encoder.http_coding))
        handler = self.handler
        self.streaming = True
        try:
            handler.start_chunked(200, headers + [self._summary()], encoder.encode(first))
            try:
                for chunk in rest:
                    handler.send_chunk(encoder.encode(chunk))
            except ClickHouseError as error:
                text = error.http_text(self.engine.version)
                handler.send_chunk(encoder.encode(exception_block(tag, text)))
            handler.end_chunked(encoder.finish())
        finally:
            rest.close()  # cancels the engine's query if the client went away

    def _send_error(self, error: ClickHouseError) -> None:
        handler = self.handler
        drain_limit = None if self.authenticated else UNAUTHENTICATED_DRAIN
        if handler.awaiting_continue:  # refused before 100 Continue: the client sends no body
            handler.close_connection = True
        elif not self.body.finished and not self.body.drain(drain_limit):
            handler.close_connection = True
        headers = self._headers(None) + [
            ("Content-Type", TEXT_PLAIN),
            ("X-ClickHouse-Exception-Code", str(error.code)),
            self._summary(),
        ]
        handler.send_complete(http_status(error), headers, error.http_text(self.engine.version).encode())

