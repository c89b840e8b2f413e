"""The HTTP handlers of the public ingest routes (registered by ``ingest_api.routers.signals``):
each reads its request, calls the write path and renders every refusal itself."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request, Response

from ingest_api.ingest.batch import batch_operations, run_batch
from ingest_api.ingest.bodies import checked_signal_id, json_object, read_body
from ingest_api.ingest.caller import Caller, caller_of_request
from ingest_api.ingest.refusals import Refusal
from ingest_api.ingest.service import submit
from ingest_api.signal_schemas import EDIT_TOKEN_HEADER, IDEMPOTENCY_HEADER


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def refused(refusal: Refusal) -> Response:
    return json_response(refusal.status, refusal.body, refusal.headers)


async def single(request: Request, kind: str, signal_id: str = "",
                 data: dict[str, Any] | None = None, caller: Caller | None = None) -> Response:  # fmt: skip
    """The path every single-operation route takes: auth, body, then ``submit``."""
    caller = caller or await caller_of_request(request)
    if data is None:
        data = json_object(await read_body(request, caller.ingest.settings.ingest_max_body_bytes))
    status, body, headers = await submit(caller, kind, data, signal_id, request.headers.get(IDEMPOTENCY_HEADER))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def create_signal(request: Request) -> Response:
    try:
        return await single(request, "create")
    except Refusal as refusal:
        return refused(refusal)


async def edit_signal(request: Request) -> Response:
    try:
        return await single(request, "edit", checked_signal_id(request.path_params["signal_id"]))
    except Refusal as refusal:
        return refused(refusal)


async def revoke_signal(request: Request) -> Response:
    try:
        signal_id = checked_signal_id(request.path_params["signal_id"])
        edit_token = request.headers.get(EDIT_TOKEN_HEADER)
        if edit_token is None:
            raise Refusal(422, "invalid_request", f"{EDIT_TOKEN_HEADER}: is required (the edit_token returned by create)")
        data = {"edit_token": edit_token, "occurred_at": request.query_params.get("occurred_at")}
        return await single(request, "revoke", signal_id, data)
    except Refusal as refusal:
        return refused(refusal)


async def batch(request: Request) -> Response:
    try:
        caller = await caller_of_request(request)
        body = await read_body(request, caller.ingest.settings.ingest_max_body_bytes)
        operations = batch_operations(json_object(body))
        results = await run_batch(caller, operations)
    except Refusal as refusal:
        return refused(refusal)
    return json_response(200, {"results": results})
