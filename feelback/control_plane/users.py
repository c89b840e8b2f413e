"""User accounts: e-mail addresses, passwords, and the operator account that owns CLI-made projects.

Contract: ``normalize_account_email(value)`` (lower case, syntax checked; ``ValueError`` otherwise);
``find_user(session, email)``; ``create_user(session, email, password=None, name="", verified=False)``
raises ``AccountExists`` for a taken address; ``ensure_user(session, email)`` creates or links (the
CLI's ``--owner``); ``set_password(user, plain)`` and ``rotate_link_nonce(user)`` make every link
sent before unusable; ``operator_user(session)`` is the account that owns projects made without an
owner (it has no password and its address cannot receive mail, so nobody signs in as it).
Callers commit.
"""

from __future__ import annotations

import secrets

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from feelback.control_plane.account_models import User
from feelback.control_plane.models import utcnow
from feelback.control_plane.passwords import check_new_password, hash_password
from feelback.domain import check_single_line

OPERATOR_USER_ID = "usr_operator"
OPERATOR_EMAIL = "operator@feelback.localhost"
MAX_EMAIL_LENGTH = 254


class AccountExists(ValueError):
    pass


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


def normalize_account_email(value: object) -> str:
    if isinstance(value, str) and 0 < len(value.strip()) <= MAX_EMAIL_LENGTH:
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            pass
    raise ValueError("must be an e-mail address like name@example.com")


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email))


def rotate_link_nonce(user: User) -> None:
    user.link_nonce = secrets.token_hex(16)


def set_password(user: User, plain: str) -> None:
    user.password_hash = hash_password(check_new_password(plain))
    rotate_link_nonce(user)


def create_user(session: Session, email: str, password: str | None = None, name: str = "", verified: bool = False) -> User:
    email = normalize_account_email(email)
    if find_user(session, email) is not None:
        raise AccountExists(f"there is already an account for {email}")
    try:
        name = check_single_line(name.strip()[:200])  # it reaches the Subject of invitations
    except ValueError as exc:
        raise ValueError(f"name {exc}") from None
    user = User(id=new_id("usr"), email=email, name=name, verified_at=utcnow() if verified else None)
    rotate_link_nonce(user)
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


def ensure_user(session: Session, email: str) -> tuple[User, bool]:
    """The account of ``email``, made (without a password) when there is none; ``(user, created)``."""
    existing = find_user(session, normalize_account_email(email))
    if existing is not None:
        return existing, False
    # The CLI's operator vouches for the address: its owner sets a password through a reset link.
    return create_user(session, email, verified=True), True


def operator_user(session: Session) -> User:
    user = session.get(User, OPERATOR_USER_ID)
    if user is None:
        user = User(id=OPERATOR_USER_ID, email=OPERATOR_EMAIL, name="Feelback operator", link_nonce=secrets.token_hex(16))
        session.add(user)
        session.flush()
    return user
