"""The daily backup job: ClickHouse BACKUP (full weekly, incremental on it daily) and the control-plane DB."""

import datetime as dt

import dagster as dg

from feelback.settings import get_settings
from pipelines.defs.backups.backup import take_backup
from warehouse.client import get_client


class BackupConfig(dg.Config):
    kind: str = "auto"
    """auto (full when the last full backup is older than FEELBACK_BACKUP_FULL_EVERY_DAYS), full, or incremental."""


def _size(folder) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


@dg.op(description="Backs up every Feelback ClickHouse database and the control-plane DB.")
def back_up_everything(context: dg.OpExecutionContext, config: BackupConfig) -> None:
    if config.kind not in ("auto", "full", "incremental"):
        raise dg.Failure(f"kind {config.kind!r} is not one of auto, full, incremental", allow_retries=False)
    settings = get_settings()
    client = get_client(settings, send_receive_timeout=3600)
    try:
        full = {"auto": None, "full": True, "incremental": False}[config.kind]
        manifest = take_backup(settings, client, dt.datetime.now(dt.UTC), full=full)
    finally:
        client.close()
    folder = settings.backup_dir / manifest.id
    context.add_output_metadata(
        {
            "backup_id": manifest.id,
            "kind": manifest.kind,
            "base": manifest.base or "",
            "path": dg.MetadataValue.path(str(folder)),
            "bytes": _size(folder),
            "databases": dg.MetadataValue.json(manifest.databases),
            "warehouse_rows": dg.MetadataValue.json(manifest.warehouse_counts),
            "control_plane_rows": dg.MetadataValue.json(manifest.control_plane_counts),
        }
    )


@dg.job(
    op_retry_policy=dg.RetryPolicy(max_retries=2, delay=300, backoff=dg.Backoff.EXPONENTIAL),
    tags={"feelback/maintenance": "backup"},
    description="Backup of the ClickHouse databases and the control-plane DB to FEELBACK_BACKUP_URL.",
)
def backup_job():
    back_up_everything()


backup_schedule = dg.ScheduleDefinition(
    name="backup_schedule",
    job=backup_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily backup at 02:00 UTC.",
)
