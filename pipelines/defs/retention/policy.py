"""Each project's retention cutoff: events received before it are expired.

The cutoff is ``as_of - retention_days`` to the millisecond (the precision of ``received_at``); an
event received exactly at the cutoff is kept. Projects that have events but no control-plane record
any more (deleted projects) get the default retention, so nothing vanishes sooner than it would have.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import Project
from feelback.domain import DEFAULT_RETENTION_DAYS
from feelback.settings import Settings


@dataclass(frozen=True)
class Cutoffs:
    as_of: dt.datetime
    by_project: dict[str, dt.datetime]
    default: dt.datetime

    def of(self, project_id: str) -> dt.datetime:
        return self.by_project.get(project_id, self.default)


def _truncate_ms(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def retention_cutoffs(settings: Settings, as_of: dt.datetime) -> Cutoffs:
    as_of = _truncate_ms(as_of.astimezone(dt.UTC))
    with session_scope(settings) as session:
        rows = session.execute(select(Project.id, Project.retention_days)).all()
    return Cutoffs(
        as_of=as_of,
        by_project={project_id: as_of - dt.timedelta(days=days) for project_id, days in rows},
        default=as_of - dt.timedelta(days=DEFAULT_RETENTION_DAYS),
    )
