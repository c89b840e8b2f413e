"""Request and response bodies of the management API (``/v1/projects/...``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from feelback.control_plane.keys import KeyKind
from feelback.control_plane.models import RecapFrequency, TriageState
from feelback.control_plane.projects import MAX_NAME_LENGTH, check_name, normalize_origins
from feelback.domain import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_TIMEZONE,
    Key,
    MAX_EDIT_WINDOW_SECONDS,
    MIN_RETENTION_DAYS,
    SignalType,
    SignalValueError,
    normalize_email,
    normalize_timezone,
)
from ingest_api.schema_types import SingleLine
from ingest_api.stats.measures import SentimentLabel


def _email(value: str) -> str:
    try:
        return normalize_email(value, "email", "")
    except SignalValueError:
        raise ValueError("must be an e-mail address like name@example.com") from None


ProjectName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(check_name)]
Origins = Annotated[list[str], Field(max_length=100), AfterValidator(normalize_origins)]
Timezone = Annotated[str, AfterValidator(normalize_timezone)]
RetentionDays = Annotated[int, Field(ge=MIN_RETENTION_DAYS, le=100 * 366)]
EditWindow = Annotated[int, Field(ge=0, le=MAX_EDIT_WINDOW_SECONDS)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- projects ---------------------------------------------------------------------------------


class ProjectCreate(_Body):
    name: ProjectName
    allowed_origins: Origins = []
    timezone: Timezone = DEFAULT_TIMEZONE
    retention_days: RetentionDays = DEFAULT_RETENTION_DAYS


class ProjectUpdate(_Body):
    name: ProjectName | None = None
    allowed_origins: Origins | None = None
    timezone: Timezone | None = None
    retention_days: RetentionDays | None = None


class ProjectOut(_Out):
    id: str
    name: str
    organization_id: str
    allowed_origins: list[str]
    timezone: str
    retention_days: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ProjectCreated(BaseModel):
    project: ProjectOut
    public_key: str = Field(description="Shown once; embed it in your pages")
    secret_key: str = Field(description="Shown once; keep it on your servers")


class Retention(_Body):
    days: RetentionDays


# --- API keys ---------------------------------------------------------------------------------


class ApiKeyCreate(_Body):
    kind: KeyKind
    name: Annotated[SingleLine, Field(max_length=200)] = ""


class ApiKeyOut(_Out):
    id: int
    kind: KeyKind
    name: str
    prefix: str
    last4: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    is_active: bool


class ApiKeyCreated(BaseModel):
    api_key: ApiKeyOut
    key: str = Field(description="The key itself, shown only in this response")


# --- content sets -----------------------------------------------------------------------------


class ContentSetCreate(_Body):
    key: Key
    name: Annotated[SingleLine, Field(max_length=200)] = ""
    signal_type: SignalType
    config: dict[str, Any] = {}
    edit_window_seconds: EditWindow | None = None
    one_per_visitor: bool | None = None
    public_stats: bool = True


class ContentSetUpdate(_Body):
    name: Annotated[SingleLine, Field(max_length=200)] | None = None
    signal_type: SignalType | None = None
    config: dict[str, Any] | None = None
    edit_window_seconds: EditWindow | None = None
    one_per_visitor: bool | None = None
    public_stats: bool | None = None


class ContentSetOut(_Out):
    key: str
    name: str
    signal_type: SignalType
    config: dict[str, Any]
    edit_window_seconds: int
    one_per_visitor: bool
    public_stats: bool
    created_at: dt.datetime
    updated_at: dt.datetime


# --- recap subscriptions ----------------------------------------------------------------------


class SubscriptionCreate(_Body):
    email: Email
    frequency: RecapFrequency = RecapFrequency.weekly


class SubscriptionOut(_Out):
    id: int
    email: str
    frequency: RecapFrequency
    created_at: dt.datetime
    unsubscribed_at: dt.datetime | None


# --- signals ----------------------------------------------------------------------------------


class SignalOut(BaseModel):
    signal_id: str
    content_set: str
    content_key: str
    signal_type: SignalType
    value: int | None
    rating_scale: int
    reaction: str
    message: str
    tags: list[str]
    contact_email: str
    form_fields: dict[str, str]
    visitor_id: str
    is_bot: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    operations: int = Field(description="How many operations (create, edits) the signal has had")
    triage: TriageState | None = Field(description="Triage state of message signals; null for other types")
    sentiment: SentimentLabel | None = Field(
        default=None,
        description="Sentiment of a message's current text once the pipeline has scored it (VADER, as the stats count it); "
        "null for other types and for texts not scored yet",
    )


class SignalPage(BaseModel):
    signals: list[SignalOut]
    next_cursor: str | None = Field(description="Pass as cursor to get the next page; null on the last page")


class TriageUpdate(_Body):
    state: TriageState


class TriageOut(BaseModel):
    signal_id: str
    state: TriageState
    updated_at: dt.datetime
