"""Export requests in the control-plane DB: the ones waiting, and their progress."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ExportFormat, ExportRequest, JobStatus
from feelback.settings import Settings


@dataclass(frozen=True)
class ExportJob:
    request_id: int
    project_id: str
    format: ExportFormat
    filters: dict
    status: JobStatus
    path: str | None


def _job(row: ExportRequest) -> ExportJob:
    return ExportJob(row.id, row.project_id, row.format, dict(row.filters or {}), row.status, row.path)


def pending_exports(settings: Settings) -> list[ExportJob]:
    with session_scope(settings) as session:
        rows = session.scalars(select(ExportRequest).where(ExportRequest.status == JobStatus.pending).order_by(ExportRequest.id))
        return [_job(row) for row in rows]


def load_export(settings: Settings, request_id: int) -> ExportJob | None:
    with session_scope(settings) as session:
        row = session.get(ExportRequest, request_id)
        return None if row is None else _job(row)


def mark_running(settings: Settings, request_id: int) -> None:
    _set(settings, request_id, status=JobStatus.running, error=None)


def mark_done(settings: Settings, request_id: int, path: str, keep: dt.timedelta) -> None:
    now = dt.datetime.now(dt.UTC)
    _set(settings, request_id, status=JobStatus.done, path=path, finished_at=now, expires_at=now + keep, error=None)


def mark_failed(settings: Settings, request_id: int, error: str) -> None:
    _set(settings, request_id, status=JobStatus.failed, finished_at=dt.datetime.now(dt.UTC), error=error[:2000])


def _set(settings: Settings, request_id: int, **values) -> None:
    with session_scope(settings) as session:
        session.execute(update(ExportRequest).where(ExportRequest.id == request_id).values(**values))
