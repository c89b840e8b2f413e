"""Who may call which private route: one dependency, ``authorize``, and one table, ``ROUTE_ROLES``.

Every route under ``GUARDED_PREFIXES`` must run ``authorize`` (the management, exports and
organizations routers carry it at router level, so their routes cannot leave it out) and must have an
entry in ``ROUTE_ROLES``; ``check_guarded_routes(app)`` (called by ``create_app``) refuses to start an
app where either is missing, or where an entry names no route. Callers, in order:

- ``Authorization: Bearer <FEELBACK_ADMIN_TOKEN>`` — the operator: every project route, nothing under
  ``/v1/organizations``.
- ``Authorization: Bearer fb_sk_...`` — a secret key acts for its own project only, with every right
  on it (as before accounts existed); another project's routes answer 404, organization routes 403.
- the ``feelback_session`` cookie — a signed-in person, with the role of their membership in the
  organization the project (or ``{org_id}``) belongs to; writes pass the CSRF checks first.

What a person outside the organization asks for answers 404, as if it did not exist; a member whose
role is too weak gets 403 naming the role needed. The role needed is also in the OpenAPI schema as
``x-feelback-role`` on each operation.

Contract: ``authorize -> Access`` (also kept in ``request.state.access``), ``current_project``,
``current_organization``, ``ROUTE_ROLES``, ``OPERATOR``, ``SIGNED_IN``, ``check_guarded_routes``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from feelback.control_plane.account_models import Membership, Organization, Role, User
from feelback.control_plane.keys import KeyKind
from feelback.control_plane.models import Project
from feelback.control_plane.organizations import membership_of
from feelback.settings import Settings
from ingest_api.auth.sessions import SESSION_COOKIE, SignedIn, signed_in_or_401
from ingest_api.dependencies import DbSession, KeyAuth, authenticate, get_app_settings
from ingest_api.errors import ApiError, forbidden, not_found, unauthorized

OPERATOR = "operator"  # only FEELBACK_ADMIN_TOKEN
SIGNED_IN = "signed-in"  # any signed-in person (the route itself scopes what they see)
GUARDED_PREFIXES = ("/v1/projects", "/v1/organizations")

V, M, A, O = Role.viewer, Role.member, Role.admin, Role.owner
P = "/v1/projects/{project_id}"
G = "/v1/organizations/{org_id}"

ROUTE_ROLES: dict[str, Role | str] = {
    # projects (management router)
    "POST /v1/projects": OPERATOR,
    "GET /v1/projects": OPERATOR,
    f"GET {P}": V,
    f"PATCH {P}": A,
    f"DELETE {P}": O,
    f"GET {P}/retention": V,
    f"PUT {P}/retention": A,
    f"GET {P}/keys": V,
    f"POST {P}/keys": A,
    f"DELETE {P}/keys/{{key_id}}": A,
    f"GET {P}/content-sets": V,
    f"POST {P}/content-sets": M,
    f"GET {P}/content-sets/{{set_key}}": V,
    f"PATCH {P}/content-sets/{{set_key}}": M,
    f"DELETE {P}/content-sets/{{set_key}}": M,
    f"GET {P}/recap-subscriptions": V,
    f"POST {P}/recap-subscriptions": M,
    f"DELETE {P}/recap-subscriptions/{{subscription_id}}": M,
    f"GET {P}/signals": V,
    f"PUT {P}/signals/{{signal_id}}/triage": M,
    f"GET {P}/overview": V,  # panel_overview
    # exports
    f"POST {P}/exports": M,
    f"GET {P}/exports": V,
    f"GET {P}/exports/{{export_id}}": V,
    # the panel's reads (ingest_api/routers/panel_*.py)
    f"GET {P}/overview": V,
    f"POST {P}/signals/triage": M,
    f"GET {P}/erasures": V,
    f"GET {P}/erasures/preview": V,
    f"POST {P}/erasures": A,
    f"GET {P}/recaps/preview": V,  # panel_recaps
    # organizations
    "GET /v1/organizations": SIGNED_IN,
    "POST /v1/organizations": SIGNED_IN,
    f"GET {G}": V,
    f"PATCH {G}": A,
    f"DELETE {G}": O,
    f"GET {G}/projects": V,
    f"POST {G}/projects": A,
    f"GET {G}/members": V,
    f"PATCH {G}/members/{{user_id}}": A,
    f"DELETE {G}/members/{{user_id}}": V,  # anyone may leave; removing someone else takes admin (checked in the route)
    f"GET {G}/invitations": A,
    f"POST {G}/invitations": A,
    f"DELETE {G}/invitations/{{invitation_id}}": A,
}


@dataclass
class Access:
    """Who is calling and what the route is about; ``role`` is None for keys and the operator."""

    user: User | None = None
    session: SignedIn | None = None
    key: KeyAuth | None = None
    operator: bool = False
    project: Project | None = None
    organization: Organization | None = None
    membership: Membership | None = None

    @property
    def role(self) -> Role | None:
        return self.membership.role if self.membership else None


def route_contexts(app: FastAPI) -> Iterator[tuple[APIRoute, str, set[str], Any]]:
    """(route object, full path, methods, dependant with router-level dependencies) of every API route."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x includes routers lazily
    except ImportError:
        iter_route_contexts = None
    if iter_route_contexts is None:
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route, route.path, set(route.methods or ()), route.dependant
        return
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield route, context.path, set(context.methods or ()), getattr(context, "dependant", route.dependant)


