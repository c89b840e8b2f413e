"""Erasure requests: every signal of one visitor, or of one content, removed from the warehouse.

- ``GET .../erasures/preview?visitor_id=`` or ``?content_key=&content_set=`` says what a request would
  remove now (signals and raw events), without asking for anything;
- ``POST .../erasures`` records the request (202, ``pending``) with the same counts; the pipelines'
  retention job carries it out (``pipelines/defs/retention/erasure.py``) and sets its status;
- ``GET .../erasures`` lists the project's requests, newest first.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from clickhouse_connect.driver.client import Client
from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from feelback.control_plane.models import ErasureRequest, JobStatus, Project
from ingest_api.auth.permissions import authorize, current_project
from ingest_api.dependencies import DbSession, load_content_set
from ingest_api.errors import invalid, validation_message
from ingest_api.routers.management import Warehouse

router = APIRouter(prefix="/v1/projects/{project_id}/erasures", tags=["privacy"], dependencies=[Depends(authorize)])

CurrentProject = Annotated[Project, Depends(current_project)]
VisitorId = Annotated[str, Field(min_length=1, max_length=200)]
ContentKey = Annotated[str, Field(min_length=1, max_length=2048)]
SetKey = Annotated[str, Field(min_length=1, max_length=40)]


class ErasureSubject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visitor_id: VisitorId | None = Field(None, description="Erase every signal of this visitor")
    content_key: ContentKey | None = Field(None, description="Erase every signal about this content")
    content_set: SetKey | None = Field(None, description="With content_key: only in this content set")

    @model_validator(mode="after")
    def _one_subject(self) -> ErasureSubject:
        if (self.visitor_id is None) == (self.content_key is None):
            raise ValueError("give either visitor_id or content_key (with content_set to limit it to one set)")
        if self.content_set is not None and self.content_key is None:
            raise ValueError("content_set goes with content_key")
        return self


class ErasureImpact(BaseModel):
    signals: int = Field(description="Signals the request removes, as of now")
    events: int = Field(description="Raw events (creates, edits, revokes) it removes, as of now")


class ErasureOut(BaseModel):
    id: int
    visitor_id: str | None
    content_set: str | None
    content_key: str | None
    status: JobStatus
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    impact: ErasureImpact | None = Field(None, description="What it removes; given when the request is made")


def impact(client: Client, project_id: str, subject: ErasureSubject) -> ErasureImpact:
    conditions = ["project_id = {project_id:String}"]
    if subject.visitor_id is not None:
        conditions.append("visitor_id = {visitor_id:String}")
    else:
        conditions.append("content_key = {content_key:String}")
        if subject.content_set is not None:
            conditions.append("content_set = {content_set:String}")
    result = client.query(
        f"SELECT uniqExact(signal_id), count() FROM raw.feedback_events WHERE {' AND '.join(conditions)}",
        parameters={"project_id": project_id, **subject.model_dump(exclude_none=True)},
    )
    signals, events = result.result_rows[0]
    return ErasureImpact(signals=int(signals), events=int(events))


def _out(request: ErasureRequest, measured: ErasureImpact | None = None) -> ErasureOut:
    return ErasureOut(
        id=request.id, visitor_id=request.visitor_id, content_set=request.content_set, content_key=request.content_key,
        status=request.status, created_at=request.created_at, finished_at=request.finished_at, error=request.error,
        impact=measured,
    )  # fmt: skip


@router.get("", summary="Erasure requests of the project, newest first")
def list_erasures(project: CurrentProject, session: DbSession) -> list[ErasureOut]:
    requests = session.scalars(
        select(ErasureRequest).where(ErasureRequest.project_id == project.id).order_by(ErasureRequest.id.desc())
    )
    return [_out(request) for request in requests]


@router.get("/preview", summary="What an erasure request would remove now")
def preview_erasure(
    project: CurrentProject,
    session: DbSession,
    warehouse: Warehouse,
    visitor_id: Annotated[str | None, Query(max_length=200)] = None,
    content_key: Annotated[str | None, Query(max_length=2048)] = None,
    content_set: Annotated[str | None, Query(max_length=40)] = None,
) -> ErasureImpact:
    subject = _subject(session, project, visitor_id=visitor_id, content_key=content_key, content_set=content_set)
    return warehouse(impact, project.id, subject)


@router.post("", status_code=status.HTTP_202_ACCEPTED, summary="Ask for an erasure (carried out by the pipelines)")
def request_erasure(body: ErasureSubject, project: CurrentProject, session: DbSession, warehouse: Warehouse) -> ErasureOut:
    _subject(session, project, **body.model_dump())
    measured = warehouse(impact, project.id, body)
    request = ErasureRequest(project_id=project.id, **body.model_dump())
    session.add(request)
    session.commit()
    return _out(request, measured)


def _subject(session: Session, project: Project, **fields: str | None) -> ErasureSubject:
    """The subject of a request; 422 naming the rule it breaks, 404 for an unknown content set."""
    try:
        subject = ErasureSubject(**fields)
    except ValidationError as exc:
        raise invalid(validation_message(exc.errors())) from None
    if subject.content_set is not None:
        load_content_set(session, project.id, subject.content_set)  # 404 naming it when unknown
    return subject
