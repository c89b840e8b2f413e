"""Who sent a signal, without keeping who they are; and who may edit it, without a lookup.

* Visitors. No IP address is ever stored. ``visitor_id`` is sha256 of (today's salt, IP, user agent,
  project), the way Plausible counts visitors: the salt is random, made once per UTC day, kept under
  ``<home>/ingest/salts/`` and deleted the next day, so yesterday's ids cannot be recomputed from an
  IP address by anyone, including us. An SDK may send its own ``anonymous_id`` instead.
  Several machines behind one load balancer need a shared salt folder (or they count one visitor
  once per machine per day).
* Edit tokens. ``create`` hands the client a token: (visitor, content set, content key, signal type,
  expiry) and an HMAC-SHA256 over them and the project and signal id, with the ingest secret. An edit
  or revoke carries it back; checking the MAC proves the client created that signal and says when its
  window closes, so edits need no database round trip, and the edit event gets the same visitor and
  content as the create. Project and signal id are not in the token (the request names them), only
  under its MAC. (Tokens issued before that carried them too; they are still accepted.)
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import NamedTuple

import orjson


def _write_once(path: Path, data: bytes) -> bytes:
    """Create ``path`` with ``data`` unless another process got there first; return what it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with open(temporary, "wb") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(temporary, path)  # atomic: fails if the file exists, never leaves a half-written one
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes()


def load_or_create_secret(path: Path) -> bytes:
    """The secret stored at ``path``, generated (32 random bytes) on first use."""
    if path.exists():
        return path.read_bytes()
    return _write_once(path, secrets.token_bytes(32))


class DailySalts:
    """Today's (UTC) random salt; salts of other days are deleted as soon as a new day starts."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._day: dt.date | None = None
        self._salt = b""

    def salt_for(self, day: dt.date) -> bytes:
        if day != self._day:
            path = self.directory / f"{day.isoformat()}.salt"
            self._salt = path.read_bytes() if path.exists() else _write_once(path, secrets.token_bytes(32))
            self._day = day
            for old in self.directory.glob("*.salt"):
                if old.name < path.name:  # ISO dates sort by time; a clock running behind keeps tomorrow's
                    old.unlink(missing_ok=True)
        return self._salt


def visitor_hash(salt: bytes, ip: str, user_agent: str, project_id: str) -> str:
    digest = hashlib.sha256(salt)
    for part in (ip, user_agent, project_id):
        digest.update(b"\x00")
        digest.update(part.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


class EditTokenError(ValueError):
    """The edit token is malformed, forged, or for another signal; ``str()`` says which in plain words."""


class EditGrant(NamedTuple):
    """What a valid edit token says about its signal (a tuple: one is built per create)."""

    project_id: str
    signal_id: str
    visitor_id: str
    content_set: str
    content_key: str
    signal_type: str
    editable_until_ms: int


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_URLSAFE).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EditTokens:
    """Stateless edit tokens: ``<payload>.<mac>``, both base64url, the MAC truncated to 128 bits."""

    def __init__(self, secret: bytes):
        self._secret = secret
        # HMAC-SHA256 (RFC 2104) with the keyed inner and outer states computed once: a token then
        # costs two hash copies instead of a full HMAC setup (same MAC as hmac.digest).
        key = secret if len(secret) <= 64 else hashlib.sha256(secret).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def _mac(self, *parts: bytes) -> bytes:
        inner = self._inner.copy()
        for part in parts:
            inner.update(part)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:16]

    @staticmethod
    def _bound_to(project_id: str, signal_id: str) -> bytes:
        """What the MAC covers besides the payload (tagged: a legacy payload starts with ``[``)."""
        return f"v2\0{project_id}\0{signal_id}\0".encode()

    def issue(self, grant: EditGrant) -> str:
        return self.issue_for(*grant)

    def issue_for(self, project_id: str, signal_id: str, visitor_id: str, content_set: str, content_key: str,
                  signal_type: str, editable_until_ms: int) -> str:  # fmt: skip
        """``issue(EditGrant(...))`` without building the grant (it runs for every create)."""
        payload = orjson.dumps([visitor_id, content_set, content_key, signal_type, editable_until_ms])
        return f"{_b64(payload)}.{_b64(self._mac(self._bound_to(project_id, signal_id), payload))}"

    def verify(self, token: str, project_id: str, signal_id: str) -> EditGrant:
        """The grant inside ``token`` if its MAC is ours and it is for this project's ``signal_id``."""
        problem = "edit_token is not a token issued for this signal (use the edit_token returned by create)"
        payload_text, dot, mac_text = token.partition(".")
        try:
            payload, mac = _unb64(payload_text), _unb64(mac_text)
        except (ValueError, TypeError):
            raise EditTokenError(problem) from None
        if not dot:
            raise EditTokenError(problem)
        if hmac.compare_digest(mac, self._mac(self._bound_to(project_id, signal_id), payload)):
            return EditGrant(project_id, signal_id, *orjson.loads(payload))
        # Issued before tokens were bound to their signal: this branch can go once the longest edit
        # window (MAX_EDIT_WINDOW_SECONDS) has passed since the release that bound them.
        if hmac.compare_digest(mac, self._mac(payload)):
            grant = EditGrant(*orjson.loads(payload))
            if grant.project_id == project_id and grant.signal_id == signal_id:
                return grant
        raise EditTokenError(problem)