def _needed(request: Request) -> tuple[str, Role | str]:
    route = request.scope.get("route")
    declared = getattr(request.app.state, "route_roles", {}).get((id(route), request.method))
    if declared is None:
        # check_guarded_routes makes this unreachable in an app built by create_app.
        raise RuntimeError(f"route {request.method} {getattr(route, 'path', request.url.path)} declares no role in ROUTE_ROLES")
    return declared


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not scheme:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("send credentials as 'Authorization: Bearer ...' (a secret key fb_sk_... or the admin token)")
    return token.strip()


def _is_admin(settings: Settings, token: str) -> bool:
    return bool(settings.admin_token) and hmac.compare_digest(token.encode(), settings.admin_token.encode())


def _missing_credentials() -> ApiError:
    return unauthorized(
        "missing credentials: send 'Authorization: Bearer fb_sk_...' with a secret key of the project, or sign in"
    )


def _caller(request: Request, db: Session, settings: Settings, needed: Role | str) -> Access:
    token = _bearer_token(request)
    if token is not None:
        if _is_admin(settings, token):
            return Access(operator=True)
        if needed == OPERATOR:
            if not settings.admin_token:
                raise forbidden("managing projects over HTTP is disabled: set FEELBACK_ADMIN_TOKEN, or use `feelback project create`")
            raise unauthorized("the admin token is not valid")
        key = authenticate(db, token)
        if key.kind is not KeyKind.secret:
            raise forbidden("a public key cannot use the management API; use a secret key (fb_sk_...)")
        return Access(key=key)
    if request.cookies.get(SESSION_COOKIE):
        signed_in = signed_in_or_401(request, db, settings)
        return Access(user=signed_in.user, session=signed_in)
    if needed == OPERATOR and not settings.admin_token:
        raise forbidden("managing projects over HTTP is disabled: set FEELBACK_ADMIN_TOKEN, or use `feelback project create`")
    raise _missing_credentials()


def _hidden_project(project_id: str) -> ApiError:
    return not_found(f"no project {project_id!r} (or the key does not belong to it)")


def _hidden_org(org_id: str) -> ApiError:
    return not_found(f"no organization {org_id!r} (or you are not a member)")


def _check_role(access: Access, needed: Role, what: str) -> None:
    if not access.role.at_least(needed):
        raise forbidden(
            f"your role in organization {access.organization.name!r} is {access.role.value}; {what} takes {needed.value} or more",
            code="role_too_weak",
        )


