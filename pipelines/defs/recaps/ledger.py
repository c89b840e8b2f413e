"""The record of recap deliveries, and the claim that makes each one happen once.

A recap goes to a recipient only after this process claimed its ``RecapDelivery`` row, whose unique
key is (project, period kind, period start, recipient): inserting it, or flipping it from a
retryable ``failed`` back to ``pending``, in a committed transaction of its own. Two runs racing for the
same delivery cannot both win. ``pending`` means "claimed, sending"; a row left ``pending`` by a
crash is in doubt (the relay may have taken the message) and is not sent again unless a re-send is
asked for on purpose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import DeliveryStatus, RecapDelivery
from feelback.recaps.periods import Period
from feelback.settings import Settings

MAX_ATTEMPTS = 5
PERMANENT = "permanent: "


class Skip(StrEnum):
    sent = "already sent"
    in_doubt = "in doubt (claimed by a run that did not finish)"
    gave_up = "gave up"


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempt: int


def claim(settings: Settings, project_id: str, period: Period, recipient: str, resend: bool = False) -> Claim | Skip:
    """Claim the delivery of ``period``'s recap to ``recipient``, or say why it is not ours to send."""
    try:
        with session_scope(settings) as session:
            row = RecapDelivery(
                project_id=project_id,
                period_kind=period.kind,
                period_start=period.start,
                recipient=recipient,
                status=DeliveryStatus.pending,
                attempts=1,
            )
            session.add(row)
            session.flush()
            return Claim(row.id, 1)
    except IntegrityError:
        pass
    with session_scope(settings) as session:
        row = session.scalars(
            select(RecapDelivery).where(
                RecapDelivery.project_id == project_id,
                RecapDelivery.period_kind == period.kind,
                RecapDelivery.period_start == period.start,
                RecapDelivery.recipient == recipient,
            )
        ).one()
        if not resend:
            if row.status is DeliveryStatus.sent:
                return Skip.sent
            if row.status is DeliveryStatus.pending:
                return Skip.in_doubt
            if row.attempts >= MAX_ATTEMPTS or (row.error or "").startswith(PERMANENT):
                return Skip.gave_up
        # Compare-and-set on the status we read, so a concurrent claimer loses.
        taken = session.execute(
            update(RecapDelivery)
            .where(RecapDelivery.id == row.id, RecapDelivery.status == row.status, RecapDelivery.attempts == row.attempts)
            .values(status=DeliveryStatus.pending, attempts=RecapDelivery.attempts + 1, error=None)
        ).rowcount
        if taken != 1:
            return Skip.in_doubt
        return Claim(row.id, row.attempts + 1)


def mark_sent(settings: Settings, claim_: Claim) -> None:
    with session_scope(settings) as session:
        session.execute(
            update(RecapDelivery)
            .where(RecapDelivery.id == claim_.delivery_id)
            .values(status=DeliveryStatus.sent, sent_at=dt.datetime.now(dt.UTC), error=None)
        )


def mark_failed(settings: Settings, claim_: Claim, reason: str, permanent: bool) -> None:
    with session_scope(settings) as session:
        session.execute(
            update(RecapDelivery)
            .where(RecapDelivery.id == claim_.delivery_id)
            .values(status=DeliveryStatus.failed, error=(PERMANENT if permanent else "") + reason[:2000])
        )


def retryable_failures(settings: Settings, period: Period, project_ids: list[str]) -> list[RecapDelivery]:
    """Failed deliveries of ``period`` that another attempt may still fix."""
    with session_scope(settings) as session:
        return list(
            session.scalars(
                select(RecapDelivery).where(
                    RecapDelivery.project_id.in_(project_ids),
                    RecapDelivery.period_kind == period.kind,
                    RecapDelivery.period_start == period.start,
                    RecapDelivery.status == DeliveryStatus.failed,
                    RecapDelivery.attempts < MAX_ATTEMPTS,
                    or_(RecapDelivery.error.is_(None), RecapDelivery.error.not_like(PERMANENT + "%")),
                )
            )
        )
