import subprocess
import sys

import pytest

from warehouse.migrations import MigrationError, available_migrations, migrate


def test_raw_events_table_is_partitioned_by_month_and_ordered_for_stats_queries(ch):
    partition_key, sorting_key = ch.query(
        "SELECT partition_key, sorting_key FROM system.tables WHERE database = 'raw' AND name = 'feedback_events'"
    ).result_rows[0]
    assert partition_key == "toYYYYMM(received_at)"
    assert sorting_key == "project_id, content_set, content_key, received_at"


def test_migrate_twice_changes_nothing(ch):
    assert migrate(ch) == []
    versions = ch.query("SELECT version FROM meta.schema_migrations FINAL ORDER BY version").result_columns[0]
    assert versions == [m.version for m in available_migrations()]


def test_cli_reports_what_it_did(clickhouse_server):
    result = subprocess.run([sys.executable, "-m", "feelback", "migrate"], capture_output=True, text=True, env=clickhouse_server.env())
    assert result.returncode == 0, result.stderr
    assert "warehouse: up to date" in result.stdout


def test_an_edited_applied_migration_is_refused(ch):
    first = available_migrations()[0]
    ch.insert("meta.schema_migrations", [[first.version, first.name, "0" * 64]], column_names=["version", "name", "checksum"])
    try:
        with pytest.raises(MigrationError, match="changed after it was applied"):
            migrate(ch)
    finally:
        ch.insert("meta.schema_migrations", [[first.version, first.name, first.checksum]], column_names=["version", "name", "checksum"])
    assert migrate(ch) == []
