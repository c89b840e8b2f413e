"""Sign-in lockout in the control-plane DB, so it holds across API processes and restarts.

Contract: ``LockoutPolicy(attempts=10, window_seconds=900, lock_seconds=900)``;
``locked_for(db, email) -> seconds`` (0 when not locked); ``record_failure(db, email, policy)`` counts
a failure (``attempts`` within ``window_seconds`` lock the address for ``lock_seconds``);
``clear(db, email)`` after a successful sign-in. Addresses are stored as sha256, whether or not they
have an account. Callers commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy.orm import Session

from feelback.control_plane.account_models import SignInLockout
from feelback.control_plane.models import utcnow


@dataclass(frozen=True)
class LockoutPolicy:
    attempts: int = 10
    window_seconds: int = 900
    lock_seconds: int = 900


def _key(email: str) -> str:
    return hashlib.sha256(f"sign-in:{email}".encode()).hexdigest()


def locked_for(db: Session, email: str) -> float:
    row = db.get(SignInLockout, _key(email))
    if row is None or row.locked_until is None:
        return 0.0
    return max(0.0, (row.locked_until - utcnow()).total_seconds())


def record_failure(db: Session, email: str, policy: LockoutPolicy) -> None:
    now = utcnow()
    row = db.get(SignInLockout, _key(email), with_for_update=True)
    if row is None:
        row = SignInLockout(key_hash=_key(email), failures=0, window_started_at=now)
        db.add(row)
    if now - row.window_started_at > dt.timedelta(seconds=policy.window_seconds):
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    if row.failures >= policy.attempts:
        row.locked_until = now + dt.timedelta(seconds=policy.lock_seconds)
        row.failures, row.window_started_at = 0, now


def clear(db: Session, email: str) -> None:
    row = db.get(SignInLockout, _key(email))
    if row is not None:
        db.delete(row)
