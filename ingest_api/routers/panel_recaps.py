"""``GET /v1/projects/{project_id}/recaps/preview?period=weekly|monthly``: the recap of the last
complete week or month, as its subscribers got (or will get) it by e-mail.

Made by the same core code as the e-mails (``feelback.recaps``), from the last build's marts, for the
newest period that ended before now in the project's time zone. Before the first warehouse build
there are no marts: the preview then says what an empty recap says, and ``built`` is false.
The HTML is a whole document (visitors' text in it escaped, nothing loaded from the network, its chart
a ``data:`` URL), in the answer and at ``html_url``: ``GET /v1/recaps/preview.html?link=...`` serves it
alone with a policy of its own (inline styles, ``data:`` images, nothing else; sandboxed) for the
panel's ``<iframe sandbox src>``. A ``srcdoc`` frame would inherit the panel's strict policy, which
refuses the e-mail's inline styles. The link is signed (itsdangerous), names the project, the period
and the person who asked, and works for ``PREVIEW_LINK_TTL`` without credentials: a frame cannot send
the bearer key a panel signed in with a key uses.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfoNotFoundError

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from feelback.control_plane.account_models import User
from feelback.control_plane.links import BadLink, LinkPurpose, LinkSigner, auth_secret
from feelback.control_plane.models import Project, RecapFrequency
from feelback.recaps.periods import last_complete_period
from feelback.recaps.preview import empty_report, last_report, render_preview
from feelback.recaps.report import RecapReport
from ingest_api.auth.permissions import Authorized, authorize, current_project
from ingest_api.dependencies import DbSession, get_app_settings
from ingest_api.errors import ApiError, conflict, forbidden, not_found
from ingest_api.routers.management import Warehouse
from ingest_api.stats.queries import _missing_relation

router = APIRouter(tags=["recaps"])
project_recaps = APIRouter(prefix="/v1/projects/{project_id}/recaps", tags=["recaps"], dependencies=[Depends(authorize)])  # in router

CurrentProject = Annotated[Project, Depends(current_project)]
# The footer names the address a recap was sent to; a caller without one (a key) sees this.
NO_RECIPIENT = "you"
PREVIEW_LINK_TTL = dt.timedelta(minutes=10)
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox"
PREVIEW_HEADERS = {
    "Content-Security-Policy": PREVIEW_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}


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
        "nothing); visitors' text in it is escaped. To show it, load html_url in a sandboxed iframe (a srcdoc frame "
        "inherits the embedding page's Content-Security-Policy, which may refuse the inline styles)."
    )
    html_url: str = Field(
        description="Path on this API of the same e-mail's HTML alone, served with a policy that runs and loads nothing "
        "(inline styles and data: images only), for an iframe's src; works without credentials for 10 minutes"
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


def _built_report(warehouse: Warehouse, project: Project, period: RecapFrequency) -> tuple[RecapReport, bool]:
    try:
        return warehouse(_report, project, period, dt.datetime.now(dt.UTC))
    except ZoneInfoNotFoundError:
        raise conflict(f"the project's time zone {project.timezone!r} is not known to this server; set another in its settings") from None


def _signer(request: Request) -> LinkSigner:
    return LinkSigner(auth_secret(get_app_settings(request)))


@project_recaps.get("/preview", summary="The recap of the last complete week or month, as its e-mail shows it")
def preview_recap(
    project: CurrentProject,
    access: Authorized,
    warehouse: Warehouse,
    request: Request,
    period: Annotated[RecapFrequency, Query(description="weekly: the last complete ISO week; monthly: the last calendar month")] = RecapFrequency.weekly,
) -> RecapPreviewOut:
    report, built = _built_report(warehouse, project, period)
    recipient = access.user.email if access.user is not None else NO_RECIPIENT
    shown = render_preview(report, recipient)
    link = _signer(request).sign(LinkPurpose.recap_preview, {"project": project.id, "period": period.value, "user": access.user.id if access.user else None})
    html_url = request.app.url_path_for("recap_preview_html") + f"?link={link}"
    return RecapPreviewOut(
        period=period, start=report.period.start, end=report.period.end - dt.timedelta(days=1), label=report.period.label,
        timezone=report.timezone, signals=report.signals, previous_signals=report.previous_signals, built=built,
        subject=shown.subject, html=shown.html, text=shown.text, html_url=html_url,
    )  # fmt: skip


@router.get(
    "/v1/recaps/preview.html",
    name="recap_preview_html",
    summary="A recap preview's e-mail HTML alone, for a sandboxed iframe (the link comes from the preview's html_url)",
    response_class=HTMLResponse,
)
def recap_preview_html(
    request: Request,
    session: DbSession,
    warehouse: Warehouse,
    link: Annotated[str, Query(min_length=1, max_length=1000, description="The signed link in a preview's html_url")],
) -> HTMLResponse:
    try:
        asked = _signer(request).load(LinkPurpose.recap_preview, link, max_age=int(PREVIEW_LINK_TTL.total_seconds()))
    except BadLink as bad:
        if bad.expired:
            raise ApiError(410, "link_expired", "this recap preview link has expired; open the preview again") from None
        raise forbidden("this recap preview link is not valid", code="invalid_link") from None
    project = session.get(Project, asked.get("project"))
    if project is None:
        raise not_found("the project of this recap preview no longer exists")
    user = session.get(User, asked["user"]) if asked.get("user") else None
    report, _ = _built_report(warehouse, project, RecapFrequency(asked["period"]))
    shown = render_preview(report, user.email if user is not None else NO_RECIPIENT)
    return HTMLResponse(shown.html, headers=PREVIEW_HEADERS)


router.include_router(project_recaps)
