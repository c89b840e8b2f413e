"""Session cookies: set on sign-in, read on every request, cleared on sign-out.

``feelback_session`` holds the opaque session id (HttpOnly, SameSite=Lax, Secure when the API is
reached over HTTPS or ``FEELBACK_PUBLIC_URL`` is https, Path=/); ``feelback_csrf`` holds the session's
CSRF token for the panel's script to read (not HttpOnly). Both live as long as the session may.

Contract: ``set_session_cookies(response, request, settings, row, token)``, ``clear_session_cookies``;
``session_from_cookie(request, db, settings) -> UserSession | None``;
``require_user -> SignedIn`` (401 without a live session; runs the CSRF checks on writes), and
``SignedIn(user, session, token)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from feelback.control_plane.account_models import User, UserSession
from feelback.control_plane.sessions import resolve_session
from feelback.settings import Settings
from ingest_api.auth.csrf import UNSAFE_METHODS, check_csrf_token, check_request_origin
from ingest_api.dependencies import DbSession, get_app_settings
from ingest_api.errors import ApiError

SESSION_COOKIE = "feelback_session"
CSRF_COOKIE = "feelback_csrf"


@dataclass(frozen=True)
class SignedIn:
    user: User
    session: UserSession
    token: str


def _secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.api_base_url.startswith("https://")


def set_session_cookies(response: Response, request: Request, settings: Settings, row: UserSession, token: str) -> None:
    common = {"max_age": settings.session_max_seconds, "path": "/", "secure": _secure(request, settings), "samesite": "lax"}
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **common)
    response.set_cookie(CSRF_COOKIE, row.csrf_token, httponly=False, **common)


def clear_session_cookies(response: Response, request: Request, settings: Settings) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=_secure(request, settings), httponly=name == SESSION_COOKIE, samesite="lax")


def session_from_cookie(request: Request, db: Session, settings: Settings) -> tuple[UserSession, str] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    row = resolve_session(db, token, settings)
    return None if row is None else (row, token)


def signed_in_or_401(request: Request, db: Session, settings: Settings) -> SignedIn:
    found = session_from_cookie(request, db, settings)
    if found is None:
        message = "your session has ended; sign in again" if request.cookies.get(SESSION_COOKIE) else "sign in first"
        raise ApiError(401, "not_signed_in", message)
    row, token = found
    if request.method in UNSAFE_METHODS:
        check_request_origin(request, settings)
        check_csrf_token(request, row.csrf_token)
    return SignedIn(user=row.user, session=row, token=token)


def require_user(
    request: Request, db: DbSession, settings: Annotated[Settings, Depends(get_app_settings)]
) -> SignedIn:
    return signed_in_or_401(request, db, settings)


CurrentUser = Annotated[SignedIn, Depends(require_user)]
