"""The seam every route that writes signals calls: ``submit`` creates, edits or revokes one signal
with the public API's validation, limits, idempotency and durability.

    caller = await caller_of_request(request)          # key, origin, visitor: ingest_api.ingest.caller
    status, body, headers = await submit(caller, "create", {"content_set": ..., ...})

``data`` is the JSON body of ``POST /v1/signals`` (create), ``PATCH /v1/signals/{id}`` (edit) or
the revoke's fields (``edit_token``, ``occurred_at``); refusals are raised as ``Refusal``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

from pydantic import BaseModel

from ingest_api.ingest.bodies import checked_idempotency_header, parse
from ingest_api.ingest.caller import Caller
from ingest_api.ingest.once import store_once
from ingest_api.ingest.operations import Prepared, fingerprint_of, prepare, prepare_create
from ingest_api.signal_schemas import CreateSignal, EditSignal, RevokeSignal

BODY_MODELS: dict[str, type[BaseModel]] = {"create": CreateSignal, "edit": EditSignal, "revoke": RevokeSignal}


async def submit(caller: Caller, kind: str, data: dict[str, Any], signal_id: str = "",
                 idempotency_header: str | None = None) -> tuple[int, bytes, dict[str, str] | None]:  # fmt: skip
    """Store one operation (``kind``: create, edit or revoke; ``signal_id`` for edit and revoke) once:
    (status, JSON body, extra headers). The body's ``idempotency_key`` wins over ``idempotency_header``."""
    parsed = parse(BODY_MODELS[kind], data)
    key = parsed.idempotency_key or checked_idempotency_header(idempotency_header) or uuid.uuid4().hex
    fingerprint = fingerprint_of(kind, signal_id, data)

    def prepare_parsed() -> Prepared | Awaitable[Prepared]:
        if kind == "create" and (rules := caller.ingest.cached_rules(caller.project_id, parsed.content_set)):
            return prepare_create(caller, key, parsed, rules)  # the common case, without a coroutine
        return prepare(caller, kind, key, signal_id, parsed)

    return await store_once(caller, key, fingerprint, prepare_parsed, signal_id or None)
