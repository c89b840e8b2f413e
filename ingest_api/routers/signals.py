"""Public ingest routes for the SDK: create, edit and revoke signals, one at a time or in batches.

The write path behind them is ``ingest_api.ingest`` (its docstring says how); this module only
registers its handlers, with their OpenAPI descriptions, and installs the ASGI fast path.
"""

from __future__ import annotations

from fastapi import APIRouter

from ingest_api.dependencies import KEY_HEADER
from ingest_api.ingest import handlers
from ingest_api.ingest.fast_path import IngestFastPath
from ingest_api.ingest.state import ingest_lifespan
from ingest_api.signal_schemas import (
    EDIT_TOKEN_HEADER,
    IDEMPOTENCY_HEADER,
    MAX_BATCH_OPERATIONS,
    BatchRequest,
    BatchResult,
    CreatedSignal,
    CreateSignal,
    EditedSignal,
    EditSignal,
    RevokedSignal,
    body_schema,
    documented,
    error_responses,
)

__all__ = ["IngestFastPath", "router"]

router = APIRouter(prefix="/v1", tags=["signals"], lifespan=ingest_lifespan)

router.post(
    "/signals",
    status_code=201,
    summary="Create a signal",
    response_model=CreatedSignal,
    responses=error_responses(401, 403, 404, 409, 413, 422, 429, 503),
    openapi_extra=documented(
        "key", KEY_HEADER, IDEMPOTENCY_HEADER,
        body=body_schema(CreateSignal, "A vote, rating, like, reaction or feedback message about one piece of content"),
    ),  # fmt: skip
)(handlers.create_signal)

router.patch(
    "/signals/{signal_id}",
    summary="Edit a signal within its edit window",
    response_model=EditedSignal,
    responses=error_responses(401, 403, 404, 409, 413, 422, 429, 503),
    openapi_extra=documented(
        "signal_id", "key", KEY_HEADER, IDEMPOTENCY_HEADER,
        body=body_schema(EditSignal, "The signal's new value (the whole value, under the same rules as create)"),
    ),  # fmt: skip
)(handlers.edit_signal)

router.delete(
    "/signals/{signal_id}",
    summary="Revoke a signal within its edit window",
    response_model=RevokedSignal,
    responses=error_responses(401, 403, 409, 422, 429, 503),
    openapi_extra=documented("signal_id", "key", KEY_HEADER, IDEMPOTENCY_HEADER, EDIT_TOKEN_HEADER, "occurred_at"),
)(handlers.revoke_signal)

router.post(
    "/batch",
    summary="Create, edit and revoke many signals at once",
    description=(
        f"Up to {MAX_BATCH_OPERATIONS} operations, each an object with `op` = `create` (fields of POST /v1/signals), "
        "`edit` (`signal_id` plus the fields of PATCH /v1/signals/{signal_id}) or `revoke` (`signal_id`, `edit_token`), "
        "and each with its own `idempotency_key`. Every operation gets its own status and body, so one bad "
        "operation does not fail the others; the stored ones are acknowledged together once durably spooled."
    ),
    response_model=BatchResult,
    responses=error_responses(401, 403, 413, 422, 429, 503),
    openapi_extra=documented("key", KEY_HEADER, body=body_schema(BatchRequest, "The operations, in order")),
)(handlers.batch)