def authorize(request: Request, db: DbSession, settings: Annotated[Settings, Depends(get_app_settings)]) -> Access:
    what, needed = _needed(request)
    access = _caller(request, db, settings, needed)
    project_id = request.path_params.get("project_id")
    org_id = request.path_params.get("org_id")
    if needed == OPERATOR:
        if not access.operator:
            raise forbidden("only the operator (FEELBACK_ADMIN_TOKEN) may do this; people create projects under /v1/organizations/{org_id}/projects")
    elif project_id is not None:
        if access.operator:
            access.project = db.get(Project, project_id)
        elif access.key is not None:
            access.project = access.key.project if access.key.project_id == project_id else None
        else:
            project = db.get(Project, project_id)
            membership = membership_of(db, project.organization_id, access.user.id) if project else None
            if membership is not None:
                access.project, access.membership, access.organization = project, membership, membership.organization
        if access.project is None:
            raise _hidden_project(project_id)
        if access.membership is not None:
            _check_role(access, Role(needed), what)
    elif access.user is None:
        raise forbidden("organizations are managed by signed-in people; a key or the admin token acts on projects only")
    elif org_id is not None:
        access.membership = membership_of(db, org_id, access.user.id)
        if access.membership is None:
            raise _hidden_org(org_id)
        access.organization = access.membership.organization
        _check_role(access, Role(needed), what)
    request.state.access = access
    return access


Authorized = Annotated[Access, Depends(authorize)]


def current_project(access: Authorized) -> Project:
    return access.project


def current_organization(access: Authorized) -> Organization:
    return access.organization


def _runs_authorize(dependant: Any) -> bool:
    stack = list(dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if dependant.call is authorize:
            return True
        stack.extend(dependant.dependencies)
    return False


def check_guarded_routes(app: FastAPI) -> None:
    """Fail at start-up unless every guarded route runs ``authorize`` and declares its role; record
    each route's role for ``authorize`` (``app.state.route_roles``) and the OpenAPI schema."""
    problems: list[str] = []
    roles: dict[tuple[int, str], tuple[str, Role | str]] = {}
    for route, path, methods, dependant in route_contexts(app):
        guarded = path.startswith(GUARDED_PREFIXES)
        runs = _runs_authorize(dependant)
        if guarded and not runs:
            problems.append(f"{', '.join(sorted(methods))} {path} does not run ingest_api.auth.permissions.authorize")
        if guarded or runs:
            for method in methods:
                key = f"{method} {path}"
                if key not in ROUTE_ROLES:
                    problems.append(f"{key} has no role in ROUTE_ROLES")
                else:
                    roles[(id(route), method)] = (key, ROUTE_ROLES[key])
    problems += [f"ROUTE_ROLES names {key}, which is no route" for key in sorted(set(ROUTE_ROLES) - {key for key, _ in roles.values()})]
    if problems:
        raise RuntimeError("private routes without a declared permission:\n  " + "\n  ".join(problems))
    app.state.route_roles = roles
    _add_roles_to_openapi(app)


def _declare_path_parameters(path: str, operation: dict[str, Any]) -> None:
    """Path parameters read by ``authorize`` from the request (``project_id``, ``org_id``) rather than
    from the route's signature, added to the operation so typed clients can fill them in."""
    parameters = operation.setdefault("parameters", [])
    declared = {parameter["name"] for parameter in parameters if parameter.get("in") == "path"}
    missing = [name for name in re.findall(r"{(\w+)}", path) if name not in declared]
    operation["parameters"] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "title": name.replace("_", " ").capitalize()}}
        for name in missing
    ] + parameters


def _add_roles_to_openapi(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            if path.startswith(GUARDED_PREFIXES):
                for operation in operations.values():
                    _declare_path_parameters(path, operation)
        for key, role in ROUTE_ROLES.items():
            method, path = key.split(" ", 1)
            operation = schema.get("paths", {}).get(path, {}).get(method.lower())
            if operation is not None:
                operation["x-feelback-role"] = str(role)
        return schema

    app.openapi = openapi
