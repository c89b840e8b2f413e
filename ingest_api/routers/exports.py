"""Exports of a project's signal events: ask for one, follow it, download it through an expiring link.

- ``POST /v1/projects/{project_id}/exports`` (secret key, or a member; see ``ingest_api.auth``) records a request; the Dagster sensor
  ``export_requests_sensor`` picks it up and writes the file (202, status ``pending``).
- ``GET /v1/projects/{project_id}/exports[/{export_id}]`` shows requests; a finished one carries a
  ``download_url`` valid for ``FEELBACK_EXPORT_LINK_TTL_SECONDS`` (never past the file's expiry).
- ``GET /v1/exports/{export_id}/download?expires=...&signature=...`` serves the file to whoever holds
  the link: the signature is an HMAC over (export id, project, expiry) with a key derived from the
  ingest secret, so links cannot be made up or stretched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path as FilePath
from typing import Annotated

import fsspec
from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from feelback.control_plane.models import ContentSet, ExportFormat, ExportRequest, JobStatus, Project
from feelback.domain import CONTENT_SET_KEY_PATTERN
from feelback.settings import Settings
from ingest_api.auth.permissions import authorize, current_project
from ingest_api.dependencies import DbSession, get_app_settings
from ingest_api.errors import ApiError, forbidden, invalid, not_found
from ingest_api.privacy import load_or_create_secret
from ingest_api.schema_types import AwareInstant, RowId, UnixSeconds

router = APIRouter(tags=["exports"])
project_exports = APIRouter(tags=["exports"], dependencies=[Depends(authorize)])  # included in router at the end

CurrentProject = Annotated[Project, Depends(current_project)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
MEDIA_TYPES = {ExportFormat.csv: "text/csv", ExportFormat.jsonl: "application/x-ndjson", ExportFormat.parquet: "application/vnd.apache.parquet"}
CHUNK_BYTES = 1024 * 1024
SIGNATURE_PATTERN = r"^[0-9a-f]{64}$"


class ExportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    format: ExportFormat
    start: AwareInstant | None = Field(None, alias="from", description="Events received at or after this instant")
    end: AwareInstant | None = Field(None, alias="to", description="Events received before this instant")
    content_set: Annotated[str, Field(pattern=CONTENT_SET_KEY_PATTERN, description="Key of a content set")] | None = None

    @model_validator(mode="after")
    def _range(self) -> ExportCreate:
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"from ({self.start.isoformat()}) must be before to ({self.end.isoformat()})")
        return self


class ExportOut(BaseModel):
    id: int
    format: ExportFormat
    filters: dict
    status: JobStatus
    created_at: dt.datetime
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None
    error: str | None
    download_url: str | None = None
    download_url_expires_at: dt.datetime | None = None


def _link_key(settings: Settings) -> bytes:
    secret = settings.ingest_secret.encode() or load_or_create_secret(settings.home / "ingest" / "secret")
    return hmac.new(secret, b"feelback export download links", hashlib.sha256).digest()


def sign(settings: Settings, export_id: int, project_id: str, expires: int) -> str:
    message = f"{export_id}:{project_id}:{expires}".encode()
    return hmac.new(_link_key(settings), message, hashlib.sha256).hexdigest()


def _out(request: Request, settings: Settings, export: ExportRequest) -> ExportOut:
    out = ExportOut(
        id=export.id,
        format=export.format,
        filters=export.filters or {},
        status=export.status,
        created_at=export.created_at,
        finished_at=export.finished_at,
        expires_at=export.expires_at,
        error=export.error,
    )
    if export.status is JobStatus.done and export.path and export.expires_at:
        now = dt.datetime.now(dt.UTC)
        until = min(now + dt.timedelta(seconds=settings.export_link_ttl_seconds), export.expires_at)
        if until > now:
            expires = int(until.timestamp())
            url = request.url_for("download_export", export_id=str(export.id)).include_query_params(
                expires=expires, signature=sign(settings, export.id, export.project_id, expires)
            )
            out.download_url = str(url)
            out.download_url_expires_at = dt.datetime.fromtimestamp(expires, dt.UTC)
    return out


def _load(session, project: Project, export_id: int) -> ExportRequest:
    export = session.get(ExportRequest, export_id)
    if export is None or export.project_id != project.id:
        raise not_found(f"no export {export_id} in project {project.id!r}")
    return export


@project_exports.post("/v1/projects/{project_id}/exports", status_code=status.HTTP_202_ACCEPTED)
def request_export(body: ExportCreate, project: CurrentProject, session: DbSession, settings: AppSettings, request: Request) -> ExportOut:
    if body.content_set is not None:
        known = session.scalar(select(ContentSet.id).where(ContentSet.project_id == project.id, ContentSet.key == body.content_set))
        if known is None:
            raise invalid(f"content_set: no content set {body.content_set!r} in project {project.id!r}")
    filters = {
        "from": body.start.astimezone(dt.UTC).isoformat() if body.start else None,
        "to": body.end.astimezone(dt.UTC).isoformat() if body.end else None,
        "content_set": body.content_set,
    }
    export = ExportRequest(project_id=project.id, format=body.format, filters={k: v for k, v in filters.items() if v is not None})
    session.add(export)
    session.commit()
    return _out(request, settings, export)


@project_exports.get("/v1/projects/{project_id}/exports")
def list_exports(project: CurrentProject, session: DbSession, settings: AppSettings, request: Request) -> list[ExportOut]:
    exports = session.scalars(select(ExportRequest).where(ExportRequest.project_id == project.id).order_by(ExportRequest.id.desc()))
    return [_out(request, settings, export) for export in exports]


@project_exports.get("/v1/projects/{project_id}/exports/{export_id}")
def get_export(export_id: RowId, project: CurrentProject, session: DbSession, settings: AppSettings, request: Request) -> ExportOut:
    return _out(request, settings, _load(session, project, export_id))


@router.get("/v1/exports/{export_id}/download", name="download_export")
def download_export(
    export_id: RowId,
    session: DbSession,
    settings: AppSettings,
    expires: Annotated[UnixSeconds, Query(description="Unix time the link stops working")],
    signature: Annotated[str, Query(pattern=SIGNATURE_PATTERN, description="64 hexadecimal digits")],
):
    export = session.get(ExportRequest, export_id)
    expected = sign(settings, export_id, export.project_id if export else "", expires)
    if export is None or not hmac.compare_digest(signature, expected):
        raise forbidden("this download link is not valid", code="invalid_link")
    if expires < dt.datetime.now(dt.UTC).timestamp():
        raise ApiError(410, "link_expired", f"this download link expired at {dt.datetime.fromtimestamp(expires, dt.UTC):%Y-%m-%d %H:%M} UTC; ask the API for a new one")
    if export.status is not JobStatus.done or not export.path:
        raise ApiError(410, "export_gone", f"export {export_id} is {export.status.value}; its file is not available")
    suffix = "".join(FilePath(export.path).suffixes[-2:]) if export.path.endswith(".gz") else FilePath(export.path).suffix
    filename = f"{export.project_id}-export-{export.id}{suffix}"
    media_type = "application/gzip" if suffix.endswith(".gz") else MEDIA_TYPES[export.format]
    filesystem, path = fsspec.core.url_to_fs(export.path)
    if not filesystem.exists(path):
        raise ApiError(410, "export_gone", f"the file of export {export_id} was removed")
    if "file" in (filesystem.protocol if isinstance(filesystem.protocol, tuple) else (filesystem.protocol,)):
        return FileResponse(path, media_type=media_type, filename=filename)

    def chunks():
        with filesystem.open(path, "rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk

    return StreamingResponse(chunks(), media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})



router.include_router(project_exports)
