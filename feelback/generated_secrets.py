"""Secrets generated once and kept under ``<home>/secrets/`` when a setting leaves them empty.

Several processes (the ClickHouse server, Superset, the CLI) may ask for the same secret at the same
time; the first to write it wins and everyone reads the same value.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def generated_secret(home: Path, name: str) -> str:
    """The secret ``name`` under ``home/secrets/``, created (URL-safe, 32 random bytes) on first use."""
    path = Path(home) / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        temporary.write_text(secrets.token_urlsafe(32))
        temporary.chmod(0o600)
        try:
            os.link(temporary, path)  # atomic, and never replaces a secret another process wrote first
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


def clickhouse_user_password(settings, name: str) -> str:
    """The password of a named user of the local ClickHouse server: its setting, or generated once."""
    user = settings.clickhouse_users[name]
    return user.password or generated_secret(settings.home, f"clickhouse-user-{name}")
