"""``GET /v1/projects/{project_id}/recaps/preview?period=weekly|monthly``: the recap of the last
complete week or month, as its subscribers got (or will get) it by e-mail.

Made by the same core code as the e-mails (``feelback.recaps``), from the last build's marts, for the
newest period that ended before now in the project's time zone. Before the first warehouse build
there are no marts: the preview then says what an empty recap says, and ``built`` is false.
The HTML is a whole document meant for a sandboxed iframe (``srcdoc``, no scripts): visitors' text
in it is escaped, it loads nothing from the network, and its chart is a ``data:`` URL.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfoNotFoundError

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from feelback.control_plane.models import Project, RecapFrequency
from feelback.recaps.periods import last_complete_period
from feelback.recaps.preview import empty_report, last_report, render_preview
from feelback.recaps.report import RecapReport
from ingest_api.auth.permissions import Authorized, authorize, current_project
from ingest_api.errors import conflict
from ingest_api.routers.management import Warehouse
from ingest_api.stats.queries import _missing_relation

router = APIRouter(prefix="/v1/projects/{project_id}/recaps", tags=["recaps"], dependencies=[Depends(authorize)])

CurrentProject = Annotated[Project, Depends(current_project)]
# The footer names the address a recap was sent to; a caller without one (a key) sees this.
NO_RECIPIENT = "you"


class RecapPreviewOut(BaseModel):
    period: RecapFrequency
    start: dt.date = Field(description="First day of the period, in the project's time zone")
    end: dt.date = Field(description="Last day of the period, in the project's time zone")
    label: str = Field(description="The period as the recap names it, e.g. 'Week 9, 2025 (24 Feb – 02 Mar)'")
    timezone: str
    signals: int = Field(description="Signals in the period, as the recap counts them")
    previous_signals: int = Field(description="Signals in the period before, for the change the recap shows")
    built: bool = Field(description="False before the warehouse's first build: the recap has no numbers yet")
    subject: str = Field(description="The e-mail's subject")
    html: str = Field(
        description="The e-mail's HTML document (inline styles, chart as a data: URL, a CSP that loads and runs "
        "nothing); visitors' text in it is escaped. Show it in an iframe with srcdoc and sandbox (no allow-scripts)."
    )
    text: str = Field(description="The e-mail's plain-text alternative")


def _report(client: Client, project: Project, kind: RecapFrequency, now: dt.datetime) -> tuple[RecapReport, bool]:
    timezone = project.timezone or "UTC"
    try:
        return last_report(client, project.id, project.name, timezone, kind, now), True
    except ClickHouseError as exc:
        if not _missing_relation(exc):
            raise
    return empty_report(project.id, project.name, timezone, last_complete_period(kind, timezone, now)), False


@router.get("/preview", summary="The recap of the last complete week or month, as its e-mail shows it")
def preview_recap(
    project: CurrentProject,
    access: Authorized,
    warehouse: Warehouse,
    period: Annotated[RecapFrequency, Query(description="weekly: the last complete ISO week; monthly: the last calendar month")] = RecapFrequency.weekly,
) -> RecapPreviewOut:
    try:
        report, built = warehouse(_report, project, period, dt.datetime.now(dt.UTC))
    except ZoneInfoNotFoundError:
        raise conflict(f"the project's time zone {project.timezone!r} is not known to this server; set another in its settings") from None
    recipient = access.user.email if access.user is not None else NO_RECIPIENT
    shown = render_preview(report, recipient)
    return RecapPreviewOut(
        period=period, start=report.period.start, end=report.period.end - dt.timedelta(days=1), label=report.period.label,
        timezone=report.timezone, signals=report.signals, previous_signals=report.previous_signals, built=built,
        subject=shown.subject, html=shown.html, text=shown.text,
    )  # fmt: skip
