"""Browser sessions: an opaque random id in a cookie, only its sha256 stored, revocable at any time.

Contract: ``start_session(db, user, settings) -> (UserSession, token)`` (deletes the user's ended sessions); ``resolve_session(db, token,
settings) -> UserSession | None`` (None when unknown, revoked, idle longer than
``session_idle_seconds`` or older than ``session_max_seconds``; refreshes ``last_seen_at`` at most
once a minute); ``revoke_session(db, token)``; ``revoke_user_sessions(db, user_id, keep=None)``.
Callers commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from feelback.control_plane.account_models import User, UserSession
from feelback.control_plane.models import utcnow
from feelback.settings import Settings

TOUCH_EVERY = dt.timedelta(minutes=1)


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, user: User, settings: Settings) -> tuple[UserSession, str]:
    """A new session; the user's ended ones (revoked, idle or too old) are deleted on the way."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(
                UserSession.revoked_at.is_not(None),
                UserSession.expires_at <= now,
                UserSession.last_seen_at <= now - dt.timedelta(seconds=settings.session_idle_seconds),
            ),
        )
    )
    row = UserSession(
        id_hash=session_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(seconds=settings.session_max_seconds),
    )
    db.add(row)
    db.flush()
    return row, token


def idle_deadline(row: UserSession, settings: Settings) -> dt.datetime:
    return min(row.expires_at, row.last_seen_at + dt.timedelta(seconds=settings.session_idle_seconds))


def resolve_session(db: Session, token: str, settings: Settings) -> UserSession | None:
    if not token or len(token) > 200:
        return None
    row = db.get(UserSession, session_hash(token))
    now = utcnow()
    if row is None or row.revoked_at is not None or now >= idle_deadline(row, settings):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return row


def revoke_session(db: Session, token: str) -> None:
    row = db.get(UserSession, session_hash(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def revoke_user_sessions(db: Session, user_id: str, keep: str | None = None) -> None:
    """Revoke every live session of a user, except the one whose hash is ``keep``."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id_hash != keep)
    db.execute(query.values(revoked_at=utcnow()))
