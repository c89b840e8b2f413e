"""The analysts' user (the one Superset connects as) reads but cannot write: the engine refuses, through
both protocols and through SQL Lab, and a request cannot lift ``readonly``."""

from __future__ import annotations

import clickhouse_connect
import httpx
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from feelback.generated_secrets import clickhouse_user_password

WRITES = [
    "INSERT INTO raw.feedback_events (project_id) VALUES ('analyst')",
    "ALTER TABLE raw.feedback_events DELETE WHERE 1",
    "DROP TABLE raw.feedback_events",
    "CREATE TABLE default.analyst_table (a UInt8) ENGINE = Memory",
    "CREATE DATABASE analyst_db",
    "TRUNCATE TABLE raw.feedback_events",
    "INSERT INTO FUNCTION file('analyst.csv', 'CSV', 'a UInt8') SELECT 1",
    "CREATE TEMPORARY TABLE analyst_tmp (a UInt8)",
]
READONLY = 164


@pytest.fixture(scope="module")
def analyst():
    from feelback.settings import get_settings

    settings = get_settings()
    return settings.superset_clickhouse_user, clickhouse_user_password(settings, settings.superset_clickhouse_user)


def _http(clickhouse_server, analyst, **settings):
    user, password = analyst
    return clickhouse_connect.get_client(
        host=clickhouse_server.host, port=clickhouse_server.http_port, username=user, password=password, settings=settings
    )


def test_the_analyst_reads_over_http(clickhouse_server, analyst, warehouse_build):
    client = _http(clickhouse_server, analyst)
    assert client.command("SELECT count() FROM analytics.fct_signals") > 0
    assert client.command("SELECT getSetting('readonly')") == 1


@pytest.mark.parametrize("statement", WRITES)
def test_the_engine_refuses_writes_over_http(clickhouse_server, analyst, statement):
    with pytest.raises(DatabaseError, match=f"Code: {READONLY}"):
        _http(clickhouse_server, analyst).command(statement)


def test_a_request_cannot_lift_readonly(clickhouse_server, analyst):
    # Raw HTTP: clickhouse-connect itself declines to send settings to a readonly=1 user.
    url = f"http://{clickhouse_server.host}:{clickhouse_server.http_port}/"
    for parameters in ({"readonly": "0"}, {"readonly": "2"}, {}):
        response = httpx.post(url, params=parameters, content=b"CREATE TABLE default.lifted (a UInt8) ENGINE = Memory",
                              auth=analyst)  # fmt: skip
        assert f"Code: {READONLY}" in response.text, (parameters, response.text)
    session = {"session_id": "analyst-session"}
    assert f"Code: {READONLY}" in httpx.post(url, params=session, content=b"SET readonly = 0", auth=analyst).text
    refused = httpx.post(url, params=session, content=b"DROP TABLE raw.feedback_events", auth=analyst)
    assert f"Code: {READONLY}" in refused.text


def test_a_wrong_password_is_refused(clickhouse_server, analyst):
    with pytest.raises(DatabaseError, match="Authentication failed"):
        _http(clickhouse_server, (analyst[0], analyst[1] + "x"))


def _native(clickhouse_server, analyst) -> Client:
    user, password = analyst
    return Client(host=clickhouse_server.host, port=clickhouse_server.native_port, user=user, password=password)


@pytest.mark.parametrize("statement", WRITES)
def test_the_engine_refuses_writes_over_the_native_protocol(clickhouse_server, analyst, statement):
    client = _native(clickhouse_server, analyst)
    try:
        assert client.execute("SELECT 1") == [(1,)]
        with pytest.raises(ServerException) as refused:
            client.execute(statement)
        assert refused.value.code == READONLY
        with pytest.raises(ServerException) as lifted:
            client.execute("SELECT 1", settings={"readonly": 0})
        assert lifted.value.code == READONLY
    finally:
        client.disconnect()


def test_sql_lab_answers_and_refuses_writes(superset, superset_api):
    database_id = superset.metadata("SELECT id FROM dbs")[0][0]

    def run(sql: str):
        return superset_api.post(
            "/api/v1/sqllab/execute/", json={"database_id": database_id, "sql": sql, "runAsync": False, "schema": None}
        )

    answer = run("SELECT count() AS signals FROM analytics.fct_signals")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"][0]["signals"] > 0
    before = run("SELECT count() AS n FROM raw.feedback_events").json()["data"][0]["n"]
    for statement in WRITES:
        refused = run(statement)
        assert refused.status_code != 200, statement
        # Superset refuses what it recognizes as a write (the database has allow_dml off); the engine the rest.
        assert "does not allow for DDL/DML" in refused.text or "(READONLY)" in refused.text, refused.text
    reading_a_file = run("SELECT * FROM file('/etc/hostname', 'LineAsString')")
    assert "(READONLY)" in reading_a_file.text, reading_a_file.text
    assert run("SELECT count() AS n FROM raw.feedback_events").json()["data"][0]["n"] == before
