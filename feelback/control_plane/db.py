"""Engines and sessions for the control-plane DB at ``settings.control_db_url``.

Contract: ``get_engine(settings)`` (one cached engine per URL), ``get_sessionmaker(settings)``,
``session_scope(settings)`` (a session committed on success, rolled back on error),
``engine_url(url)`` (``postgresql://`` → psycopg 3), ``upgrade_control_plane(settings)`` applies the
Alembic migrations up to head and is what ``feelback migrate`` calls.
SQLite runs in WAL mode with foreign keys on and its folder is created on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Lock

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from feelback.settings import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def engine_url(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """A new engine for ``url``; prefer ``get_engine`` which shares one per URL."""
    parsed = engine_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


_engines: dict[str, Engine] = {}
_engines_lock = Lock()


def get_engine(settings: Settings | None = None) -> Engine:
    url = (settings or get_settings()).control_db_url
    with _engines_lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def get_sessionmaker(settings: Settings | None = None) -> sessionmaker[Session]:
    return sessionmaker(get_engine(settings), expire_on_commit=False)


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    with get_sessionmaker(settings).begin() as session:
        yield session


def dispose_engines() -> None:
    """Close every shared engine (tests, and processes that fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def alembic_config(settings: Settings | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR.as_posix())
    # Percent signs in passwords would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", (settings or get_settings()).control_db_url.replace("%", "%%"))
    config.attributes["settings"] = settings or get_settings()
    return config


def current_revision(settings: Settings | None = None) -> str | None:
    from alembic.migration import MigrationContext

    with get_engine(settings).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_control_plane(settings: Settings | None = None, revision: str = "head") -> str:
    """Create or upgrade the control-plane schema; safe to run on every start.

    Returns one line for the operator, e.g. ``upgraded to 0001 (from empty)`` or ``up to date (0001)``.
    """
    from alembic import command

    settings = settings or get_settings()
    before = current_revision(settings)
    config = alembic_config(settings)
    with get_engine(settings).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    after = current_revision(settings)
    if before == after:
        return f"up to date ({after})"
    return f"upgraded to {after} (from {before or 'empty'})"
