"""Organizations, their members, invitations and projects, for signed-in people.

Every route under ``/v1/organizations`` runs ``ingest_api.auth.permissions.authorize`` (router
level), with the role each needs in ``ROUTE_ROLES``; an organization the caller is not a member of
answers 404. ``POST /v1/invitations/accept`` and ``/preview`` take the token of an invitation mail.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy import select

from feelback.control_plane.account_models import Invitation, Membership, Organization, Role, User
from feelback.control_plane.links import BadLink, LinkPurpose
from feelback.control_plane.models import Project, utcnow
from feelback.control_plane.organizations import (
    NotAllowed,
    accept_invitation,
    change_role,
    create_organization,
    find_invitation,
    invite,
    membership_of,
    remove_member,
)
from feelback.control_plane.projects import create_project
from ingest_api.auth.mails import LINK_TTL, AccountMail
from ingest_api.auth.permissions import Access, authorize
from ingest_api.auth.schemas import (
    InvitationCreate,
    InvitationOut,
    InvitationPreview,
    MemberOut,
    OrganizationCreate,
    OrganizationOut,
    OrganizationUpdate,
    RoleUpdate,
    TokenBody,
)
from ingest_api.auth.sessions import CurrentUser
from ingest_api.dependencies import DbSession
from ingest_api.errors import ApiError, conflict, forbidden, not_found
from ingest_api.management_schemas import ProjectCreate, ProjectCreated, ProjectOut
from ingest_api.schema_types import RowId

router = APIRouter(prefix="/v1/organizations", tags=["organizations"], dependencies=[Depends(authorize)])
invitations = APIRouter(prefix="/v1/invitations", tags=["organizations"])
Authorized = Annotated[Access, Depends(authorize)]


def _out(organization: Organization, role: Role) -> OrganizationOut:
    return OrganizationOut(id=organization.id, name=organization.name, created_at=organization.created_at, role=role)


def _rule(exc: ValueError) -> ApiError:
    if isinstance(exc, NotAllowed):
        return forbidden(str(exc), code="role_too_weak")
    return conflict(str(exc))


def _invitation_status(invitation: Invitation, now: dt.datetime) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "withdrawn"
    return "open" if now < invitation.expires_at else "expired"


def _invitation_out(invitation: Invitation) -> InvitationOut:
    return InvitationOut(
        id=invitation.id, organization_id=invitation.organization_id, email=invitation.email, role=invitation.role,
        created_at=invitation.created_at, expires_at=invitation.expires_at, status=_invitation_status(invitation, utcnow()),
    )


def _member_out(membership: Membership) -> MemberOut:
    user = membership.user
    return MemberOut(user_id=user.id, email=user.email, name=user.name, role=membership.role, joined_at=membership.created_at)


@router.get("")
def list_organizations(access: Authorized, db: DbSession) -> list[OrganizationOut]:
    rows = db.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == access.user.id)
        .order_by(Organization.name, Organization.id)
    ).all()
    return [_out(org, role) for org, role in rows]


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: OrganizationCreate, access: Authorized, db: DbSession) -> OrganizationOut:
    """Create an organization; the caller becomes its owner."""
    organization = create_organization(db, body.name, access.user)
    db.commit()
    return _out(organization, Role.owner)


@router.get("/{org_id}")
def get_organization(access: Authorized) -> OrganizationOut:
    return _out(access.organization, access.role)


@router.patch("/{org_id}")
def rename(body: OrganizationUpdate, access: Authorized, db: DbSession) -> OrganizationOut:
    access.organization.name = body.name
    db.commit()
    return _out(access.organization, access.role)


@router.delete("/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_organization(access: Authorized, db: DbSession) -> Response:
    """Delete the organization with its projects, memberships and invitations."""
    db.delete(access.organization)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- projects ---------------------------------------------------------------------------------


@router.get("/{org_id}/projects")
def list_projects(access: Authorized, db: DbSession) -> list[ProjectOut]:
    projects = db.scalars(select(Project).where(Project.organization_id == access.organization.id).order_by(Project.created_at, Project.id))
    return [ProjectOut.model_validate(project) for project in projects]


@router.post("/{org_id}/projects", status_code=status.HTTP_201_CREATED)
def create_org_project(body: ProjectCreate, access: Authorized, db: DbSession) -> ProjectCreated:
    created = create_project(db, body.name, body.allowed_origins, body.timezone, body.retention_days, organization_id=access.organization.id)
    db.commit()
    return ProjectCreated(project=ProjectOut.model_validate(created.project), public_key=created.public_key, secret_key=created.secret_key)


# --- members ----------------------------------------------------------------------------------


def _membership(db, access: Access, user_id: str) -> Membership:
    membership = membership_of(db, access.organization.id, user_id)
    if membership is None:
        raise not_found(f"no member {user_id!r} in organization {access.organization.name!r}")
    return membership


@router.get("/{org_id}/members")
def list_members(access: Authorized, db: DbSession) -> list[MemberOut]:
    memberships = db.scalars(
        select(Membership).join(User).where(Membership.organization_id == access.organization.id).order_by(User.email)
    )
    return [_member_out(membership) for membership in memberships]


@router.patch("/{org_id}/members/{user_id}")
def change_member_role(user_id: str, body: RoleUpdate, access: Authorized, db: DbSession) -> MemberOut:
    """Change a member's role; only owners make or unmake owners, and the last owner stays one."""
    membership = _membership(db, access, user_id)
    try:
        change_role(db, membership, body.role, access.role)
    except ValueError as exc:
        raise _rule(exc) from None
    db.commit()
    return _member_out(membership)


