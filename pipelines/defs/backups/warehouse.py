"""ClickHouse's own BACKUP and RESTORE of Feelback's databases, to a folder the server writes.

``BACKUP DATABASE ... TO File('<path>')`` runs inside the server, so the path is on the server's
machine and must lie under its ``backups.allowed_path`` (the local server allows the configured
backup folder; a real server needs the same in its config). An incremental backup stores only the
parts that are not in its base (``SETTINGS base_backup = File(...)``).
"""

from __future__ import annotations

from pathlib import Path

from clickhouse_connect.driver.client import Client

SYSTEM_DATABASES = ("system", "INFORMATION_SCHEMA", "information_schema")


class BackupNotAllowed(RuntimeError):
    pass


def _literal(path: Path) -> str:
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote(name: str) -> str:
    return "`" + name.replace("`", "\\`") + "`"


def databases_to_back_up(client: Client) -> list[str]:
    """Every database with tables, except ClickHouse's own."""
    rows = client.query(
        """
        SELECT DISTINCT database FROM system.tables
        WHERE database NOT IN {system:Array(String)} AND NOT is_temporary AND NOT startsWith(database, '_')
        ORDER BY database
        """,
        parameters={"system": list(SYSTEM_DATABASES)},
    ).result_rows
    return [name for (name,) in rows]


def table_counts(client: Client, databases: list[str]) -> dict[str, int]:
    """Rows of every MergeTree table in ``databases``, counted (not estimated)."""
    tables = client.query(
        """
        SELECT database, name FROM system.tables
        WHERE database IN {databases:Array(String)} AND engine LIKE '%MergeTree'
        ORDER BY database, name
        """,
        parameters={"databases": databases},
    ).result_rows
    return {
        f"{database}.{name}": int(client.query(f"SELECT count() FROM {_quote(database)}.{_quote(name)}").result_rows[0][0])
        for database, name in tables
    }


def _run(client: Client, sql: str) -> None:
    try:
        row = client.query(sql).result_rows
    except Exception as exc:
        if "backups.allowed_path" in str(exc):
            raise BackupNotAllowed(
                "the ClickHouse server does not allow backups to this folder: set backups.allowed_path in its "
                "configuration to the backup folder (FEELBACK_BACKUP_URL)"
            ) from exc
        raise
    status = row[0][1] if row and len(row[0]) > 1 else ""
    if status not in ("BACKUP_CREATED", "RESTORED"):
        raise RuntimeError(f"ClickHouse answered {row!r} to {sql.split(' TO ')[0].split(' FROM ')[0]}")


def back_up(client: Client, databases: list[str], target: Path, base: Path | None = None) -> None:
    sql = f"BACKUP {', '.join('DATABASE ' + _quote(name) for name in databases)} TO File({_literal(target)})"
    if base is not None:
        sql += f" SETTINGS base_backup = File({_literal(base)})"
    _run(client, sql)


def restore(client: Client, databases: list[str], source: Path) -> None:
    """Replace ``databases`` with their state in the backup at ``source``."""
    for name in databases:
        client.command(f"DROP DATABASE IF EXISTS {_quote(name)} SYNC")
    _run(client, f"RESTORE {', '.join('DATABASE ' + _quote(name) for name in databases)} FROM File({_literal(source)})")
