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
from starlette.types import ASGIApp, Receive, Scope, Send

PRIVATE_PREFIXES = ("/v1/projects",)
PUBLIC_PREFIX = "/v1/"


class PublicRoutesCORS:
    """Starlette's CORSMiddleware, applied only to public paths."""

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

    def _is_public(self, path: str) -> bool:
        return path.startswith(PUBLIC_PREFIX) and not path.startswith(self.private_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._is_public(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_cors(app: FastAPI, private_prefixes: Iterable[str] = PRIVATE_PREFIXES) -> None:
    app.add_middleware(PublicRoutesCORS, private_prefixes=tuple(private_prefixes))
