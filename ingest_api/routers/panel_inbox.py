"""``POST /v1/projects/{project_id}/signals/triage``: the triage state of many messages at once
(the panel inbox's bulk actions), all or none: an unknown id answers 404 and a signal that is not a
message 409, naming them, and nothing changes. One at a time stays ``PUT .../signals/{id}/triage``."""

from __future__ import annotations

import uuid
from typing import Annotated

from clickhouse_connect.driver.client import Client
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from feelback.control_plane.models import Project, SignalTriage, TriageState, utcnow
from feelback.domain import SignalType
from ingest_api.auth.permissions import authorize, current_project
from ingest_api.dependencies import DbSession
from ingest_api.errors import conflict, not_found
from ingest_api.management_schemas import TriageOut
from ingest_api.routers.management import Warehouse

router = APIRouter(prefix="/v1/projects/{project_id}", tags=["panel"], dependencies=[Depends(authorize)])

MAX_BULK = 500


class BulkTriage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signal_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_BULK, description="Message signals of the project")]
    state: TriageState


class BulkTriageOut(BaseModel):
    updated: list[TriageOut]


def signal_types(client: Client, project_id: str, signal_ids: list[str]) -> dict[str, str]:
    """The type of each of ``signal_ids`` the project has."""
    result = client.query(
        "SELECT toString(signal_id), any(signal_type) FROM raw.feedback_events"
        " WHERE project_id = {project_id:String} AND signal_id IN {ids:Array(UUID)} GROUP BY signal_id",
        parameters={"project_id": project_id, "ids": signal_ids},
    )
    return {signal_id: str(signal_type) for signal_id, signal_type in result.result_rows}


def _listed(ids: list[str]) -> str:
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


@router.post(
    "/signals/triage",
    summary="Set the triage state of many messages",
    responses={404: {"description": "An id is no signal of the project"}, 409: {"description": "A signal is not a message"}},
)
def bulk_triage(
    body: BulkTriage, project: Annotated[Project, Depends(current_project)], session: DbSession, warehouse: Warehouse
) -> BulkTriageOut:
    ids = list(dict.fromkeys(str(signal_id) for signal_id in body.signal_ids))
    types = warehouse(signal_types, project.id, ids)
    unknown = [signal_id for signal_id in ids if signal_id not in types]
    if unknown:
        raise not_found(f"no signal {_listed(unknown)} in project {project.id!r}")
    others = [signal_id for signal_id in ids if types[signal_id] != SignalType.message]
    if others:
        raise conflict(f"only message signals have a triage state; not {_listed(others)}")
    existing = {
        triage.signal_id: triage
        for triage in session.scalars(select(SignalTriage).where(SignalTriage.project_id == project.id, SignalTriage.signal_id.in_(ids)))
    }
    now = utcnow()
    for signal_id in ids:
        triage = existing.get(signal_id)
        if triage is None:
            existing[signal_id] = triage = SignalTriage(project_id=project.id, signal_id=signal_id, state=body.state, updated_at=now)
            session.add(triage)
        else:
            triage.state, triage.updated_at = body.state, now
    session.commit()
    return BulkTriageOut(updated=[TriageOut(signal_id=i, state=existing[i].state, updated_at=existing[i].updated_at) for i in ids])
