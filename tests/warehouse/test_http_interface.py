"""The local server's ClickHouse HTTP interface, through clickhouse-connect and raw HTTP, as clients use it."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import zlib
import socket
import threading
import time
import uuid

import clickhouse_connect
import httpx
import lz4.frame
import pandas as pd
import pyarrow as pa
import pytest
import zstandard
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

DB = "http_iface"

ALL_TYPES_DDL = f"""
CREATE TABLE {DB}.all_types
(
    id           UInt64,
    event_id     UUID,
    project_id   LowCardinality(String),
    message      String,
    occurred_at  DateTime64(3, 'UTC'),
    day          Date,
    tiny         Int8,
    value        Nullable(Int16),
    rating_scale UInt8,
    counter      UInt32,
    score        Float64,
    contact      Nullable(String),
    tags         Array(LowCardinality(String)),
    labels       Array(String),
    form_fields  Map(String, String),
    operation    Enum8('create' = 1, 'edit' = 2, 'revoke' = 3),
    is_bot       Bool
)
ENGINE = MergeTree ORDER BY id
"""

ROWS = [
    [
        1,
        uuid.UUID("11111111-2222-3333-4444-555555555555"),
        "proj",
        "héllo\ttab\nnewline 'quote'",
        dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.timezone.utc),
        dt.date(2024, 5, 6),
        -8,
        -1,
        5,
        4_000_000_000,
        3.25,
        "a@b.example",
        ["x", "y"],
        ["free", "text"],
        {"name": "Ann", "empty": ""},
        "edit",
        True,
    ],
    [
        2,
        uuid.UUID("00000000-0000-0000-0000-000000000001"),
        "other",
        "",
        dt.datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=dt.timezone.utc),
        dt.date(1999, 12, 31),
        127,
        None,
        0,
        0,
        -0.5,
        None,
        [],
        [],
        {},
        "revoke",
        False,
    ],
]
COLUMNS = [
    "id", "event_id", "project_id", "message", "occurred_at", "day", "tiny", "value", "rating_scale", "counter",
    "score", "contact", "tags", "labels", "form_fields", "operation", "is_bot",
]  # fmt: skip


@pytest.fixture(scope="module")
def base_url(clickhouse_server) -> str:
    return f"http://{clickhouse_server.host}:{clickhouse_server.http_port}"


def connect(server, **options):
    options.setdefault("autogenerate_session_id", False)
    return clickhouse_connect.get_client(
        host=server.host, port=server.http_port, username="default", password=server.password, **options
    )


@pytest.fixture(scope="module")
def client(clickhouse_server):
    client = connect(clickhouse_server)
    client.command(f"DROP DATABASE IF EXISTS {DB}")
    client.command(f"CREATE DATABASE {DB}")
    yield client
    client.command(f"DROP DATABASE IF EXISTS {DB}")
    client.close()


@pytest.fixture(scope="module")
def http(base_url, clickhouse_server):
    with httpx.Client(base_url=base_url, auth=("default", clickhouse_server.password), timeout=30) as session:
        yield session


def normalized(rows):
    def utc(value):
        return value.astimezone(dt.timezone.utc) if isinstance(value, dt.datetime) else value

    return [tuple(utc(value) for value in row) for row in rows]


def test_health_endpoints_answer_like_clickhouse(http):
    assert http.get("/ping").text == "Ok.\n"
    assert http.get("/").text == "Ok.\n"
    assert http.get("/replicas_status").text == "Ok.\n"
    missing = http.get("/play")
    assert missing.status_code == 404 and "There is no handle /play" in missing.text


def test_every_raw_schema_type_round_trips(client):
    client.command(ALL_TYPES_DDL)
    summary = client.insert(f"{DB}.all_types", ROWS, column_names=COLUMNS)
    assert summary.written_rows == 2
    result = client.query(f"SELECT {', '.join(COLUMNS)} FROM {DB}.all_types ORDER BY id")
    assert normalized(result.result_rows) == normalized([tuple(row) for row in ROWS])
    assert result.column_names == tuple(COLUMNS)
    matching = f"SELECT count() FROM {DB}.all_types WHERE has(tags, 'x') AND form_fields['name'] = 'Ann'"
    assert client.command(matching) == 1


def test_dataframes_and_arrow_both_ways(client):
    client.command(f"CREATE TABLE {DB}.frames (id UInt32, name String, score Float64) ENGINE = MergeTree ORDER BY id")
    frame = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"], "score": [0.5, 1.5, 2.5]})
    client.insert_df(f"{DB}.frames", frame)
    table = pa.table({"id": pa.array([4, 5], pa.uint32()), "name": ["d", "e"], "score": [3.5, 4.5]})
    client.insert_arrow(f"{DB}.frames", table)
    back = client.query_df(f"SELECT * FROM {DB}.frames ORDER BY id")
    assert back["name"].tolist() == ["a", "b", "c", "d", "e"]
    arrow = client.query_arrow(f"SELECT id, score FROM {DB}.frames ORDER BY id")
    assert arrow.column("score").to_pylist() == [0.5, 1.5, 2.5, 3.5, 4.5]


@pytest.mark.parametrize("compress", [False, "lz4", "zstd", "gzip"])
def test_compressed_inserts_and_results(clickhouse_server, client, compress):
    table = f"{DB}.compressed_{compress or 'off'}"
    client.command(f"CREATE TABLE {table} (n UInt64, s String) ENGINE = MergeTree ORDER BY n")
    compressed = connect(clickhouse_server, compress=compress)
    rows = [[n, f"row {n}" * 3] for n in range(20_000)]
    assert compressed.insert(table, rows, column_names=["n", "s"]).written_rows == 20_000
    assert compressed.query(f"SELECT n, s FROM {table} ORDER BY n").result_rows == [tuple(row) for row in rows]
    streamed = 0
    with compressed.query_column_block_stream(f"SELECT n FROM {table}") as blocks:
        for block in blocks:
            streamed += len(block[0])
    assert streamed == 20_000
    compressed.close()


def test_server_side_parameters(client):
    result = client.query("SELECT {name:String} AS name, {n:UInt8} + 1 AS next", parameters={"name": "it's", "n": 41})
    assert result.result_rows == [("it's", 42)]


def test_form_encoded_query_parameters(clickhouse_server):
    form = connect(clickhouse_server, form_encode_query_params=True)
    assert form.query("SELECT {long:String} AS v", parameters={"long": "x" * 5000}).result_rows == [("x" * 5000,)]
    form.close()


def test_session_keeps_settings_and_temporary_tables(clickhouse_server):
    session = connect(clickhouse_server, session_id=f"test-{uuid.uuid4()}")
    session.command("SET max_result_rows = 1234")
    assert session.command("SELECT getSetting('max_result_rows')") == 1234
    session.command("CREATE TEMPORARY TABLE scratch (n UInt8)")
    session.command("INSERT INTO scratch VALUES (1), (2)")
    with pytest.raises(DatabaseError):
        session.command("SELECT * FROM missing_table_in_session")
    assert session.command("SELECT sum(n) FROM scratch") == 3  # an error does not end the session
    session.close()
    other = connect(clickhouse_server)
    assert other.command("SELECT getSetting('max_result_rows')") == 0
    other.close()


def test_a_session_request_waits_for_the_one_before_it(clickhouse_server, base_url):
    """A session's next request may come on another connection while the one before it still holds the
    session (its answer sent, the session not yet let go; dbt's threads met it): it waits for it. A
    session held past the wait (2 s) is SESSION_IS_LOCKED, as in ClickHouse."""
    session = f"test-{uuid.uuid4()}"
    auth = ("default", clickhouse_server.password)

    def ask(query: str, answers: list) -> None:
        with httpx.Client(base_url=base_url, auth=auth, timeout=30) as connection:  # a connection of its own
            answers.append(connection.post("/", params={"session_id": session}, content=query))

    for held, expected in (("SELECT sleep(0.5)", 200), ("SELECT sleepEachRow(1) FROM numbers(4) SETTINGS max_block_size = 1", 500)):
        first: list = []
        holder = threading.Thread(target=ask, args=(held, first))
        holder.start()
        time.sleep(0.2)  # the first request holds the session
        second: list = []
        ask("SELECT 1", second)
        holder.join()
        assert first[0].status_code == 200, first[0].text
        assert second[0].status_code == expected, second[0].text
        if expected == 200:
            assert second[0].text == "1\n"
        else:
            assert "SESSION_IS_LOCKED" in second[0].text and second[0].headers["X-ClickHouse-Exception-Code"] == "373"


def test_errors_are_clickhouse_exceptions_and_leave_the_client_usable(client):
    with pytest.raises(DatabaseError) as unknown:
        client.query("SELECT * FROM no_such_table_anywhere")
    assert "60" in str(unknown.value) and "UNKNOWN_TABLE" in str(unknown.value)
    with pytest.raises(DatabaseError) as syntax:
        client.command("SELEC 1")
    assert "code: 62" in str(syntax.value)
    assert client.command("SELECT 1") == 1


def test_wrong_password_is_authentication_failed(clickhouse_server):
    with pytest.raises((OperationalError, DatabaseError)) as failed:
        clickhouse_connect.get_client(
            host=clickhouse_server.host, port=clickhouse_server.http_port, username="default", password="wrong"
        )
    assert "516" in str(failed.value)


def test_raw_http_query_parameter_plus_body_is_insert_data(http, client):
    client.command(f"CREATE TABLE {DB}.raw_rows (n UInt32, s String) ENGINE = MergeTree ORDER BY n")
    inserted = http.post("/", params={"query": f"INSERT INTO {DB}.raw_rows FORMAT CSV"}, content=b"1,one\n2,two\n")
    assert inserted.status_code == 200, inserted.text
    assert json.loads(inserted.headers["X-ClickHouse-Summary"])["written_rows"] == "2"
    values = http.post("/", params={"query": f"INSERT INTO {DB}.raw_rows VALUES (3, 'three')"})
    assert values.status_code == 200, values.text
    gzipped = http.post(
        "/",
        content=gzip.compress(f"INSERT INTO {DB}.raw_rows FORMAT TSV\n4\tfour\n".encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert gzipped.status_code == 200, gzipped.text
    chunked = http.post(
        "/",
        params={"query": f"INSERT INTO {DB}.raw_rows FORMAT JSONEachRow"},
        content=iter([b'{"n": 5, "s": "fi', b'ver"}\n']),  # an iterator goes out with chunked transfer coding
    )
    assert chunked.status_code == 200, chunked.text
    selected = http.post(
        "/",
        params={"database": DB, "param_min": "2", "query_id": "my-query"},
        content=b"SELECT n, s FROM raw_rows WHERE n >= {min:UInt32} ORDER BY n FORMAT JSONEachRow",
    )
    assert selected.headers["X-ClickHouse-Format"] == "JSONEachRow"
    assert selected.headers["Content-Type"].startswith("application/x-ndjson")
    assert selected.headers["X-ClickHouse-Query-Id"] == "my-query"
    assert selected.headers["X-ClickHouse-Timezone"]
    assert [json.loads(line) for line in selected.text.splitlines()] == [
        {"n": 2, "s": "two"}, {"n": 3, "s": "three"}, {"n": 4, "s": "four"}, {"n": 5, "s": "fiver"},
    ]  # fmt: skip
    default_format = http.get("/", params={"query": f"SELECT count() FROM {DB}.raw_rows"})
    assert default_format.text == "5\n" and default_format.headers["X-ClickHouse-Format"] == "TabSeparated"


REQUEST_CODINGS = {
    "gzip": gzip.compress,
    "gz": gzip.compress,  # dlt's spelling
    "deflate": zlib.compress,
    # clickhouse-connect compresses each block as a frame of its own
    "zstd": lambda data: b"".join(zstandard.ZstdCompressor().compress(part) for part in (data[:10], data[10:])),
    "lz4": lambda data: lz4.frame.compress(data[:10]) + lz4.frame.compress(data[10:]),
    "none": lambda data: data,
}


@pytest.mark.parametrize("coding", REQUEST_CODINGS)
def test_raw_http_compressed_request_bodies(http, client, coding):
    table = f"{DB}.coded_{coding}"
    client.command(f"CREATE TABLE {table} (n UInt32) ENGINE = MergeTree ORDER BY n")
    rows = b"".join(b"%d\n" % n for n in range(1000))
    body = REQUEST_CODINGS[coding](f"INSERT INTO {table} FORMAT TSV\n".encode() + rows)
    answer = http.post("/", content=body, headers={"Content-Encoding": coding})
    assert answer.status_code == 200, answer.text
    assert client.command(f"SELECT count() FROM {table}") == 1000


def test_raw_http_errors_and_authentication(http):
    failed = http.post("/", content=b"SELECT * FROM no_such_table_anywhere")
    assert failed.status_code == 404
    assert failed.headers["X-ClickHouse-Exception-Code"] == "60"
    assert failed.text.startswith("Code: 60. DB::Exception: ") and "(UNKNOWN_TABLE) (version " in failed.text
    syntax = http.post("/", content=b"SELEC 1")
    assert syntax.status_code == 400 and syntax.headers["X-ClickHouse-Exception-Code"] == "62"
    assert http.post("/", content=b"SELECT 1").text == "1\n"  # same keep-alive connection still serves
    denied = http.post("/", content=b"SELECT 1", headers={"X-ClickHouse-User": "default", "X-ClickHouse-Key": "no"})
    assert denied.status_code == 403 and denied.headers["X-ClickHouse-Exception-Code"] == "516"
    assert "Authentication failed" in denied.text


def test_response_compression_when_enabled(http):
    answer = http.post(
        "/",
        params={"enable_http_compression": "1"},
        content=b"SELECT number FROM numbers(1000) FORMAT CSV",
        headers={"Accept-Encoding": "gzip"},
    )
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.text.splitlines()[-1] == "999"  # httpx decodes gzip


def test_long_query_does_not_block_ping(client, http):
    done = threading.Event()

    def slow():
        client.command("SELECT sleepEachRow(1) FROM numbers(6) SETTINGS max_block_size = 1")
        done.set()

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.2)
    began = time.monotonic()
    assert http.get("/ping").text == "Ok.\n"
    # answered while the query (6 s) still runs: a blocked ping would take its remaining 5.8 s, and
    # 4 s leaves a busy machine room (a behaviour bound, not a speed target)
    assert time.monotonic() - began < 4
    assert not done.is_set()
    worker.join()


def test_big_select_streams(clickhouse_server, http):
    streamed = connect(clickhouse_server)
    rows = 0
    with streamed.query_column_block_stream("SELECT number FROM numbers(1000000)") as blocks:
        for block in blocks:
            rows += len(block[0])
    assert rows == 1_000_000
    streamed.close()
    with http.stream("POST", "/", content=b"SELECT number FROM numbers(1000000) FORMAT TSV") as response:
        assert response.headers.get("Transfer-Encoding") == "chunked"
        lines = sum(chunk.count(b"\n") for chunk in response.iter_bytes())
    assert lines == 1_000_000


def test_client_hanging_up_mid_stream_leaves_the_server_serving(clickhouse_server, http):
    request = b"SELECT number FROM numbers(100000000) FORMAT TSV"
    for _ in range(3):
        with socket.create_connection((clickhouse_server.host, clickhouse_server.http_port)) as raw:
            raw.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                + base64.b64encode(f"default:{clickhouse_server.password}".encode())
                + b"\r\nContent-Length: %d\r\n\r\n%s" % (len(request), request)
            )
            assert raw.recv(65536).startswith(b"HTTP/1.1 200 OK")
    assert http.post("/", content=b"SELECT 42").text == "42\n"


def test_error_in_the_middle_of_a_stream_is_reported(clickhouse_server, http):
    query = b"SELECT throwIf(number = 900000) FROM numbers(1000000) FORMAT TSV"
    with http.stream("POST", "/", content=query) as response:
        body = b"".join(response.iter_bytes())
    assert response.status_code == 200 and b"__exception__" in body and b"FUNCTION_THROW_IF_VALUE_IS_NON_ZERO" in body
    streamed = connect(clickhouse_server)
    with pytest.raises(Exception, match="395|THROW_IF"):
        with streamed.query_column_block_stream(query.decode().removesuffix(" FORMAT TSV")) as blocks:
            for _ in blocks:
                pass
    assert streamed.command("SELECT 1") == 1
    streamed.close()