@router.delete("/{org_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove(user_id: str, access: Authorized, db: DbSession) -> Response:
    """Remove a member (or leave, with one's own id); their access ends with this answer."""
    membership = _membership(db, access, user_id)
    try:
        remove_member(db, membership, access.role, access.user.id)
    except ValueError as exc:
        raise _rule(exc) from None
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- invitations ------------------------------------------------------------------------------


def _mail(request: Request) -> AccountMail:
    return request.app.state.account_mail


@router.get("/{org_id}/invitations")
def list_invitations(access: Authorized, db: DbSession) -> list[InvitationOut]:
    rows = db.scalars(select(Invitation).where(Invitation.organization_id == access.organization.id).order_by(Invitation.id.desc()))
    return [_invitation_out(invitation) for invitation in rows]


@router.post("/{org_id}/invitations", status_code=status.HTTP_201_CREATED)
def create_invitation(body: InvitationCreate, request: Request, access: Authorized, db: DbSession) -> InvitationOut:
    """Invite someone by e-mail with a role; the mailed link works for 7 days, once."""
    try:
        invitation, nonce = invite(db, access.organization, body.email, body.role, access.user, LINK_TTL[LinkPurpose.invitation], access.role)
    except ValueError as exc:
        raise _rule(exc) from None
    db.commit()
    mail = _mail(request)
    link = mail.link(LinkPurpose.invitation, {"n": nonce})
    inviter = access.user.name or access.user.email
    mail.send(
        invitation.email,
        f"{inviter} invites you to {access.organization.name} on Feelback",
        f"{inviter} invites you to join {access.organization.name} on Feelback as {invitation.role.value}.\n\n"
        f"Accept with this link (sign up first with this address if you have no account):\n\n{link}\n\n"
        f"The invitation works until {invitation.expires_at:%Y-%m-%d %H:%M} UTC.",
    )
    return _invitation_out(invitation)


@router.delete("/{org_id}/invitations/{invitation_id}")
def withdraw_invitation(invitation_id: RowId, access: Authorized, db: DbSession) -> InvitationOut:
    invitation = db.get(Invitation, invitation_id)
    if invitation is None or invitation.organization_id != access.organization.id:
        raise not_found(f"no invitation {invitation_id} in organization {access.organization.name!r}")
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        db.commit()
    return _invitation_out(invitation)


def _invitation_from_token(request: Request, db, token: str) -> Invitation:
    try:
        payload = _mail(request).load(LinkPurpose.invitation, token)
    except BadLink as exc:
        raise ApiError(410 if exc.expired else 400, "link_expired" if exc.expired else "invalid_link", str(exc)) from None
    invitation = find_invitation(db, str(payload.get("n", "")))
    if invitation is None:
        raise ApiError(400, "invalid_link", "this invitation link is not valid")
    return invitation


@invitations.post("/preview")
def preview_invitation(body: TokenBody, request: Request, db: DbSession) -> InvitationPreview:
    """What an invitation link offers, for the page that asks to accept it (no sign-in needed)."""
    invitation = _invitation_from_token(request, db, body.token)
    return InvitationPreview(
        organization_name=invitation.organization.name, email=invitation.email, role=invitation.role,
        expires_at=invitation.expires_at, status=_invitation_status(invitation, utcnow()),
    )


@invitations.post("/accept")
def accept(body: TokenBody, request: Request, signed_in: CurrentUser, db: DbSession) -> OrganizationOut:
    """Join the organization of the invitation; the signed-in address must be the invited one."""
    invitation = _invitation_from_token(request, db, body.token)
    if not invitation.is_open(utcnow()):
        raise ApiError(410, "invitation_closed", f"this invitation is {_invitation_status(invitation, utcnow())}; ask for a new one")
    try:
        membership = accept_invitation(db, invitation, signed_in.user)
    except ValueError as exc:
        raise _rule(exc) from None
    db.commit()
    return _out(membership.organization, membership.role)
