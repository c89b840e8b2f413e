"""Versioned DDL for the raw schema, applied in order and recorded in ``meta.schema_migrations``.

Files are ``sql/NNNN_name.sql``; statements are separated by ``;`` at the end of a line. An applied
migration whose file has changed since is refused: write a new migration instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from clickhouse_connect.driver.client import Client

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";\s*$", re.M)

LEDGER_DDL = (
    "CREATE DATABASE IF NOT EXISTS meta",
    """CREATE TABLE IF NOT EXISTS meta.schema_migrations
    (
        version     UInt32,
        name        String,
        checksum    String,
        applied_at  DateTime64(3, 'UTC') DEFAULT now64(3)
    )
    ENGINE = ReplacingMergeTree
    ORDER BY version""",
)


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def statements(self) -> list[str]:
        return [part.strip() for part in _STATEMENT_END.split(self.sql) if _strip_comments(part).strip()]


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files(__package__).joinpath("sql").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number: {versions}")
    return found


def applied_checksums(client: Client) -> dict[int, str]:
    for statement in LEDGER_DDL:
        client.command(statement)
    rows = client.query("SELECT version, checksum FROM meta.schema_migrations FINAL").result_rows
    return {version: checksum for version, checksum in rows}


def migrate(client: Client) -> list[Migration]:
    """Apply the migrations not yet applied, in order; return them. Idempotent."""
    applied = applied_checksums(client)
    done = []
    for migration in available_migrations():
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name}.sql changed after it was applied; "
                    "add a new migration instead of editing an applied one"
                )
            continue
        for statement in migration.statements:
            client.command(statement)
        client.insert(
            "meta.schema_migrations",
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
        done.append(migration)
    return done
