"""What runs leave behind: dbt's intermediate tables of failed builds, expired export files and the
visitor salts of past days.

Each finder returns what it would remove; ``remove_*`` removes it. Anything younger than
``STALE_AFTER`` is left alone, since a build or export may still be using it.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import fsspec
from clickhouse_connect.driver.client import Client
from sqlalchemy import select, update

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ExportRequest, JobStatus
from feelback.settings import Settings
from pipelines.defs.retention.events import quote_table

STALE_AFTER = dt.timedelta(days=1)
# dbt-clickhouse builds into <model>__dbt_tmp / __dbt_new_data_<id> and keeps __dbt_backup while swapping.
DBT_LEFTOVER = re.compile(r"__dbt_(tmp|backup|new_data)")
SALT_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.salt$")


def stale_dbt_tables(client: Client, now: dt.datetime) -> list[str]:
    rows = client.query(
        """
        SELECT concat(database, '.', name)
        FROM system.tables
        WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema')
          AND match(name, {pattern:String})
          AND NOT is_temporary
          AND metadata_modification_time < {before:DateTime}
        ORDER BY 1
        """,
        parameters={"pattern": DBT_LEFTOVER.pattern, "before": (now - STALE_AFTER).replace(tzinfo=None)},
    ).result_rows
    return [name for (name,) in rows]


def remove_tables(client: Client, tables: list[str]) -> None:
    for table in tables:
        client.command(f"DROP TABLE IF EXISTS {quote_table(table)} SYNC")


@dataclass(frozen=True)
class ExpiredExport:
    request_id: int
    project_id: str
    path: str | None


def expired_exports(settings: Settings, now: dt.datetime) -> list[ExpiredExport]:
    with session_scope(settings) as session:
        rows = session.scalars(
            select(ExportRequest).where(ExportRequest.status == JobStatus.done, ExportRequest.expires_at < now).order_by(ExportRequest.id)
        )
        return [ExpiredExport(r.id, r.project_id, r.path) for r in rows]


def remove_exports(settings: Settings, exports: list[ExpiredExport]) -> None:
    for export in exports:
        if export.path:
            filesystem, path = fsspec.core.url_to_fs(export.path)
            if filesystem.exists(path):
                filesystem.rm(path, recursive=True)
        with session_scope(settings) as session:
            session.execute(
                update(ExportRequest).where(ExportRequest.id == export.request_id).values(status=JobStatus.expired, path=None)
            )


def old_salts(settings: Settings, now: dt.datetime) -> list[Path]:
    """Salt files of days before today (UTC), and half-written ones older than a day."""
    folder = settings.home / "ingest" / "salts"
    if not folder.is_dir():
        return []
    today = now.astimezone(dt.UTC).date().isoformat()
    found = []
    for path in sorted(folder.iterdir()):
        day = SALT_FILE.match(path.name)
        if day and day.group(1) < today:
            found.append(path)
        elif not day and path.name.startswith(".") and _older_than(path, now - STALE_AFTER):
            found.append(path)
    return found


def abandoned_export_folders(settings: Settings, now: dt.datetime) -> list[Path]:
    """dlt working folders of export runs that did not finish (local exports only)."""
    folder = settings.home / "dlt" / "exports"
    if not folder.is_dir():
        return []
    return [path for path in sorted(folder.iterdir()) if _older_than(path, now - STALE_AFTER)]


def remove_paths(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _older_than(path: Path, moment: dt.datetime) -> bool:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) < moment
    except FileNotFoundError:
        return False
