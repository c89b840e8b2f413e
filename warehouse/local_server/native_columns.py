"""Column headers the engine's Native output does not carry (empty results, INSERT targets), asked of the
engine with ``DESCRIBE``: the only statements the native protocol front writes itself."""

from __future__ import annotations

import json
import re

from warehouse.local_server.engine import EngineConnection
from warehouse.local_server.errors import NOT_IMPLEMENTED, ClickHouseError

_IDENTIFIER = r"(?:`(?:[^`\\]|\\.)*`|\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][A-Za-z0-9_]*)"
_INSERT_HEAD = re.compile(
    rf"^(?:\s+|--[^\n]*\n|/\*.*?\*/)*INSERT\s+INTO\s+(?:TABLE\s+)?(?P<table>{_IDENTIFIER}(?:\s*\.\s*{_IDENTIFIER})?)"
    rf"\s*(?:\((?P<columns>.*)\))?\s*(?:SETTINGS\b.*)?$",
    re.I | re.S,
)
_NOT_INSERTABLE = {"MATERIALIZED", "ALIAS", "EPHEMERAL"}


def result_columns(conn: EngineConnection, sql: str) -> list[tuple[str, str]]:
    """The result columns of a query, asked of the engine; [] if it cannot say."""
    body = sql.strip().rstrip(";").strip()
    try:
        return _describe(conn, f"DESCRIBE (\n{body}\n)")
    except ClickHouseError:
        return []


def insert_columns(conn: EngineConnection, head: str) -> list[tuple[str, str]]:
    """Names and types the client must send: the listed columns, or all insertable ones."""
    match = _INSERT_HEAD.match(head)
    if match is None:
        raise ClickHouseError.raised(
            NOT_IMPLEMENTED, "This form of INSERT with data from the client is not supported by this server"
        )
    table, listed = match.group("table"), match.group("columns")
    if listed is not None:
        return _describe(conn, f"DESCRIBE (SELECT {listed} FROM {table})")
    rows = _describe(conn, f"DESCRIBE TABLE {table}", with_default_kind=True)
    return [(name, type_name) for name, type_name, kind in rows if kind not in _NOT_INSERTABLE]


def _describe(conn: EngineConnection, statement: str, with_default_kind: bool = False) -> list[tuple]:
    rows = [json.loads(line) for line in conn.query(statement, "JSONCompactEachRow").splitlines() if line]
    return [(row[0], row[1], row[2]) if with_default_kind else (row[0], row[1]) for row in rows]
