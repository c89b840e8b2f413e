"""Signed, expiring tokens for the links in account mails and the recap preview (itsdangerous, one salt per purpose).

Contract: ``LinkSigner(secret)``; ``sign(purpose, payload) -> token``; ``load(purpose, token, max_age)``
returns the payload or raises ``BadLink`` (its ``expired`` tells an old link from a forged or mangled
one). A token of one purpose is never accepted for another. ``auth_secret(settings)`` is
``FEELBACK_AUTH_SECRET`` or 32 random bytes kept in ``<home>/secrets/auth`` (made on first use; set
the variable when several API machines must accept each other's links).
Single use is the caller's business: payloads carry a nonce that changes once the link is used.
"""

from __future__ import annotations

import os
import secrets
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from feelback.settings import Settings


class LinkPurpose(StrEnum):
    verify_email = "verify-email"
    magic_sign_in = "magic-sign-in"
    reset_password = "reset-password"
    change_email = "change-email"
    invitation = "invitation"
    recap_preview = "recap-preview"  # not mailed: the panel's frame loads the recap preview by it


class BadLink(ValueError):
    def __init__(self, message: str, expired: bool = False):
        super().__init__(message)
        self.expired = expired


class LinkSigner:
    def __init__(self, secret: bytes):
        self._secret = secret

    def _serializer(self, purpose: LinkPurpose) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret, salt=f"feelback {purpose.value}")

    def sign(self, purpose: LinkPurpose, payload: dict[str, Any]) -> str:
        return self._serializer(purpose).dumps(payload)

    def load(self, purpose: LinkPurpose, token: str, max_age: int) -> dict[str, Any]:
        try:
            payload = self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise BadLink("this link has expired; ask for a new one", expired=True) from None
        except BadSignature:
            raise BadLink("this link is not valid (it may be incomplete: copy the whole link)") from None
        if not isinstance(payload, dict):
            raise BadLink("this link is not valid")
        return payload


def auth_secret(settings: Settings) -> bytes:
    if settings.auth_secret:
        return settings.auth_secret.encode()
    path = Path(settings.home) / "secrets" / "auth"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(descriptor, "wb") as file:
                file.write(secrets.token_bytes(32))
    for _ in range(100):  # a file just made by another process may still be empty for a moment
        secret = path.read_bytes()
        if len(secret) == 32:
            return secret
        time.sleep(0.01)
    raise RuntimeError(f"{path} does not hold a 32-byte secret; delete it to have a new one made")
