"""ClickHouse's native TCP protocol of the local server, exercised with the real clickhouse-driver."""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from decimal import Decimal

import pytest
from clickhouse_driver import Client, dbapi
from clickhouse_driver.errors import ServerException

from warehouse.local_server.engine import Engine
from warehouse.local_server.native_blocks import split_blocks


@pytest.fixture(scope="module")
def connect(clickhouse_server):
    clients = []

    def make(**kwargs) -> Client:
        options = {"host": clickhouse_server.host, "port": clickhouse_server.native_port}
        options["password"] = clickhouse_server.password
        client = Client(**{**options, **kwargs})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.disconnect()


@pytest.fixture(scope="module")
def client(connect):
    return connect()


@pytest.fixture()
def table(client):
    name = f"native_{uuid.uuid4().hex[:8]}"
    yield name
    client.execute(f"DROP TABLE IF EXISTS {name}")


ALL_TYPES = """
    id UInt32, u UUID, lc LowCardinality(String), lcn LowCardinality(Nullable(String)),
    ts DateTime64(3, 'UTC'), n Nullable(Int64), arr Array(String), m Map(String, UInt16),
    e Enum8('red' = 1, 'green' = 2), b Bool, d Decimal(18, 4), t Tuple(x Int8, y String), day Date
"""


