"""CORS for the public routes (SDK ingest, widget stats); none for the management API.

Browsers send preflight requests without the ``X-Feelback-Key`` header, so a preflight cannot be
answered per project: every public route answers preflights and adds
``Access-Control-Allow-Origin`` for any origin, and the actual request is checked against the
project's allowed origins by the ``check_origin`` dependency (403 ``origin_not_allowed``, readable
by the page so the developer sees why). No credentials (cookies) are ever allowed, so a permissive
header exposes nothing a server-side client could not fetch anyway.

Contract: ``install_cors(app, private_prefixes=("/v1/projects",))``.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Private: management, and the accounts routes a session cookie authenticates (never cross-origin).
PRIVATE_PREFIXES = ("/v1/projects", "/v1/organizations", "/v1/auth", "/v1/me", "/v1/invitations")
PUBLIC_PREFIX = "/v1/"


class PublicRoutesCORS:
    """Starlette's CORS rules, applied only to public paths; pure ASGI, so a request pays for it
    only by one header scan (preflights are answered by Starlette's CORSMiddleware itself)."""

    def __init__(self, app: ASGIApp, private_prefixes: Iterable[str] = PRIVATE_PREFIXES):
        self.app = app
        self.private_prefixes = tuple(private_prefixes)
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["*"],
            expose_headers=["Retry-After", "Location"],
            allow_credentials=False,
            max_age=600,
        )
        # What CORSMiddleware adds to an actual response when every origin is allowed without credentials.
        self._with_origin = [(name.lower().encode(), value.encode()) for name, value in self.cors.simple_headers.items()]

    def _is_public(self, path: str) -> bool:
        return path.startswith(PUBLIC_PREFIX) and not path.startswith(self.private_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        has_origin = preflight = False
        for name, _ in scope["headers"]:
            if name == b"origin":
                has_origin = True
            elif name == b"access-control-request-method":
                preflight = True
        if has_origin and preflight and scope["method"] == "OPTIONS":
            await self.cors(scope, receive, send)
            return
        added = self._with_origin if has_origin else []

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                vary = [value for name, value in headers if name.lower() == b"vary"]
                headers = [(name, value) for name, value in headers if name.lower() != b"vary"]
                headers += added
                headers.append((b"vary", b", ".join([*vary, b"Origin"])))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)


def install_cors(app: FastAPI, private_prefixes: Iterable[str] = PRIVATE_PREFIXES) -> None:
    app.add_middleware(PublicRoutesCORS, private_prefixes=tuple(private_prefixes))
