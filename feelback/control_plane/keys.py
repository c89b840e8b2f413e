"""API keys: ``fb_pk_…`` (public, embedded in web pages) and ``fb_sk_…`` (secret, server side).

Contract: ``generate_key(kind) -> NewKey`` (plaintext shown once, plus what is stored: sha256 hex
``hash``, display ``prefix`` and ``last4``); ``hash_key(plaintext)``; ``verify_key(plaintext, stored_hash)``
compares in constant time; ``key_kind(plaintext)`` tells the kind from the prefix or None.
Only hashes are ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum


class KeyKind(StrEnum):
    public = "public"
    secret = "secret"


KEY_PREFIXES = {KeyKind.public: "fb_pk_", KeyKind.secret: "fb_sk_"}
_RANDOM_BYTES = 24
# Characters of the random part kept in the displayed prefix, enough to tell keys apart in a list.
_SHOWN_CHARS = 6


@dataclass(frozen=True)
class NewKey:
    kind: KeyKind
    plaintext: str
    hash: str
    prefix: str
    last4: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def verify_key(plaintext: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), stored_hash)


def key_kind(plaintext: str) -> KeyKind | None:
    for kind, prefix in KEY_PREFIXES.items():
        if plaintext.startswith(prefix):
            return kind
    return None


def display_prefix(plaintext: str) -> str:
    kind = key_kind(plaintext)
    head = len(KEY_PREFIXES[kind]) if kind else 0
    return plaintext[: head + _SHOWN_CHARS]


def generate_key(kind: KeyKind | str) -> NewKey:
    kind = KeyKind(kind)
    plaintext = KEY_PREFIXES[kind] + secrets.token_urlsafe(_RANDOM_BYTES)
    return NewKey(kind=kind, plaintext=plaintext, hash=hash_key(plaintext), prefix=display_prefix(plaintext), last4=plaintext[-4:])
