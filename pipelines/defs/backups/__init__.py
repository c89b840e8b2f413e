"""Backups of the warehouse (ClickHouse BACKUP, incremental on the last full one) and the control-plane DB.

Modules: ``catalog`` (the backups folder and manifests), ``warehouse`` (BACKUP / RESTORE statements),
``control_plane`` (SQLite online backup, pg_dump), ``backup`` (``take_backup`` and
``restore_backup``, which ``feelback restore`` calls), ``assets`` (the daily Dagster job).
"""

from pipelines.defs.backups.assets import backup_job, backup_schedule
from pipelines.defs.backups.backup import RestoreSummary, restore_backup, take_backup

assets: list = []
jobs = [backup_job]
schedules = [backup_schedule]
sensors: list = []

__all__ = ["RestoreSummary", "restore_backup", "take_backup", "assets", "jobs", "schedules", "sensors"]