def _typed_rows(count: int, enum_as_number: bool = False) -> list[tuple]:
    return [
        (
            i,
            uuid.UUID(int=i + 1),
            f"label {i % 3}",
            None if i % 2 else f"maybe {i}",
            dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=i),
            None if i % 3 == 0 else -i,
            [f"a{i}", "b"][: i % 3],
            {"k": i % 65536},
            (2 if i % 2 else 1) if enum_as_number else "green" if i % 2 else "red",
            bool(i % 2),
            Decimal(i) / 4,
            (i % 100, str(i)),
            dt.date(2024, 1, 1) + dt.timedelta(days=i % 300),
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("compression", [False, "lz4", "zstd"])
def test_every_type_round_trips_with_and_without_compression(connect, table, compression):
    client = connect(compression=compression, settings={"use_client_time_zone": False})
    client.execute(f"CREATE TABLE {table} ({ALL_TYPES}) ENGINE = MergeTree ORDER BY id")
    rows = _typed_rows(2000)
    # clickhouse-driver's types_check accepts only numbers for Enum columns (its own limitation).
    inserted = client.execute(f"INSERT INTO {table} VALUES", _typed_rows(2000, enum_as_number=True), types_check=True)
    assert inserted == 2000
    result, columns = client.execute(f"SELECT * FROM {table} ORDER BY id", with_column_types=True)
    assert [name for name, _ in columns] == [
        "id", "u", "lc", "lcn", "ts", "n", "arr", "m", "e", "b", "d", "t", "day"
    ]
    assert dict(columns)["ts"] == "DateTime64(3, 'UTC')"
    assert dict(columns)["lcn"] == "LowCardinality(Nullable(String))"
    assert result == rows


def test_types_the_server_cannot_walk_still_get_a_header(client):
    rows, columns = client.execute("""SELECT '{"a": 1}'::JSON AS j, 7 AS x""", with_column_types=True)
    assert rows == [({"a": 1}, 7)] and columns == [("j", "JSON"), ("x", "UInt8")]


def test_columnar_insert_and_select(client, table):
    client.execute(f"CREATE TABLE {table} (a UInt64, s String) ENGINE = MergeTree ORDER BY a")
    columns = [list(range(1000)), [str(i) for i in range(1000)]]
    client.execute(f"INSERT INTO {table} (a, s) VALUES", columns, columnar=True)
    assert client.execute(f"SELECT a, s FROM {table} ORDER BY a", columnar=True) == [tuple(c) for c in columns]


def test_insert_without_column_list_skips_computed_columns(client, table):
    client.execute(
        f"CREATE TABLE {table} (a Int32, doubled Int32 MATERIALIZED a * 2, alias Int32 ALIAS a + 1, "
        "s String DEFAULT 'x') ENGINE = MergeTree ORDER BY a"
    )
    client.execute(f"INSERT INTO {table} VALUES", [(1, "one"), (2, "two")])
    rows = client.execute(f"SELECT a, doubled, alias, s FROM {table} ORDER BY a")
    assert rows == [(1, 2, 2, "one"), (2, 4, 3, "two")]
    client.execute(f"INSERT INTO {table} (a) VALUES", [(3,)])
    assert client.execute(f"SELECT s FROM {table} WHERE a = 3") == [("x",)]


def test_inline_insert_and_insert_select_are_plain_queries(client, table):
    client.execute(f"CREATE TABLE {table} (a Int32) ENGINE = MergeTree ORDER BY a")
    client.execute(f"INSERT INTO {table} VALUES (1), (2)")
    client.execute(f"INSERT INTO {table} SELECT number + 10 FROM numbers(3)")
    assert client.execute(f"SELECT groupArray(a) FROM (SELECT a FROM {table} ORDER BY a)") == [([1, 2, 10, 11, 12],)]


def test_empty_result_still_describes_its_columns(client):
    rows, columns = client.execute(
        "SELECT number AS n, toString(number) AS s FROM numbers(10) WHERE n > 100", with_column_types=True
    )
    assert rows == [] and columns == [("n", "UInt64"), ("s", "String")]


def test_client_side_parameters(client):
    query = "SELECT %(n)s + 1, %(s)s, toDate(%(day)s)"
    params = {"n": 41, "s": "it's", "day": dt.date(2024, 2, 29)}
    assert client.execute(query, params) == [(42, "it's", dt.date(2024, 2, 29))]


def test_settings_apply_to_one_query_and_unknown_ones_are_ignored(connect):
    client = connect()
    assert client.execute("SELECT getSetting('max_block_size')", settings={"max_block_size": 1234}) == [(1234,)]
    assert client.execute("SELECT getSetting('max_block_size')") != [(1234,)]
    assert client.execute("SELECT 1", settings={"no_such_setting_at_all": 1}) == [(1,)]
    strict = connect(settings_is_important=True)
    with pytest.raises(ServerException) as raised:
        strict.execute("SELECT 1", settings={"no_such_setting_at_all": 1})
    assert raised.value.code == 115


def test_readonly_applies_to_its_query_only(connect, table):
    client = connect()
    with pytest.raises(ServerException) as raised:
        client.execute(f"CREATE TABLE {table} (a Int8) ENGINE = Memory", settings={"readonly": 1})
    assert raised.value.code == 164  # READONLY
    client.execute(f"CREATE TABLE {table} (a Int8) ENGINE = Memory")  # the driver reconnects to a fresh session
    assert client.execute(f"EXISTS TABLE {table}") == [(1,)]


def test_large_select_streams_in_blocks(client):
    total = 0
    for row in client.execute_iter("SELECT number FROM numbers(1000000)", settings={"max_block_size": 65536}):
        total += 1
    assert total == 1_000_000
    rows = client.execute("SELECT number FROM numbers(1000000)", settings={"max_block_size": 100000})
    assert len(rows) == 1_000_000 and rows[-1] == (999_999,)
    assert client.last_query.profile_info.rows == 1_000_000
    assert client.last_query.profile_info.blocks >= 10


def test_errors_carry_clickhouse_codes_and_the_connection_survives(client):
    with pytest.raises(ServerException) as raised:
        client.execute("SELECT * FROM no_such_table_anywhere")
    assert raised.value.code == 60
    assert "DB::Exception" in str(raised.value) and "UNKNOWN_TABLE" in str(raised.value)
    with pytest.raises(ServerException) as raised:
        client.execute("SELEC 1")
    assert raised.value.code == 62
    with pytest.raises(ServerException) as raised:
        client.execute("SELECT throwIf(number = 150000) FROM numbers(300000)", settings={"max_block_size": 1000})
    assert raised.value.code == 395
    assert client.execute("SELECT 1") == [(1,)]


def test_failed_insert_drains_the_data_and_the_connection_survives(client, table):
    client.execute(f"CREATE VIEW {table} AS SELECT toInt32(1) AS a")  # has columns, refuses writes
    with pytest.raises(ServerException) as raised:
        client.execute(f"INSERT INTO {table} VALUES", [(1,)] * 100_000)
    assert raised.value.code == 48  # NOT_IMPLEMENTED: the engine's "Method write is not supported"
    with pytest.raises(ServerException) as raised:
        client.execute("INSERT INTO no_such_table_anywhere VALUES", [(1,)])
    assert raised.value.code == 60
    assert client.execute(f"SELECT a FROM {table}") == [(1,)]


def test_wrong_password_is_refused(clickhouse_server, connect):
    with pytest.raises(ServerException) as raised:
        connect(password="wrong").execute("SELECT 1")
    assert raised.value.code == 516
    assert "Authentication failed" in str(raised.value)
    with pytest.raises(ServerException) as raised:
        connect(user="someone").execute("SELECT 1")
    assert raised.value.code == 516


def test_ping(client):
    client.execute("SELECT 1")
    assert client.connection.ping() is True


def test_use_and_the_hello_database(connect):
    database = f"native_db_{uuid.uuid4().hex[:8]}"
    client = connect()
    client.execute(f"CREATE DATABASE {database}")
    try:
        client.execute(f"USE {database}")
        assert client.execute("SELECT currentDatabase()") == [(database,)]
        assert connect(database=database).execute("SELECT currentDatabase()") == [(database,)]
        with pytest.raises(ServerException) as raised:
            connect(database="no_such_database_anywhere").execute("SELECT 1")
        assert raised.value.code == 81
    finally:
        client.execute(f"DROP DATABASE {database}")


def test_session_state_lasts_for_the_connection_only(connect):
    first, second = connect(), connect()
    first.execute("CREATE TEMPORARY TABLE scratch (a UInt8)")
    first.execute("INSERT INTO scratch VALUES", [(7,)])
    first.execute("SET max_block_size = 4321")
    assert first.execute("SELECT a FROM scratch") == [(7,)]
    assert first.execute("SELECT getSetting('max_block_size')") == [(4321,)]
    with pytest.raises(ServerException):
        second.execute("SELECT a FROM scratch")
    assert second.execute("SELECT getSetting('max_block_size')") != [(4321,)]


def test_statements_the_engine_does_not_stream(client, table):
    client.execute(f"CREATE TABLE {table} (a Int32, s String) ENGINE = MergeTree ORDER BY a")
    assert (table,) in client.execute("SHOW TABLES")
    assert client.execute(f"DESCRIBE TABLE {table}")[0][:2] == ("a", "Int32")
    assert client.execute(f"EXISTS TABLE {table}") == [(1,)]
    rows, columns = client.execute("EXPLAIN SELECT 1", with_column_types=True)
    assert rows and columns == [("explain", "String")]


def test_a_format_clause_is_refused_with_a_clear_error(client):
    with pytest.raises(ServerException) as raised:
        client.execute("SELECT 1 FORMAT JSON")
    assert raised.value.code == 48 and "FORMAT JSON" in str(raised.value)
    assert client.execute("SELECT 'FORMAT JSON'") == [("FORMAT JSON",)]


def test_cancel_stops_a_streaming_query(connect):
    client = connect()
    rows = client.execute_iter("SELECT number FROM numbers(100000000)", settings={"max_block_size": 10000})
    assert next(rows) == (0,)
    client.cancel()
    assert client.execute("SELECT 2") == [(2,)]


def test_external_tables_are_refused(client):
    external = [{"name": "ext", "structure": [("x", "Int32")], "data": [{"x": 1}]}]
    with pytest.raises(ServerException) as raised:
        client.execute("SELECT 1", external_tables=external)
    assert raised.value.code == 48
    assert client.execute("SELECT 3") == [(3,)]


def test_http_on_the_native_port_gets_a_hint(clickhouse_server):
    with socket.create_connection((clickhouse_server.host, clickhouse_server.native_port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.0 400") and b"clickhouse-client" in reply


def test_dbapi_as_dlt_uses_it(clickhouse_server, table):
    dsn = (
        f"clickhouse://default:{clickhouse_server.password}@{clickhouse_server.host}:{clickhouse_server.native_port}"
        "/default?select_sequential_consistency=0"
    )
    with dbapi.connect(dsn=dsn) as connection:
        cursor = connection.cursor()
        cursor.execute(f"CREATE TABLE {table} (id Int64, name String) ENGINE = MergeTree ORDER BY id")
        assert cursor.description == []  # what clickhouse-driver reports for DDL with ClickHouse too
        cursor.executemany(f"INSERT INTO {table} (id, name) VALUES", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        cursor.execute(f"SELECT id, name FROM {table} WHERE id >= %(low)s ORDER BY id", {"low": 1})
        assert [column[0] for column in cursor.description] == ["id", "name"]
        assert cursor.fetchall() == [(1, "a"), (2, "b")]
        cursor.execute(f"SELECT name FROM {table} WHERE id > 100")
        assert cursor.fetchall() == [] and cursor.description[0][0] == "name"
        cursor.execute(f"DROP TABLE {table}")


def test_engine_streams_exactly_one_native_block_per_chunk(tmp_path):
    """The server relays each streamed chunk as one Data packet; this pins the engine behaviour it relies on."""
    engine = Engine(tmp_path / "engine")
    try:
        with engine.connection() as conn:
            queries = [
                "SELECT number, toString(number) AS s, [number] AS a FROM numbers(300000)",
                "SELECT number FROM numbers(100) UNION ALL SELECT number FROM numbers(7)",
                "SELECT toString(number % 1000) AS k, count() FROM numbers(500000) GROUP BY k ORDER BY k",
                "SELECT number FROM numbers(1000) SETTINGS max_block_size = 7",
            ]
            for query in queries:
                for chunk in conn.stream(query, "Native"):
                    blocks = split_blocks(chunk)
                    assert len(blocks) == 1 and blocks[0].end == len(chunk)
    finally:
        engine.close()


@pytest.mark.xfail(strict=True, reason="chDB 4.4 streaming inserts drop rows violating CHECK constraints silently")
def test_engine_rejects_streamed_rows_that_violate_a_constraint(tmp_path):
    engine = Engine(tmp_path / "engine")
    try:
        with engine.connection() as conn:
            conn.query("CREATE TABLE t (a Int32, CONSTRAINT positive CHECK a > 0) ENGINE = MergeTree ORDER BY a", "TSV")
            block = conn.query("SELECT toInt32(-1) AS a", "Native")
            with pytest.raises(Exception):
                conn.insert("INSERT INTO t (a)", "Native", [block])
    finally:
        engine.close()
