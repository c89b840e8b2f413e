"""CSRF defence for requests a session cookie authenticates.

Two independent checks, both needed for a write (POST, PUT, PATCH, DELETE):
1. where it comes from: a browser's ``Origin`` (or, without one, ``Sec-Fetch-Site``) must be the API's
   own origin or one of ``FEELBACK_PANEL_ORIGINS``; ``Sec-Fetch-Site: cross-site`` is always refused.
   Clients that are not browsers send neither header and pass this check;
2. a double-submit token: ``X-CSRF-Token`` must equal the session's token (``GET /v1/me`` returns it,
   and the readable ``feelback_csrf`` cookie holds it). A cross-site page can make the browser send
   the cookie, but can neither read nor forge the token.
Sign-in and sign-up forms (no session yet) pass the first check only, which stops login CSRF.

Contract: ``trusted_origins(request, settings)``, ``check_request_origin(request, settings)`` and
``check_csrf_token(request, expected)``; both raise 403 ``csrf_refused`` with the reason.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Request

from feelback.settings import Settings
from ingest_api.errors import forbidden

CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def trusted_origins(request: Request, settings: Settings) -> set[str]:
    own = f"{request.url.scheme}://{request.url.netloc}".lower()
    configured = {_origin_of(origin) for origin in settings.panel_origins.split(",") if origin.strip()}
    return {own, _origin_of(settings.api_base_url), *configured} - {""}


def check_request_origin(request: Request, settings: Settings) -> None:
    origin = request.headers.get("origin")
    if origin is not None:
        if origin == "null" or _origin_of(origin) not in trusted_origins(request, settings):
            raise forbidden(f"requests from origin {origin} may not use a Feelback session", code="csrf_refused")
        return
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        raise forbidden("cross-site requests may not use a Feelback session", code="csrf_refused")


def check_csrf_token(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise forbidden(
            f"missing or wrong {CSRF_HEADER} header: send the csrf_token of GET /v1/me (or of the feelback_csrf cookie) "
            "with every change made with a session",
            code="csrf_refused",
        )
