"""Who may connect to the local server, and with which ClickHouse settings, as ClickHouse's users.xml says.

``default`` has the configured password (``FEELBACK_CLICKHOUSE_URL``) and no settings of its own; each
named user of ``FEELBACK_CLICKHOUSE_USERS`` has a password and a profile of ClickHouse settings (such
as ``readonly``) that the engine applies before the request's own, so the engine itself enforces them:
a request cannot lift ``readonly`` because the engine refuses to change it in readonly mode. This is
configuration of the protocol front, not SQL of our own.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from warehouse.local_server.errors import AUTHENTICATION_FAILED, ClickHouseError


@dataclass(frozen=True)
class User:
    name: str
    password: str
    profile: dict[str, str] = field(default_factory=dict)


class Users:
    """The server's users by name; ``authenticate`` returns the profile settings of the one that signs in."""

    def __init__(self, users: list[User]):
        self._users = {user.name: user for user in users}

    @classmethod
    def only_default(cls, password: str = "") -> "Users":
        return cls([User("default", password)])

    def authenticate(self, name: str, password: str) -> dict[str, str]:
        user = self._users.get(name)
        # Compare against something even for an unknown name, so timing does not tell names apart.
        expected = user.password if user is not None else "\0unknown user"
        if not hmac.compare_digest(password.encode(), expected.encode()) or user is None:
            raise ClickHouseError(
                AUTHENTICATION_FAILED,
                f"{name}: Authentication failed: password is incorrect, or there is no user with such name. "
                "(AUTHENTICATION_FAILED)",
            )
        return user.profile


def users_from_settings(settings, default_password: str) -> Users:
    """``default`` with ``default_password``, plus the named users of ``settings.clickhouse_users``."""
    from feelback.generated_secrets import clickhouse_user_password

    named = [
        User(name, clickhouse_user_password(settings, name), {key: str(value) for key, value in user.settings.items()})
        for name, user in settings.clickhouse_users.items()
        if name != "default"
    ]
    return Users([User("default", default_password), *named])
