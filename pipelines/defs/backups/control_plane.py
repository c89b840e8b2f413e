"""Backup and restore of the control-plane DB: SQLite's online backup API, or pg_dump / psql.

Both copy a consistent snapshot while the API keeps writing. Restoring replaces every table's rows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import make_url

from feelback.control_plane.db import dispose_engines, get_engine
from feelback.settings import Settings

SQLITE_FILE = "control.db"
POSTGRES_FILE = "control.sql"


def dialect(settings: Settings) -> str:
    return make_url(settings.control_db_url).get_backend_name()


def table_counts(settings: Settings) -> dict[str, int]:
    engine = get_engine(settings)
    with engine.connect() as connection:
        names = sorted(inspect(connection).get_table_names())
        return {name: int(connection.scalar(select(func.count()).select_from(table(name)))) for name in names}


def _sqlite_path(settings: Settings) -> Path:
    return Path(make_url(settings.control_db_url).database or "")


def _postgres_dsn(settings: Settings) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment carrying it."""
    url = make_url(settings.control_db_url).set(drivername="postgresql")
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def back_up(settings: Settings, folder: Path) -> str:
    """Write the snapshot into ``folder``; returns its file name."""
    if dialect(settings) == "sqlite":
        target = folder / SQLITE_FILE
        source = sqlite3.connect(_sqlite_path(settings))
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return SQLITE_FILE
    dsn, env = _postgres_dsn(settings)
    target = folder / POSTGRES_FILE
    _tool("pg_dump")
    subprocess.run(
        ["pg_dump", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--file", str(target), dsn],
        env=env, check=True, capture_output=True, text=True,
    )
    return POSTGRES_FILE


def restore(settings: Settings, folder: Path, file_name: str) -> None:
    dispose_engines()  # no pooled connection may keep the old state (or a lock) open
    if file_name == SQLITE_FILE:
        live = _sqlite_path(settings)
        live.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(folder / SQLITE_FILE)
        target = sqlite3.connect(live)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    dsn, env = _postgres_dsn(settings)
    _tool("psql")
    subprocess.run(
        ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--single-transaction", "--file", str(folder / file_name), dsn],
        env=env, check=True, capture_output=True, text=True,
    )


def _tool(name: str) -> None:
    if shutil.which(name) is None:
        raise RuntimeError(f"{name} is not installed; it is needed to back up and restore a PostgreSQL control-plane DB")

