"""The spool's backlog, recorded in ClickHouse (``ops.spool_backlog``) for the operations dashboard.

The spool is on the API's disk, out of the analysts' reach. The drainer, which already talks to
ClickHouse, records a snapshot of its lane every ``every_seconds``: undrained bytes and segments, and
the age of the oldest undrained segment. A snapshot reads the spool's counters in memory (no disk,
no lock held across I/O) in the drainer's thread, so ingest never waits on it. While ClickHouse is
unreachable, snapshots wait in memory (the newest ``keep``, about 5 hours at 10 s) and go with the
first send after the warehouse is back: an outage's backlog shows up once it is over.
"""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections import deque
from collections.abc import Callable

import structlog
from clickhouse_connect.driver.client import Client

from ingest_api.spool import Spool

log = structlog.get_logger(__name__)

TABLE = "ops.spool_backlog"
COLUMNS = ("recorded_at", "host", "lane", "pending_bytes", "pending_segments", "oldest_pending_seconds", "budget_bytes")


class BacklogRecorder:
    """Snapshots of one spool lane, at most one every ``every_seconds``, sent in batches by the drainer."""

    def __init__(self, spool: Spool, every_seconds: float, keep: int = 2000, host: str | None = None):
        self.spool = spool
        self.every_seconds = every_seconds
        self.host = host or socket.gethostname()
        self._waiting: deque[list] = deque(maxlen=keep)
        self._recorded_at = float("-inf")  # time.monotonic() of the last snapshot
        self._failing = False

    def record(self) -> bool:
        """Take a snapshot if ``every_seconds`` have passed since the last one; say whether it did."""
        now = time.monotonic()
        if now - self._recorded_at < self.every_seconds or self.spool.lane is None:
            return False
        self._recorded_at = now
        recorded_at = dt.datetime.now(dt.UTC)  # with the throttle's clock, before anything that may wait
        pending_bytes, segments, oldest_seconds = self.spool.backlog()
        self._waiting.append([
            recorded_at, self.host, self.spool.lane.name, pending_bytes, segments, round(oldest_seconds, 3), self.spool.max_bytes,
        ])  # fmt: skip
        return True

    def send(self, client: Callable[[], Client]) -> int:
        """Insert the waiting snapshots; on failure keep them for the next time. Returns how many went."""
        if not self._waiting:
            return 0
        rows = list(self._waiting)
        try:
            client().insert(TABLE, rows, column_names=COLUMNS)
        except Exception as exc:  # noqa: BLE001 - the backlog record must never stop the drainer
            if not self._failing:
                log.warning("spool_backlog_not_recorded", error=str(exc)[:300], waiting=len(rows))
            self._failing = True
            return 0
        for _ in rows:
            self._waiting.popleft()
        self._failing = False
        return len(rows)
