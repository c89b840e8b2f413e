"""Ownership of the one chDB engine of a data directory, and connections to it.

chDB is ClickHouse's engine in-process, and only one process at a time may open a data
directory. ``Engine`` takes an exclusive lock on the directory (so a second server fails at once
with a clear message), keeps the engine open, and hands out ``EngineConnection``s: a pool for
one-off requests and one connection per client session, because chDB keeps session state
(``SET``, temporary tables, current database) per connection, as ClickHouse keeps it per session.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from chdb.state.sqlitelike import Connection

from warehouse.local_server.errors import SESSION_IS_LOCKED, SESSION_NOT_FOUND, ClickHouseError

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IDLE_POOL_SIZE = 32
# A session's next request may arrive (on another connection) while its previous one, its answer
# already sent, is still letting the session go: it waits this long before SESSION_IS_LOCKED.
SESSION_WAIT_SECONDS = 2.0


class DataDirectoryBusy(RuntimeError):
    pass


def _setting_literal(value: str) -> str:
    if _NUMBER.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class QueryStats:
    """What the engine reports about one query, in the terms of ClickHouse's ``X-ClickHouse-Summary``."""

    read_rows: int = 0
    read_bytes: int = 0
    written_rows: int = 0
    written_bytes: int = 0
    result_rows: int = 0
    result_bytes: int = 0

    def add_result(self, result) -> None:
        """Add a chDB query result (or one streamed chunk of it): its rows are result rows."""
        self.result_rows += result.rows_read()
        self.result_bytes += result.bytes_read()
        self.read_rows += result.storage_rows_read()
        self.read_bytes += result.storage_bytes_read()
        self.written_rows += result.rows_written()
        self.written_bytes += result.bytes_written()


def _quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class EngineConnection:
    """One chDB connection; remembers which settings requests applied so the next can undo them."""

    def __init__(self, path: str):
        self._conn = Connection(path)
        self._applied: dict[str, str] = {}
        self._database: str | None = "default"
        self.broken = False

    def apply_settings(self, wanted: dict[str, str], profile: dict[str, str] | None = None) -> None:
        """Make exactly ``wanted`` the request-level settings, resetting those of earlier requests.

        A user's ``profile`` (warehouse.local_server.users) is applied first, so the engine judges the
        request's own settings under it (it refuses to lift ``readonly``, for one).
        """
        if profile:
            self._apply(profile)
            wanted = {**profile, **wanted}
        self._apply(wanted)

    def _apply(self, wanted: dict[str, str]) -> None:
        assignments = [
            f"{name} = {_setting_literal(value)}" for name, value in wanted.items() if self._applied.get(name) != value
        ]
        assignments += [f"{name} = DEFAULT" for name in self._applied if name not in wanted]
        if not assignments:
            return
        for name in wanted:
            if not _SETTING_NAME.match(name):
                raise ClickHouseError(115, f"Unknown setting '{name}'. (UNKNOWN_SETTING)")
        if "readonly" in wanted:
            # Once readonly is on, the engine refuses to turn it off again: the connection cannot be reused.
            self.broken = True
        try:
            self._conn.query("SET " + ", ".join(assignments), "TSV")
        except Exception as exc:
            self.broken = True
            raise ClickHouseError.from_engine(exc) from None
        self._applied = dict(wanted)

    def use_database(self, name: str) -> None:
        """Make ``name`` the current database (a no-op when it already is)."""
        if name == self._database:
            return
        try:
            self._conn.query("USE " + _quote_identifier(name), "TSV")
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        self._database = name

    def forget_database(self) -> None:
        """A statement may have changed the current database behind our back (``USE``)."""
        self._database = None

    def query(
        self, sql: str, fmt: str, params: dict[str, str] | None = None, stats: QueryStats | None = None
    ) -> bytes:
        try:
            result = self._conn.query(sql, fmt, params=params or None)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        if stats is not None:
            stats.add_result(result)
        return result.bytes()

    def stream(
        self, sql: str, fmt: str, params: dict[str, str] | None = None, stats: QueryStats | None = None
    ) -> Iterator[bytes]:
        """Run a query and yield its output chunk by chunk (one engine block per chunk).

        chDB formats every chunk on its own, so only formats without a header or footer (Native,
        TabSeparated, CSV, JSONEachRow, RowBinary, ...) concatenate into one valid output.
        """
        try:
            result = self._conn.send_query(sql, fmt, params=params or None)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        try:
            while True:
                try:
                    chunk = result.fetch()
                except Exception as exc:
                    raise ClickHouseError.from_engine(exc) from None
                if chunk is None:
                    return
                if stats is not None:
                    stats.add_result(chunk)
                yield chunk.bytes()
        finally:
            try:
                result.close()
            except Exception:
                pass

    def insert(self, head: str, fmt: str, chunks, stats: QueryStats | None = None) -> int:
        """Stream ``chunks`` of ``fmt``-encoded data into ``head`` (``INSERT INTO t (cols)``); returns rows written."""
        try:
            inserter = self._conn.send_insert(head, fmt)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        try:
            for chunk in chunks:
                if chunk:
                    inserter.append(chunk)
            result = inserter.finish()
            if stats is not None:
                stats.written_rows += result.rows_written
                stats.written_bytes += result.bytes_written
            return result.rows_written
        except ClickHouseError:
            inserter.cancel()
            raise
        except Exception as exc:
            try:
                inserter.cancel()
            except Exception:
                pass
            raise ClickHouseError.from_engine(exc) from None

    def close(self) -> None:
        self._conn.close()


