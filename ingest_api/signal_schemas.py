"""Request and response bodies of the public ingest routes, and their OpenAPI description.

The routes read their parameters and bodies themselves (``ingest_api.routers.signals``), so the
OpenAPI document is assembled here: flat body schemas inlined per operation, documented parameters,
and one error shape for every refusal.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, WithJsonSchema

from feelback.domain import CONTENT_SET_KEY_PATTERN, MAX_CONTACT_EMAIL_LENGTH, MAX_MESSAGE_MAX_LENGTH
from ingest_api.dependencies import KEY_HEADER
from ingest_api.schema_types import INSTANT_PATTERN, Instant

MAX_BATCH_OPERATIONS = 500
MAX_CONTENT_KEY_LENGTH = 2048
EDIT_TOKEN_HEADER = "X-Feelback-Edit-Token"
IDEMPOTENCY_HEADER = "Idempotency-Key"


AnyValue = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [{"type": "boolean"}, {"type": "integer"}, {"type": "number"}, {"type": "string"}, {"type": "null"}],
            "description": 'yesno: true/false or "yes"/"no"; updown: "up"/"down" or 1/-1; rating: 1..scale; '
            "like: 1 or true; reaction: the reaction key (or its emoji); message: use `message` instead",
        }
    ),
]
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"
IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
ANONYMOUS_ID_PATTERN = r"^[A-Za-z0-9._:\-]{8,128}$"
IdempotencyKey = Annotated[
    str,
    Field(
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Unique per operation (a UUID is fine); a retry sends the same key and is stored once",
    ),
]
OccurredAt = Annotated[
    Instant,
    Field(description="When the operation happened on the client (ISO 8601; default: when it is received)"),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignalValue(_Body):
    value: AnyValue = None
    message: Annotated[str, Field(max_length=MAX_MESSAGE_MAX_LENGTH)] | None = None
    tags: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=50)] | None = None
    contact_email: Annotated[str, Field(max_length=MAX_CONTACT_EMAIL_LENGTH)] | None = None
    form_fields: Annotated[dict[Annotated[str, Field(max_length=40)], Any], Field(max_length=50)] | None = None
    occurred_at: OccurredAt | None = None
    idempotency_key: IdempotencyKey | None = None


class CreateSignal(SignalValue):
    content_set: Annotated[str, Field(pattern=CONTENT_SET_KEY_PATTERN, description="Key of the content set")]
    content_key: Annotated[
        str, Field(min_length=1, max_length=MAX_CONTENT_KEY_LENGTH, description="Page path, URL or id of the content")
    ]
    anonymous_id: (
        Annotated[
            str,
            Field(
                pattern=ANONYMOUS_ID_PATTERN,
                description="The SDK's own anonymous visitor id (8-128 letters, digits, '.', '_', ':' or '-'); "
                "default: a daily-salted hash of IP and user agent",
            ),
        ]
        | None
    ) = None


class EditSignal(SignalValue):
    edit_token: Annotated[str, Field(min_length=1, max_length=4096, description="The edit_token returned by create")]


class RevokeSignal(_Body):
    edit_token: Annotated[str, Field(min_length=1, max_length=4096)]
    occurred_at: OccurredAt | None = None
    idempotency_key: IdempotencyKey | None = None


class CreateOperation(CreateSignal):
    op: Literal["create"]


class EditOperation(EditSignal):
    op: Literal["edit"]
    signal_id: uuid.UUID


class RevokeOperation(RevokeSignal):
    op: Literal["revoke"]
    signal_id: uuid.UUID


BatchOperation = Annotated[CreateOperation | EditOperation | RevokeOperation, Field(discriminator="op")]
operation_adapter: TypeAdapter[CreateOperation | EditOperation | RevokeOperation] = TypeAdapter(BatchOperation)


class BatchRequest(_Body):
    operations: Annotated[
        list[Annotated[dict[str, Any], WithJsonSchema({"type": "object", "description": "An operation: see below"})]],
        Field(min_length=1, max_length=MAX_BATCH_OPERATIONS),
    ]


class CreatedSignal(BaseModel):
    signal_id: uuid.UUID
    edit_token: str | None = Field(description="Send it back to edit or revoke; null when the set allows no edits")
    editable_until: dt.datetime


class EditedSignal(BaseModel):
    signal_id: uuid.UUID
    editable_until: dt.datetime


class RevokedSignal(BaseModel):
    signal_id: uuid.UUID
    revoked: bool


class ErrorDetail(BaseModel):
    code: str
    message: str
    closed_at: dt.datetime | None = Field(None, description="signal_final only: when the edit window closed")
    retry_after: int | None = Field(None, description="rate_limited inside a batch: seconds to wait")


class ErrorBody(BaseModel):
    error: ErrorDetail


class OperationResult(BaseModel):
    status: int = Field(description="The HTTP status this operation would have had on its own")
    body: CreatedSignal | EditedSignal | RevokedSignal | ErrorBody


class BatchResult(BaseModel):
    results: list[OperationResult] = Field(description="One result per operation, in request order")


def body_schema(model: type[BaseModel], description: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    assert "$defs" not in schema, f"{model.__name__} must stay flat to be inlined in the OpenAPI document"
    return {"requestBody": {"required": True, "description": description, "content": {"application/json": {"schema": schema}}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "Missing, unknown or revoked public key",
        403: "Origin not allowed for the project, or an edit token that is not for this signal",
        404: "Unknown content set",
        409: "Edit window closed (signal_final), or idempotency key reused for another request",
        413: "Request body too large",
        422: "Invalid request; the message names the field and the rule",
        429: "Rate limited; see Retry-After",
        503: "The ingest spool is full (the warehouse is catching up); see Retry-After",
    }
    return {status: {"model": ErrorBody, "description": described[status]} for status in statuses}


# The routes read parameters from the request directly (FastAPI's per-parameter machinery costs
# more than the whole operation on this hot path); this documents them.
PARAMETERS: dict[str, dict[str, Any]] = {
    "key": {"in": "query", "schema": {"type": "string"}, "description": "The project's public key (fb_pk_...)"},
    KEY_HEADER: {"in": "header", "schema": {"type": "string"}, "description": "The project's public key (fb_pk_...)"},
    IDEMPOTENCY_HEADER: {
        "in": "header",
        "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
        "description": "Alternative to the body's idempotency_key",
    },
    "signal_id": {
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
        "description": "The signal_id returned by create",
    },
    EDIT_TOKEN_HEADER: {
        "in": "header",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 4096},
        "description": "The edit_token returned by create",
    },
    "occurred_at": {
        "in": "query",
        "schema": {"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN},
        "description": "When the revoke happened on the client",
    },
}


def documented(*names: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra`` for an operation: the named parameters, plus its request body."""
    return {"parameters": [{"name": name, **PARAMETERS[name]} for name in names], **(body or {})}
