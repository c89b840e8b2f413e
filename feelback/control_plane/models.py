"""Control-plane tables (SQLAlchemy 2 declarative): what the management API edits.

Contract: ``Base.metadata`` is what the Alembic migrations build (a test keeps them equal) and what
dlt replicates into ClickHouse ``raw_app``. Times are timezone-aware UTC in Python (``UTCDateTime``).
Enumerated columns hold the enum's string value (VARCHAR, no native enum), so SQL readers see words.
Deleting a project deletes its rows in every table (ON DELETE CASCADE); its ClickHouse events stay.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.naming import conv

from feelback.control_plane.keys import KeyKind
from feelback.domain import DEFAULT_EDIT_WINDOW_SECONDS, DEFAULT_RETENTION_DAYS, DEFAULT_TIMEZONE, SignalType


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC (SQLite keeps no zone), returns aware UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; control-plane times must be timezone-aware")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def _enum(enum: type[StrEnum], name: str) -> SAEnum:
    return SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class RecapFrequency(StrEnum):
    weekly = "weekly"
    monthly = "monthly"


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


class JobStatus(StrEnum):
    """Status of exports and erasures."""

    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"
    expired = "expired"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class TriageState(StrEnum):
    new = "new"
    read = "read"
    archived = "archived"


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _project_fk() -> Mapped[str]:
    return mapped_column(String(40), ForeignKey("projects.id", ondelete="CASCADE"), index=True)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str] = mapped_column(String(40), ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    retention_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_RETENTION_DAYS)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="project", cascade="all, delete-orphan", passive_deletes=True)
    content_sets: Mapped[list[ContentSet]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (CheckConstraint("retention_days >= 1", name="retention_days_positive"),)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = _project_fk()
    kind: Mapped[KeyKind] = mapped_column(_enum(KeyKind, "api_key_kind"))
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship(back_populates="api_keys")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def display(self) -> str:
        return f"{self.prefix}…{self.last4}"


class ContentSet(Base):
    __tablename__ = "content_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = _project_fk()
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200), default="")
    signal_type: Mapped[SignalType] = mapped_column(_enum(SignalType, "signal_type"))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    edit_window_seconds: Mapped[int] = mapped_column(Integer, default=DEFAULT_EDIT_WINDOW_SECONDS)
    one_per_visitor: Mapped[bool] = mapped_column(default=True)
    public_stats: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship(back_populates="content_sets")

    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        CheckConstraint("edit_window_seconds >= 0", name="edit_window_not_negative"),
    )


class RecapSubscription(Base):
    __tablename__ = "recap_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = _project_fk()
    email: Mapped[str] = mapped_column(String(254))
    frequency: Mapped[RecapFrequency] = mapped_column(_enum(RecapFrequency, "recap_frequency"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("project_id", "email", "frequency"),)


class ExportRequest(Base):
    __tablename__ = "export_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = _project_fk()
    format: Mapped[ExportFormat] = mapped_column(_enum(ExportFormat, "export_format"))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"), default=JobStatus.pending)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    path: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # Each change of the row (its status above all): the warehouse replicates the rows changed since its last run.
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RecapDelivery(Base):
    __tablename__ = "recap_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = _project_fk()
    period_kind: Mapped[RecapFrequency] = mapped_column(_enum(RecapFrequency, "recap_frequency"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    recipient: Mapped[str] = mapped_column(String(254))
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)  # as ExportRequest's

    __table_args__ = (
        # One delivery per recipient and period, so a retried or re-run recap job never mails twice.
        UniqueConstraint("project_id", "period_kind", "period_start", "recipient", name=conv("uq_recap_deliveries_period_recipient")),
    )


class ErasureRequest(Base):
    """Erase a visitor's signals, or every signal about one content key, from the warehouse."""

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = _project_fk()
    visitor_id: Mapped[str | None] = mapped_column(String(200))
    content_set: Mapped[str | None] = mapped_column(String(40))
    content_key: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"), default=JobStatus.pending)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("visitor_id IS NOT NULL OR content_key IS NOT NULL", name="visitor_or_content"),
    )


class SignalTriage(Base):
    """Triage state of a text (message) signal; a signal without a row is ``new``."""

    __tablename__ = "signal_triage"

    project_id: Mapped[str] = mapped_column(String(40), ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    signal_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    state: Mapped[TriageState] = mapped_column(_enum(TriageState, "triage_state"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index(None, "project_id", "state"),)


# The accounts tables (users, sessions, organizations, memberships, invitations) share Base.metadata.
from feelback.control_plane import account_models as _account_models  # noqa: E402,F401