@dataclass
class _Session:
    connection: EngineConnection
    timeout: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)


class Engine:
    """The chDB engine of one data directory, owned by this process until ``close``."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.data_dir / ".server.lock", "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "another process"
            self._lock_file.close()
            raise DataDirectoryBusy(
                f"another Feelback warehouse server (pid {holder}) holds {self.data_dir}; stop it or use another data directory"
            ) from None
        self._lock_file.truncate(0)
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()
        # BACKUP/RESTORE ... File() may use the configured backup folder only (pipelines/defs/backups).
        from feelback.settings import get_settings

        self._path = f"file:{self.data_dir}?backups.allowed_path={get_settings().backup_dir}"
        self._primary = EngineConnection(self._path)
        self.version = self._primary.query("SELECT version()", "TSV").decode().strip()
        self.timezone = self._primary.query("SELECT timezone()", "TSV").decode().strip()
        self._idle: list[EngineConnection] = []
        self._sessions: dict[str, _Session] = {}
        self._guard = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(
        self, session_id: str | None = None, session_timeout: float = 60.0, session_check: bool = False
    ) -> Iterator[EngineConnection]:
        if session_id:
            with self._session(session_id, session_timeout, session_check) as conn:
                yield conn
            return
        with self._guard:
            conn = self._idle.pop() if self._idle else None
        conn = conn or EngineConnection(self._path)
        try:
            yield conn
        finally:
            with self._guard:
                keep = not conn.broken and not self._closed and len(self._idle) < IDLE_POOL_SIZE
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    @contextmanager
    def _session(self, session_id: str, timeout: float, check: bool) -> Iterator[EngineConnection]:
        session = self._acquire_session(session_id, timeout, check, time.monotonic() + SESSION_WAIT_SECONDS)
        try:
            session.timeout = timeout
            yield session.connection
        finally:
            session.last_used = time.monotonic()
            session.lock.release()

    def _acquire_session(self, session_id: str, timeout: float, check: bool, deadline: float) -> _Session:
        """The session of ``session_id``, locked for this request (made when new, unless ``check``)."""
        while True:
            with self._guard:
                self._expire_sessions()
                session = self._sessions.get(session_id)
                if session is None:
                    if check:
                        raise ClickHouseError.raised(SESSION_NOT_FOUND, f"Session {session_id} not found")
                    session = self._sessions[session_id] = _Session(EngineConnection(self._path), timeout)
                if session.lock.acquire(blocking=False):
                    return session
            # Held by another request: wait for it, outside the guard, until the deadline.
            if not session.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise ClickHouseError.raised(SESSION_IS_LOCKED, f"Session {session_id} is locked by a concurrent client")
            with self._guard:
                if self._sessions.get(session_id) is session:
                    return session
            session.lock.release()  # closed (close_session=1) while we waited: look again

    def close_session(self, session_id: str) -> None:
        """End a session now (``close_session=1``), unless a request is still using it."""
        with self._guard:
            session = self._sessions.get(session_id)
            if session is None or session.lock.locked():
                return
            del self._sessions[session_id]
        session.connection.close()

    def _expire_sessions(self) -> None:
        now = time.monotonic()
        for key, session in list(self._sessions.items()):
            if now - session.last_used > session.timeout and not session.lock.locked():
                del self._sessions[key]
                session.connection.close()

    def close(self) -> None:
        with self._guard:
            if self._closed:
                return
            self._closed = True
            connections = self._idle + [s.connection for s in self._sessions.values()]
            self._idle, self._sessions = [], {}
        for conn in connections:
            conn.close()
        self._primary.close()
        self._lock_file.close()
