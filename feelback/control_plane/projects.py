"""Operations on projects and their keys, shared by the management API and the CLI.

Contract: ``create_project(session, name, allowed_origins=(), timezone="UTC", retention_days=730)``
returns ``CreatedProject(project, public_key, secret_key)`` with the plaintext keys (shown once);
A project without ``organization_id`` gets an organization of its own, owned by ``owner`` (a ``User``)
or else by the operator account (``users.operator_user``).
``issue_key(session, project, kind, name="")`` returns ``(ApiKey, plaintext)``;
``find_api_key(session, plaintext)`` returns the stored ``ApiKey`` (revoked or not) or None.
Bad input raises ``ValueError`` whose message names the value. Callers commit.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from feelback.control_plane.keys import KeyKind, generate_key, hash_key, key_kind, verify_key
from feelback.control_plane.account_models import User
from feelback.control_plane.models import ApiKey, Project
from feelback.control_plane.organizations import create_organization
from feelback.control_plane.users import operator_user
from feelback.domain import DEFAULT_RETENTION_DAYS, DEFAULT_TIMEZONE, MIN_RETENTION_DAYS, check_single_line, normalize_origin, normalize_timezone

MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class CreatedProject:
    project: Project
    public_key: str
    secret_key: str


def new_project_id(name: str) -> str:
    """A readable, public-safe id: the name's slug plus a random suffix, e.g. ``acme-docs-7f3k9q``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24].strip("-") or "project"
    suffix = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(6))
    return f"{slug}-{suffix}"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError("project name must not be empty")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise ValueError(f"project name must be at most {MAX_NAME_LENGTH} characters")
    return check_single_line(name.strip())


def check_retention_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or days < MIN_RETENTION_DAYS:
        raise ValueError(f"retention days {days!r} must be a whole number of at least {MIN_RETENTION_DAYS}")
    return days


def normalize_origins(origins: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(normalize_origin(origin) for origin in origins))


def issue_key(session: Session, project: Project, kind: KeyKind | str, name: str = "") -> tuple[ApiKey, str]:
    new = generate_key(kind)
    api_key = ApiKey(
        project_id=project.id, kind=new.kind, name=name, prefix=new.prefix, last4=new.last4, key_hash=new.hash
    )
    session.add(api_key)
    session.flush()
    return api_key, new.plaintext


def create_project(
    session: Session,
    name: str,
    allowed_origins: Iterable[str] = (),
    timezone: str = DEFAULT_TIMEZONE,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    organization_id: str | None = None,
    owner: User | None = None,
) -> CreatedProject:
    if organization_id is None:
        organization_id = create_organization(session, check_name(name), owner or operator_user(session)).id
    project = Project(
        id=new_project_id(check_name(name)),
        name=check_name(name),
        organization_id=organization_id,
        allowed_origins=normalize_origins(allowed_origins),
        timezone=normalize_timezone(timezone),
        retention_days=check_retention_days(retention_days),
    )
    session.add(project)
    session.flush()
    _, public_key = issue_key(session, project, KeyKind.public, "default public key")
    _, secret_key = issue_key(session, project, KeyKind.secret, "default secret key")
    return CreatedProject(project=project, public_key=public_key, secret_key=secret_key)


def find_api_key(session: Session, plaintext: str) -> ApiKey | None:
    """The stored key whose hash matches ``plaintext``; looked up by hash, then compared in constant time."""
    if key_kind(plaintext) is None:
        return None
    api_key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext)))
    if api_key is None or not verify_key(plaintext, api_key.key_hash):
        return None
    return api_key
