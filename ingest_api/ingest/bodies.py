"""Reading a request's body and checking the parts of it every ingest route shares."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from ingest_api.ingest.refusals import Refusal, invalid
from ingest_api.signal_schemas import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY


async def read_body(request: Request, limit: int) -> bytes:
    return await receive_body(request.receive, request.headers.get("content-length"), limit)


async def receive_body(receive: Any, declared: str | None, limit: int) -> bytes:
    """The request body, refused with 413 over ``limit`` bytes (declared or received) and 400 when the
    client goes away first; read from the raw ASGI ``receive`` (the routes pass ``request.receive``)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refusal(413, "body_too_large", f"request body is {declared} bytes; the limit is {limit} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise Refusal(413, "body_too_large", f"request body is over the limit of {limit} bytes")
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise Refusal(400, "client_disconnected", "the client went away before sending the whole body")


def json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise Refusal(422, "invalid_request", "request: body is required (a JSON object)")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refusal(422, "invalid_request", f"request: is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Refusal(422, "invalid_request", f"request: must be a JSON object, not {type(data).__name__}")
    return data


def parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc) from None


def checked_signal_id(given: str, field: str = "signal_id") -> str:
    """A signal id in its canonical form; ``field`` names it as the caller sent it (``feelbackId`` in the compat routes)."""
    try:
        return str(uuid.UUID(given))
    except ValueError:
        problem = f"{field}: must be a UUID like the {field} returned by create (got {given[:60]!r})"
        raise Refusal(422, "invalid_request", problem) from None


def checked_idempotency_header(value: str | None) -> str | None:
    if value is not None and not IDEMPOTENCY_KEY.fullmatch(value):
        raise Refusal(422, "invalid_request", f"{IDEMPOTENCY_HEADER}: must be 1 to 128 printable ASCII characters without spaces")
    return value
