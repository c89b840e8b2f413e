"""Sending one period's recaps: who is due, one report per project, one claimed message per recipient.

``due_deliveries`` answers the schedules (which periods and projects have recipients still waiting),
``send_recaps`` does the sending and returns what happened to every recipient.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import structlog
from clickhouse_connect.driver.client import Client
from sqlalchemy import select

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import DeliveryStatus, Project, RecapDelivery, RecapFrequency, RecapSubscription
from feelback.mail import DeliveryError, Mailer, open_mailer
from feelback.recaps.chart import period_chart_png
from feelback.recaps.message import build_message
from feelback.recaps.periods import Period, last_complete_period
from feelback.recaps.queries import build_report
from feelback.settings import Settings
from pipelines.defs.recaps import ledger

log = structlog.get_logger(__name__)

# A period's recap still goes out this long after it became due (a stack that was down catches up);
# later, and to subscribers who joined later, it is not sent unprompted.
CATCH_UP = {RecapFrequency.weekly: dt.timedelta(days=2), RecapFrequency.monthly: dt.timedelta(days=5)}


@dataclass(frozen=True)
class Audience:
    project_id: str
    project_name: str
    timezone: str
    recipients: list[str]


@dataclass
class SendOutcome:
    sent: list[tuple[str, str]] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    retryable: list[tuple[str, str, str]] = field(default_factory=list)
    permanent: list[tuple[str, str, str]] = field(default_factory=list)
    not_due: list[str] = field(default_factory=list)
    per_project: dict[str, Counter] = field(default_factory=dict)

    def count(self, project_id: str, what: str) -> None:
        self.per_project.setdefault(project_id, Counter())[what] += 1


def audiences(settings: Settings, kind: RecapFrequency, project_ids: list[str] | None = None) -> list[Audience]:
    """Projects with active subscriptions of ``kind`` and their recipients."""
    query = (
        select(Project.id, Project.name, Project.timezone, RecapSubscription.email)
        .join(RecapSubscription, RecapSubscription.project_id == Project.id)
        .where(RecapSubscription.frequency == kind, RecapSubscription.unsubscribed_at.is_(None))
        .order_by(Project.id, RecapSubscription.email)
    )
    if project_ids:
        query = query.where(Project.id.in_(project_ids))
    grouped: dict[str, Audience] = {}
    with session_scope(settings) as session:
        for project_id, name, timezone, email in session.execute(query):
            audience = grouped.setdefault(project_id, Audience(project_id, name, timezone or "UTC", []))
            audience.recipients.append(email)
    return list(grouped.values())


def due_deliveries(settings: Settings, kind: RecapFrequency, now: dt.datetime) -> dict[str, list[str]]:
    """Period key → projects whose recap of that period is due now and still owed to someone."""
    due: dict[str, list[str]] = {}
    for audience in audiences(settings, kind):
        try:
            period = last_complete_period(kind, audience.timezone, now)
            due_at = period.due_at(audience.timezone)
        except Exception as exc:  # noqa: BLE001 - e.g. a time zone this system no longer knows: the others still get theirs
            log.error("recap due time unknown", project=audience.project_id, reason=f"{type(exc).__name__}: {exc}")
            continue
        if not due_at <= now < due_at + CATCH_UP[kind]:
            continue
        with session_scope(settings) as session:
            settled = set(
                session.scalars(
                    select(RecapDelivery.recipient).where(
                        RecapDelivery.project_id == audience.project_id,
                        RecapDelivery.period_kind == kind,
                        RecapDelivery.period_start == period.start,
                        (RecapDelivery.status != DeliveryStatus.failed)
                        | (RecapDelivery.attempts >= ledger.MAX_ATTEMPTS)
                        | RecapDelivery.error.like(ledger.PERMANENT + "%"),
                    )
                )
            )
        if any(recipient not in settled for recipient in audience.recipients):
            due.setdefault(period.key, []).append(audience.project_id)
    return due


def send_recaps(
    settings: Settings,
    client: Client,
    period: Period,
    project_ids: list[str] | None = None,
    resend: bool = False,
    now: dt.datetime | None = None,
) -> SendOutcome:
    """Send ``period``'s recap to every recipient still owed it (all of them again with ``resend``).

    Whatever goes wrong with one project (its report, its message, its time zone) is recorded as a
    retryable failure of its recipients and the next project is served: one project never stops
    the others' recaps.
    """
    now = now or dt.datetime.now(dt.UTC)
    outcome = SendOutcome()
    with open_mailer(settings.outbox_url) as mailer:
        for audience in audiences(settings, period.kind, project_ids):
            try:
                _send_project(settings, client, mailer, period, audience, resend, now, outcome)
            except Exception as exc:  # noqa: BLE001 - recorded; the step fails after every project had its turn
                reason = f"{type(exc).__name__}: {exc}"
                outcome.retryable.append((audience.project_id, "(every recipient)", reason))
                outcome.count(audience.project_id, "failed")
                log.error("recap of a project failed", project=audience.project_id, reason=reason)
    return outcome


def _send_project(
    settings: Settings,
    client: Client,
    mailer: Mailer,
    period: Period,
    audience: Audience,
    resend: bool,
    now: dt.datetime,
    outcome: SendOutcome,
) -> None:
    if period.due_at(audience.timezone) > now:
        outcome.not_due.append(audience.project_id)
        return
    report = None
    chart = None
    report_failure: str | None = None  # the report could not be made: no recipient gets one this run
    for recipient in audience.recipients:
        claim = ledger.claim(settings, audience.project_id, period, recipient, resend=resend)
        if isinstance(claim, ledger.Skip):
            outcome.skipped[claim.value] += 1
            outcome.count(audience.project_id, "skipped")
            continue
        try:
            if report_failure is not None:
                raise _NotMade(report_failure)
            if report is None:
                try:
                    report = build_report(client, audience.project_id, audience.project_name, audience.timezone, period)
                    chart = period_chart_png(report.daily, f"Signals per day, {period.label}")
                except Exception as exc:
                    report_failure = f"{type(exc).__name__}: {exc}"
                    raise _NotMade(report_failure) from exc
            message = build_message(report, recipient, settings.mail_from, resend=claim.attempt if resend and claim.attempt > 1 else 0, chart_png=chart)
            mailer.send(message, recipient)
        except DeliveryError as exc:
            _failed(settings, outcome, claim, audience.project_id, recipient, exc.reason, exc.permanent)
            continue
        except Exception as exc:  # noqa: BLE001 - not sent (report or message not made): retryable, like a busy relay
            reason = str(exc) if isinstance(exc, _NotMade) else f"{type(exc).__name__}: {exc}"
            _failed(settings, outcome, claim, audience.project_id, recipient, reason, permanent=False)
            continue
        ledger.mark_sent(settings, claim)
        outcome.sent.append((audience.project_id, recipient))
        outcome.count(audience.project_id, "sent")


class _NotMade(Exception):
    """The project's report could not be made; its message carries the first failure's reason."""


def _failed(settings: Settings, outcome: SendOutcome, claim: ledger.Claim, project_id: str, recipient: str, reason: str, permanent: bool) -> None:
    ledger.mark_failed(settings, claim, reason, permanent)
    (outcome.permanent if permanent else outcome.retryable).append((project_id, recipient, reason))
    outcome.count(project_id, "failed")
    log.warning("recap not delivered", project=project_id, recipient=recipient, reason=reason, permanent=permanent)
