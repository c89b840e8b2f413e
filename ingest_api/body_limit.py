"""No route reads a request body larger than the limit, whatever it is and before any authentication.

FastAPI reads a route's body before it runs the route's dependencies (the key or session checks), so
without this an anonymous client could make any JSON route buffer a body of any size. A declared
``Content-Length`` over the limit is answered 413 before a byte is read; a body without one (chunked)
is cut with a 413 as soon as it passes the limit. The ingest routes bound their bodies themselves,
in the same words (``ingest_api.ingest.bodies``).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from ingest_api.errors import ApiError, error_response

MIN_LIMIT = 1 << 20


class BodyTooLarge(ApiError, HTTPException):
    """Rendered as an ApiError; an HTTPException too, so that FastAPI's body reading passes it on
    (it turns other exceptions into a 400)."""

    def __init__(self, message: str):
        ApiError.__init__(self, 413, "body_too_large", message)
        HTTPException.__init__(self, 413, message)


class BodyLimit:
    def __init__(self, app: Any, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.limit:
                    message = f"request body is {int(value)} bytes; the limit is {self.limit} bytes"
                    await error_response(413, "body_too_large", message, {"Connection": "close"})(scope, receive, send)
                    return
                # The server frames the body by its declared length: it cannot grow past it.
                await self.app(scope, receive, send)
                return
        await self.app(scope, self._counted(receive), send)

    def _counted(self, receive: Any) -> Any:
        received = 0

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(f"request body is over the limit of {self.limit} bytes")
            return message

        return counted
