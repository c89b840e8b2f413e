"""Taking a backup of the warehouse and the control-plane DB, and bringing one back.

``take_backup(settings, client, now, full=None)`` writes a new backup (full when asked, when there is
none yet, or when the last full one is older than ``FEELBACK_BACKUP_FULL_EVERY_DAYS``; incremental
on the last full one otherwise). ``restore_backup(settings, backup_id_or_path)`` replaces the
warehouse databases and the control-plane DB with a backup's state and checks every table's row
count against the manifest. A backup is listed only once its manifest says it is complete, so a
failed run leaves nothing a restore would pick up.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from clickhouse_connect.driver.client import Client

from feelback.settings import Settings
from pipelines.defs.backups import control_plane, warehouse
from pipelines.defs.backups.catalog import Manifest, last_full, new_backup_id, resolve

CLICKHOUSE_FOLDER = "clickhouse"


def _wants_full(settings: Settings, now: dt.datetime, full: bool | None) -> Manifest | None:
    """The base for an incremental backup, or None for a full one."""
    if full:
        return None
    base = last_full(settings.backup_dir)
    if base is None:
        return None
    age = now - dt.datetime.fromisoformat(base.created_at)
    if full is None and age >= dt.timedelta(days=settings.backup_full_every_days):
        return None
    return base


def take_backup(settings: Settings, client: Client, now: dt.datetime | None = None, full: bool | None = None) -> Manifest:
    now = now or dt.datetime.now(dt.UTC)
    base = _wants_full(settings, now, full)
    folder = settings.backup_dir / new_backup_id(now)
    if folder.exists():
        shutil.rmtree(folder)  # an unfinished attempt of this same backup
    folder.mkdir(parents=True)
    databases = warehouse.databases_to_back_up(client)
    manifest = Manifest(
        id=folder.name,
        kind="full" if base is None else "incremental",
        base=None if base is None else base.id,
        created_at=now.isoformat(),
        databases=databases,
        warehouse_counts=warehouse.table_counts(client, databases),
        control_plane_file="",
        control_plane_dialect=control_plane.dialect(settings),
        control_plane_counts=control_plane.table_counts(settings),
    )
    manifest.save(folder)
    try:
        base_path = None if base is None else settings.backup_dir / base.id / CLICKHOUSE_FOLDER
        warehouse.back_up(client, databases, folder / CLICKHOUSE_FOLDER, base_path)
        manifest.control_plane_file = control_plane.back_up(settings, folder)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    manifest.complete = True
    manifest.save(folder)
    return manifest


@dataclass
class RestoreSummary:
    backup_id: str
    kind: str
    databases: list[str]
    warehouse_counts: dict[str, int] = field(default_factory=dict)
    control_plane_counts: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def lines(self) -> list[str]:
        """What a CLI prints."""
        lines = [f"restored {self.kind} backup {self.backup_id}: databases {', '.join(self.databases)}"]
        lines += [f"  {name}: {rows} rows" for name, rows in self.warehouse_counts.items()]
        lines += [f"  control plane {name}: {rows} rows" for name, rows in self.control_plane_counts.items()]
        lines += [f"  MISMATCH {problem}" for problem in self.mismatches]
        return lines


def restore_backup(settings: Settings, backup_id_or_path: str | Path, client: Client | None = None) -> RestoreSummary:
    """Replace the warehouse databases and the control-plane DB with the backup's state.

    ``backup_id_or_path``: a backup id under ``settings.backup_dir``, ``latest``, or a backup folder.
    Databases not in the backup are left alone. Raises FileNotFoundError for an unknown backup.
    """
    folder = resolve(settings.backup_dir, backup_id_or_path)
    manifest = Manifest.load(folder)
    if not manifest.complete:
        raise FileNotFoundError(f"backup {manifest.id} did not finish; it cannot be restored")
    if manifest.base and not (folder.parent / manifest.base / CLICKHOUSE_FOLDER).is_dir():
        raise FileNotFoundError(f"backup {manifest.id} is incremental on {manifest.base}, which is missing from {folder.parent}")
    own_client = client is None
    if client is None:
        from warehouse.client import get_client

        client = get_client(settings)
    try:
        warehouse.restore(client, manifest.databases, folder / CLICKHOUSE_FOLDER)
        control_plane.restore(settings, folder, manifest.control_plane_file)
        summary = RestoreSummary(
            backup_id=manifest.id,
            kind=manifest.kind,
            databases=manifest.databases,
            warehouse_counts=warehouse.table_counts(client, manifest.databases),
            control_plane_counts=control_plane.table_counts(settings),
        )
    finally:
        if own_client:
            client.close()
    for expected, found, where in (
        (manifest.warehouse_counts, summary.warehouse_counts, "warehouse"),
        (manifest.control_plane_counts, summary.control_plane_counts, "control plane"),
    ):
        for name, rows in expected.items():
            if found.get(name) != rows:
                summary.mismatches.append(f"{where} {name}: {found.get(name)} rows, backup had {rows}")
    return summary
