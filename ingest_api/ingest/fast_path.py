"""The hot ingest routes straight from ASGI, before routing: ``IngestFastPath``."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import Request

from ingest_api.dependencies import KEY_HEADER
from ingest_api.ingest.bodies import checked_idempotency_header, json_object, receive_body
from ingest_api.ingest.caller import caller_of
from ingest_api.ingest.handlers import batch, create_signal, single
from ingest_api.ingest.once import store_once
from ingest_api.ingest.operations import CREATE, fingerprint_of, prepare_plain_create
from ingest_api.ingest.plain import plain_create_rules
from ingest_api.ingest.refusals import Refusal
from ingest_api.ingest.state import ingest_of
from ingest_api.signal_schemas import IDEMPOTENCY_HEADER


class IngestFastPath:
    """Serves ``POST /v1/signals`` and ``POST /v1/batch`` straight from ASGI, before routing.

    The routes (``ingest_api.routers.signals``) stay registered (OpenAPI, and the path any other request takes); this only
    skips the router and FastAPI's per-route machinery, which cost more than the operation itself.
    The handlers read everything from the request and answer every refusal themselves, so the
    result is the same either way. Installed inside the CORS middleware by ``create_app``.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path = scope["path"]
            if path == "/v1/signals":
                await create_signal_asgi(scope, receive, send)
                return
            if path == "/v1/batch":
                response = await batch(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# Header slots read by create_signal_asgi (ASGI gives names in lower case; the first one counts,
# as with Starlette's Headers.get).
_KEY, _ORIGIN, _USER_AGENT, _CONTENT_LENGTH, _IDEMPOTENCY = range(5)
_READ_HEADERS = {
    KEY_HEADER.lower().encode(): _KEY, b"origin": _ORIGIN, b"user-agent": _USER_AGENT,
    b"content-length": _CONTENT_LENGTH, IDEMPOTENCY_HEADER.lower().encode(): _IDEMPOTENCY,
}  # fmt: skip


def _latin1(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def create_signal_asgi(scope: Any, receive: Any, send: Any) -> None:
    """``POST /v1/signals`` as ``create_signal`` answers it, for a key already cached, without
    Request and Response objects; a plain create also skips the model (``plain_create_rules``).
    A key not cached yet or sent in the query takes the route itself."""
    ingest = ingest_of(scope["app"])
    found: list[bytes | None] = [None] * 5
    for name, value in scope["headers"]:
        slot = _READ_HEADERS.get(name)
        if slot is not None and found[slot] is None:
            found[slot] = value
    access = None if scope["query_string"] else ingest.cached_project(_latin1(found[_KEY]))
    if access is None:
        response = await create_signal(Request(scope, receive, send))
        await response(scope, receive, send)
        return
    headers: dict[str, str] | None
    try:
        client = scope.get("client")
        caller = caller_of(ingest, access, _latin1(found[_ORIGIN]), _latin1(found[_USER_AGENT]) or "", client[0] if client else "")
        body = await receive_body(receive, _latin1(found[_CONTENT_LENGTH]), ingest.settings.ingest_max_body_bytes)
        data = json_object(body)
        rules = plain_create_rules(ingest, caller.project_id, data)
        if rules is None:
            response = await single(Request(scope, receive, send), "create", data=data, caller=caller)
            await response(scope, receive, send)
            return
        key = data.get("idempotency_key") or checked_idempotency_header(_latin1(found[_IDEMPOTENCY])) or uuid.uuid4().hex
        fingerprint = fingerprint_of(CREATE, "", data)
        status, answer, headers = await store_once(
            caller, key, fingerprint, lambda: prepare_plain_create(caller, key, data, rules)
        )
    except Refusal as refusal:
        status, answer, headers = refusal.status, orjson.dumps(refusal.body), refusal.headers
    # The headers Starlette's Response(answer, status, headers, media_type="application/json") sends.
    raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()] if headers else []
    raw_headers.append((b"content-length", str(len(answer)).encode("latin-1")))
    raw_headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": answer})


