"""Password hashing with Argon2id (pwdlib over argon2-cffi, RFC 9106 parameters).

Contract: ``hash_password(plain)``; ``verify_password(plain, stored_hash_or_None) -> (ok, new_hash_or_None)``
spends the same work whether or not there is a stored hash (a dummy hash stands in), so answers for
unknown accounts take as long as for known ones; ``new_hash`` is set when the stored hash used older
parameters and should be replaced. ``check_new_password(plain)`` raises ``ValueError`` naming the rule.
"""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_PASSWORD_LENGTH = 10
# Argon2 hashes any length, but a megabyte-long "password" is a cheap way to burn our CPU.
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHash((Argon2Hasher(),))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("feelback: no such account, same work")


def hash_password(plain: str) -> str:
    return _hasher.hash(plain)


def verify_password(plain: str, stored_hash: str | None) -> tuple[bool, str | None]:
    if not stored_hash:
        _hasher.verify(plain, _dummy_hash())
        return False, None
    return _hasher.verify_and_update(plain, stored_hash)


def check_new_password(plain: str) -> str:
    if not isinstance(plain, str) or len(plain) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(plain) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be at most {MAX_PASSWORD_LENGTH} characters long")
    if not plain.strip():
        raise ValueError("password must not be only spaces")
    return plain
