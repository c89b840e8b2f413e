"""The original Feelback SDKs' API (``@feelback/js``, ``@feelback/react``, ``astro-feelback``), served
under ``/v1/compat/feelback/{public_key}/v0`` so a site moves to us by changing only their endpoint.

An adapter: each call is translated (``ingest_api.compat``) into our own create, edit, revoke or
stats read and goes through the same code as ``/v1/signals`` and ``/v1/stats`` (validation, origin
check, rate limits, idempotency, the durable spool); the answer is translated back. The SDK sends no
key header, so the project's public key is in the path. It only logs a status >= 400, so refusals
keep our error body for whoever reads the network log.

* ``POST …/feelbacks/create`` ``[{contentSetId, key, value, context?, revokable?}]`` (or
  ``contentId`` instead of set and key: ``"<content set key>:<content key>"`` here) →
  ``{feelbackId, revokable?: {token, expireAt}}``
* ``POST …/feelbacks/edit`` ``[{feelbackId, revokeToken, value}]`` → the same answer
* ``POST …/feelbacks/remove`` ``[{feelbackId, revokeToken}]`` → 204
* ``GET …/feelbacks/getAggregates?$p=[{contentSetId, key}]`` (or ``$p=["<contentId>"]``) → counts in
  the widget's button order
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from ingest_api.compat.feelback_values import signal_fields, widget_counts
from ingest_api.compat.feelback_wire import (
    CreateArgs, EditArgs, RemoveArgs, WireError, created_answer, edit_key, edited_answer,
    parse_aggregates_query, parse_args, remove_key, split_revoke_token,
)  # fmt: skip
from feelback.domain import ContentSetRules, SignalValueError
from ingest_api.errors import ApiError
from ingest_api.ingest.bodies import checked_signal_id, read_body
from ingest_api.ingest.caller import Caller, caller_of
from ingest_api.ingest.refusals import Refusal, invalid
from ingest_api.ingest.service import submit
from ingest_api.ingest.state import ingest_of
from ingest_api.privacy import EditTokenError
from ingest_api.routers.stats import service_of
from ingest_api.stats.windows import Window

PREFIX = "/v1/compat/feelback/{public_key}/v0/feelbacks"

router = APIRouter(prefix=PREFIX, tags=["compat: original Feelback SDKs"])


def _arguments(model: type, description: str) -> dict[str, Any]:
    """OpenAPI of a body the SDK sends: a JSON array whose first item is ``model``."""
    schema = {"type": "array", "minItems": 1, "items": model.model_json_schema()}
    return {"requestBody": {"required": True, "description": description, "content": {"application/json": {"schema": schema}}}}


_ERRORS = {status: {"description": description} for status, description in (
    (401, "Unknown or revoked public key in the path"), (403, "Origin not allowed, or a revoke token of another signal"),
    (404, "No such content set"), (409, "The signal's edit window has closed"), (413, "Body too large"),
    (422, "Not the SDK's protocol, or a value the content set does not take; the message says which"),
    (429, "Rate limited (Retry-After)"), (503, "Ingest backlog full (Retry-After)"),
)}  # fmt: skip


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _refused(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": {"code": code, "message": message}}, headers)


# --- the seam into our own ingest ----------------------------------------------------------------


async def _caller(request: Request, public_key: str) -> Caller:
    """``caller_of_request`` with the key taken from the path."""
    ingest = ingest_of(request.app)
    try:
        access = await ingest.project_for_key(None, public_key)
    except ApiError as refused:
        raise Refusal(refused.status, refused.code, refused.message, refused.headers) from None
    client = request.scope.get("client")
    headers = request.headers
    return caller_of(ingest, access, headers.get("origin"), headers.get("user-agent", ""), client[0] if client else "")


async def _args(request: Request, caller: Caller, model: type) -> Any:
    try:
        return parse_args(model, await read_body(request, caller.ingest.settings.ingest_max_body_bytes))
    except WireError as exc:
        raise Refusal(422, "invalid_request", str(exc)) from None


async def _rules_of_signal(caller: Caller, signal_id: str, edit_token: str) -> ContentSetRules:
    """The rules of the set the token's signal is in (403 for a token not issued for it). The edit
    window is checked by the operation itself, after a resend has been answered from the replay map."""
    try:
        grant = caller.ingest.tokens.verify(edit_token, caller.project_id, signal_id)
    except EditTokenError as exc:
        raise Refusal(403, "invalid_edit_token", f"edit_token: {exc}") from None
    return await caller.ingest.rules(caller.project_id, grant.content_set)


def _fields(rules: ContentSetRules, value: Any, context: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return signal_fields(rules, value, context)
    except SignalValueError as exc:
        raise invalid(exc) from None


# --- routes ----------------------------------------------------------------------------------------


async def _adapted(request: Request, public_key: str, model: type,
                   run: Callable[[Caller, Any], Awaitable[tuple[int, bytes, dict[str, str] | None, Callable]]]) -> Response:  # fmt: skip
    """A compat POST: the caller and the SDK's arguments, then ``run`` them as our operation, which
    gives (status, our answer, headers, how to translate a 2xx answer back); refusals as ours."""
    try:
        caller = await _caller(request, public_key)
        status, body, headers, translate = await run(caller, await _args(request, caller, model))
    except Refusal as refusal:
        return _refused(refusal.status, refusal.code, refusal.message, refusal.headers)
    if status >= 400:
        return Response(body, status_code=status, media_type="application/json", headers=headers)
    return translate(orjson.loads(body), headers)


@router.post(
    "/create", summary="Create a feelback (original Feelback SDK protocol)", responses=_ERRORS,
    openapi_extra=_arguments(CreateArgs, "[{contentSetId, key, value, context?, revokable?}], or contentId (\"<content set key>:<content key>\") for set and key"),
)  # fmt: skip
async def create(request: Request, public_key: str) -> Response:
    async def run(caller: Caller, args: CreateArgs):
        rules = await caller.ingest.rules(caller.project_id, args.contentSetId)
        data = {"content_set": args.contentSetId, "content_key": args.key, **_fields(rules, args.value, args.context)}
        status, body, headers = await submit(caller, "create", data)
        return status, body, headers, lambda ours, headers: _json(200, created_answer(ours, args.revokable), headers)

    return await _adapted(request, public_key, CreateArgs, run)


@router.post(
    "/edit", summary="Change a feelback's value (original Feelback SDK protocol)", responses=_ERRORS,
    openapi_extra=_arguments(EditArgs, "[{feelbackId, revokeToken, value}]"),
)  # fmt: skip
async def edit(request: Request, public_key: str) -> Response:
    async def run(caller: Caller, args: EditArgs):
        signal_id = checked_signal_id(args.feelbackId, "feelbackId")
        edit_token, edits = split_revoke_token(args.revokeToken)
        fields = _fields(await _rules_of_signal(caller, signal_id, edit_token), args.value, None)
        key = edit_key(signal_id, edits, fields)
        status, body, headers = await submit(caller, "edit", {"edit_token": edit_token, **fields}, signal_id, key)
        return status, body, headers, lambda ours, headers: _json(200, edited_answer(ours, edit_token, edits), headers)

    return await _adapted(request, public_key, EditArgs, run)


@router.post(
    "/remove", status_code=204, summary="Remove a feelback (original Feelback SDK protocol)", responses=_ERRORS,
    openapi_extra=_arguments(RemoveArgs, "[{feelbackId, revokeToken}]"),
)  # fmt: skip
async def remove(request: Request, public_key: str) -> Response:
    async def run(caller: Caller, args: RemoveArgs):
        signal_id = checked_signal_id(args.feelbackId, "feelbackId")
        edit_token, _ = split_revoke_token(args.revokeToken)
        status, body, headers = await submit(caller, "revoke", {"edit_token": edit_token}, signal_id, remove_key(signal_id))
        return status, body, headers, lambda ours, headers: Response(status_code=204, headers=headers)

    return await _adapted(request, public_key, RemoveArgs, run)


@router.get(
    "/getAggregates", summary="Counts of a content in its widget's button order (original Feelback SDK protocol)",
    description="The query is `$p=[{\"contentSetId\": …, \"key\": …}]`, not URL-encoded (as the SDK sends it).",
    responses={status: _ERRORS[status] for status in (401, 403, 404, 422)},
)  # fmt: skip
async def get_aggregates(request: Request, public_key: str) -> Response:
    try:
        targets = parse_aggregates_query(request.scope["query_string"])
    except WireError as exc:
        return _refused(422, "invalid_request", str(exc))
    if not targets:  # cut short by a "#" in the key: there is nothing to count
        return _json(200, [])
    service = service_of(request.app)
    try:
        reader = await service.reader(None, public_key, None)
        rules = await service.content_set(reader, targets[0].contentSetId)
        keys = list(dict.fromkeys(target.key for target in targets if target.contentSetId == rules.key))
        stats = await service.batch_stats(reader, rules, keys, Window.all)
    except ApiError as refused:
        return _refused(refused.status, refused.code, refused.message, refused.headers)
    contents = orjson.loads(stats.rendered.json)["contents"]
    # Of the readings of an ambiguous key, the one that has signals (the first when none has).
    chosen = next((key for key in keys if contents[key]["total"]), keys[0])
    return _json(200, widget_counts(rules, contents[chosen]["counts"]), {"Cache-Control": "public, max-age=1"})
