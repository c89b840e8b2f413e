"""FastAPI dependencies: settings, DB sessions, ClickHouse, API-key auth, content sets, origin checks.

Contract (stable; routers import these):

- ``get_app_settings(request) -> Settings`` — the app's settings (``app.state.settings``).
- ``get_db_session(request) -> Session`` — a control-plane session per request, closed afterwards;
  routes that write call ``session.commit()`` themselves.
- ``get_warehouse(request) -> clickhouse_connect Client`` — one shared client per app, made on first use.
- ``require_public_key -> KeyAuth`` — the key from the ``X-Feelback-Key`` header or the ``key`` query
  parameter; public keys and (in the header only) secret keys are accepted. 401 when missing,
  unknown or revoked, with a message saying which.
- ``require_secret_key -> KeyAuth`` — ``Authorization: Bearer fb_sk_...``; a public key gets 403.
- ``require_admin`` — ``Authorization: Bearer <FEELBACK_ADMIN_TOKEN>``; 403 when no token is configured.
- ``require_project(project_id) -> Project`` — the project's secret key or the admin token; another
  project's key gets 404 like an unknown id. Routes under ``/v1/projects`` use
  ``ingest_api.auth.permissions.authorize``/``current_project`` instead (sessions and roles too);
  ``create_app`` refuses to start when one does not.
- ``get_content_set(set_key) -> ContentSet`` (path parameter ``set_key``, project from the public key)
  and the plain function ``load_content_set(session, project_id, set_key)``; both 404 when unknown.
  ``rules_of(content_set) -> ContentSetRules`` gives the domain view for ``normalize_signal``.
- ``check_origin -> str | None`` — the request's ``Origin`` when the project allows it (or none was
  sent, as from servers); 403 ``origin_not_allowed`` naming the origin otherwise.
  CORS headers and preflight answers come from ``ingest_api.cors`` (installed by ``create_app``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from clickhouse_connect.driver.client import Client
from fastapi import Depends, Header, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from feelback.control_plane.keys import KeyKind, key_kind
from feelback.control_plane.models import ApiKey, ContentSet, Project
from feelback.control_plane.projects import find_api_key
from feelback.domain import CONTENT_SET_KEY_PATTERN, ContentSetRules, origin_allowed
from feelback.settings import Settings
from ingest_api.errors import ApiError, forbidden, not_found, unauthorized

KEY_HEADER = "X-Feelback-Key"
_CONTENT_SET_KEY = re.compile(CONTENT_SET_KEY_PATTERN)


@dataclass(frozen=True)
class KeyAuth:
    project: Project
    api_key: ApiKey

    @property
    def project_id(self) -> str:
        return self.project.id

    @property
    def kind(self) -> KeyKind:
        return self.api_key.kind


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db_session(request: Request) -> Iterator[Session]:
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


def get_warehouse(request: Request) -> Client:
    state = request.app.state
    if getattr(state, "warehouse", None) is None:
        from warehouse.client import get_client

        state.warehouse = get_client(state.settings)
    return state.warehouse


DbSession = Annotated[Session, Depends(get_db_session)]


def _shown(plaintext: str) -> str:
    return f"{plaintext[:12]}…" if len(plaintext) > 12 else plaintext


def authenticate(session: Session, plaintext: str) -> KeyAuth:
    """The project and key behind ``plaintext``; 401 naming the problem when there is none."""
    api_key = find_api_key(session, plaintext)
    if api_key is None:
        if key_kind(plaintext) is None:
            raise unauthorized(f"API key {_shown(plaintext)!r} is not a Feelback key (they start with fb_pk_ or fb_sk_)")
        raise unauthorized(f"API key {_shown(plaintext)} is not valid")
    if api_key.revoked_at is not None:
        raise unauthorized(f"API key {api_key.display} was revoked on {api_key.revoked_at:%Y-%m-%d %H:%M} UTC")
    return KeyAuth(project=api_key.project, api_key=api_key)


def require_public_key(
    session: DbSession,
    header_key: Annotated[str | None, Header(alias=KEY_HEADER, include_in_schema=False)] = None,
    query_key: Annotated[str | None, Query(alias="key", description="The project's public key (fb_pk_...)")] = None,
) -> KeyAuth:
    plaintext = (header_key or query_key or "").strip()
    if not plaintext:
        raise unauthorized(f"missing API key: send the project's public key in the {KEY_HEADER} header or the key query parameter")
    if not header_key and key_kind(plaintext) is KeyKind.secret:
        raise unauthorized("secret keys must not be sent in URLs; use a public key (fb_pk_...) or the X-Feelback-Key header")
    return authenticate(session, plaintext)


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("missing credentials: send 'Authorization: Bearer fb_sk_...' with a secret key of the project")
    return token.strip()


def _is_admin(settings: Settings, token: str) -> bool:
    return bool(settings.admin_token) and hmac.compare_digest(token.encode(), settings.admin_token.encode())


def require_secret_key(
    session: DbSession,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> KeyAuth:
    auth = authenticate(session, _bearer(authorization))
    if auth.kind is not KeyKind.secret:
        raise forbidden("a public key cannot use the management API; use a secret key (fb_sk_...)")
    return auth


def require_admin(
    settings: Annotated[Settings, Depends(get_app_settings)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    if not settings.admin_token:
        raise forbidden("managing projects over HTTP is disabled: set FEELBACK_ADMIN_TOKEN, or use `feelback project create`")
    if not _is_admin(settings, _bearer(authorization)):
        raise unauthorized("the admin token is not valid")


def require_project(
    project_id: Annotated[str, Path(description="The project's id")],
    session: DbSession,
    settings: Annotated[Settings, Depends(get_app_settings)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Project:
    token = _bearer(authorization)
    if _is_admin(settings, token):
        project = session.get(Project, project_id)
    else:
        auth = authenticate(session, token)
        if auth.kind is not KeyKind.secret:
            raise forbidden("a public key cannot use the management API; use a secret key (fb_sk_...)")
        project = auth.project if auth.project_id == project_id else None
    if project is None:
        raise not_found(f"no project {project_id!r} (or the key does not belong to it)")
    return project


def load_content_set(session: Session, project_id: str, set_key: str) -> ContentSet:
    if not _CONTENT_SET_KEY.fullmatch(set_key):  # no such set can exist; and the DB need not see it
        raise not_found(f"no content set {set_key!r} in project {project_id!r}")
    content_set = session.scalar(select(ContentSet).where(ContentSet.project_id == project_id, ContentSet.key == set_key))
    if content_set is None:
        raise not_found(f"no content set {set_key!r} in project {project_id!r}")
    return content_set


def get_content_set(
    set_key: Annotated[str, Path(description="Key of the content set")],
    session: DbSession,
    auth: Annotated[KeyAuth, Depends(require_public_key)],
) -> ContentSet:
    return load_content_set(session, auth.project_id, set_key)


def rules_of(content_set: ContentSet) -> ContentSetRules:
    return ContentSetRules.model_validate(content_set, from_attributes=True)


def load_rules_or_refusal(sessionmaker, project_id: str, set_key: str) -> ContentSetRules | ApiError:
    """A content set's rules, or the 404 to answer, as a value an in-process cache can keep."""
    with sessionmaker() as session:
        try:
            return rules_of(load_content_set(session, project_id, set_key))
        except ApiError as missing:
            return missing


def check_origin(request: Request, auth: Annotated[KeyAuth, Depends(require_public_key)]) -> str | None:
    origin = request.headers.get("origin")
    if origin is None:
        return None
    if not origin_allowed(origin, auth.project.allowed_origins):
        raise forbidden(
            f"origin {origin} is not allowed for project {auth.project_id!r}; "
            f"allowed origins: {', '.join(auth.project.allowed_origins)}",
            code="origin_not_allowed",
        )
    return origin
