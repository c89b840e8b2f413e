"""Organizations, their members and invitations, with the rule that an organization always keeps an owner.

Contract: ``create_organization(db, name, owner)``; ``membership_of(db, org_id, user_id)``;
``change_role(db, membership, role, actor_role)``, ``remove_member(db, membership, actor_role, actor_id)``
raise ``RuleBroken`` (a conflict the caller reports) or ``NotAllowed`` (the actor's role is too weak);
``invite(db, org, email, role, invited_by, ttl) -> (Invitation, nonce)`` (the nonce goes in the link,
only its sha256 is stored); ``find_invitation(db, nonce)``; ``accept_invitation(db, invitation, user)``.
Callers commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feelback.control_plane.account_models import Invitation, Membership, Organization, Role, User
from feelback.control_plane.models import utcnow
from feelback.control_plane.users import new_id, normalize_account_email
from feelback.domain import check_single_line

MAX_ORG_NAME_LENGTH = 200


class RuleBroken(ValueError):
    """The change would break a rule of organizations (e.g. leave one without an owner)."""


class NotAllowed(ValueError):
    """The acting member's role may not make this change."""


def check_org_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("organization name must not be empty")
    if len(name.strip()) > MAX_ORG_NAME_LENGTH:
        raise ValueError(f"organization name must be at most {MAX_ORG_NAME_LENGTH} characters")
    return check_single_line(name.strip())


def create_organization(db: Session, name: str, owner: User) -> Organization:
    organization = Organization(id=new_id("org"), name=check_org_name(name))
    db.add(organization)
    db.flush()
    db.add(Membership(organization_id=organization.id, user_id=owner.id, role=Role.owner))
    db.flush()
    return organization


def membership_of(db: Session, org_id: str, user_id: str) -> Membership | None:
    return db.scalar(select(Membership).where(Membership.organization_id == org_id, Membership.user_id == user_id))


def _owners(db: Session, org_id: str) -> int:
    return db.scalar(select(func.count()).where(Membership.organization_id == org_id, Membership.role == Role.owner)) or 0


def _check_may_touch(target_role: Role, new_role: Role | None, actor_role: Role) -> None:
    if not actor_role.at_least(Role.admin):
        raise NotAllowed("only admins and owners may change members")
    if Role.owner in (target_role, new_role) and actor_role is not Role.owner:
        raise NotAllowed("only an owner may make or unmake owners")


def change_role(db: Session, membership: Membership, role: Role, actor_role: Role) -> Membership:
    role = Role(role)
    if role is membership.role:
        return membership
    _check_may_touch(membership.role, role, actor_role)
    if membership.role is Role.owner and _owners(db, membership.organization_id) == 1:
        raise RuleBroken("an organization must keep an owner: make another member owner first")
    membership.role = role
    db.flush()
    return membership


def remove_member(db: Session, membership: Membership, actor_role: Role, actor_id: str) -> None:
    """Remove a member; anyone may leave, changing others takes admin (owner for owners)."""
    if membership.user_id != actor_id:
        _check_may_touch(membership.role, None, actor_role)
    if membership.role is Role.owner and _owners(db, membership.organization_id) == 1:
        raise RuleBroken("an organization must keep an owner: make another member owner first, or delete the organization")
    db.delete(membership)
    db.flush()


def invitation_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def invite(
    db: Session, organization: Organization, email: str, role: Role, invited_by: User, ttl: dt.timedelta, actor_role: Role
) -> tuple[Invitation, str]:
    role = Role(role)
    if role is Role.owner and actor_role is not Role.owner:
        raise NotAllowed("only an owner may invite an owner")
    email = normalize_account_email(email)
    nonce = secrets.token_urlsafe(24)
    invitation = Invitation(
        organization_id=organization.id,
        email=email,
        role=role,
        nonce_hash=invitation_hash(nonce),
        invited_by=invited_by.id,
        expires_at=utcnow() + ttl,
    )
    db.add(invitation)
    db.flush()
    return invitation, nonce


def find_invitation(db: Session, nonce: str) -> Invitation | None:
    return db.scalar(select(Invitation).where(Invitation.nonce_hash == invitation_hash(nonce)))


def accept_invitation(db: Session, invitation: Invitation, user: User) -> Membership:
    """Join ``user`` to the organization with the invited role (an existing member keeps the stronger role)."""
    if not invitation.is_open(utcnow()):
        raise RuleBroken("this invitation was already used, withdrawn or has expired; ask for a new one")
    if invitation.email != user.email:
        raise NotAllowed(f"this invitation is for {invitation.email}; sign in with that address to accept it")
    invitation.accepted_at = utcnow()
    existing = membership_of(db, invitation.organization_id, user.id)
    if existing is not None:
        if invitation.role.at_least(existing.role):
            existing.role = invitation.role
        db.flush()
        return existing
    membership = Membership(organization_id=invitation.organization_id, user_id=user.id, role=invitation.role)
    db.add(membership)
    db.flush()
    return membership
