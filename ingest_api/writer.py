"""The drainer: moves sealed spool segments into ``raw.feedback_events``, exactly once.

Every drain interval a background thread seals the active segment and sends each sealed segment,
oldest first, as ``INSERT ... FORMAT JSONEachRow`` batches of at most ``batch_rows`` records
(spool records are already JSON rows of the table; extra keys starting with ``_`` are skipped).

Exactly once:
* Each batch carries ``insert_deduplication_token = <segment name>:<batch number>``. Sealed segments
  never change, so a retried batch (timeout, crash after the insert but before progress was
  recorded) has the same rows and the same token, and ClickHouse drops it as a duplicate
  (the table keeps a ``non_replicated_deduplication_window``, migration 0002; replicated tables
  deduplicate by default). Segment names carry a random part, so tokens are never reused by new data.
* Only after every batch of a segment is in does the spool move it to ``drained/``.
* Downstream, dbt staging deduplicates on (project, idempotency key) as the final backstop.

Pacing: ClickHouse wants few, large inserts (about one per second per table); every insert makes a
part that must be written and merged, a cost per insert, not per row. So under heavy traffic (more
than ``busy_bytes`` appended during the last interval) the drainer lets the active segment grow for
up to ``busy_seconds`` before sending it; otherwise it sends every interval, so a quiet stream is
queryable at once and the last records of a burst do not wait.

While ClickHouse is unreachable the drainer retries with backoff (up to 5 s) and the spool fills up
to its budget; nothing is dropped and nothing is skipped. Every few seconds the drainer also records
the lane's backlog in ``ops.spool_backlog`` (``ingest_api.spool_backlog``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog
from clickhouse_connect.driver.client import Client

from ingest_api.spool import Segment, Spool, SpoolBusy
from ingest_api.spool_backlog import BacklogRecorder
from warehouse.raw_events import COLUMNS, TABLE

log = structlog.get_logger(__name__)

INSERT_SETTINGS = {
    "input_format_skip_unknown_fields": 1,
    "date_time_input_format": "basic",
}
MAX_BACKOFF_SECONDS = 5.0
BUSY_BYTES = 256 * 1024  # appended in one interval: about 500 rows
BUSY_SECONDS = 1.0


def insert_batch(client: Client, records: list[bytes], token: str) -> None:
    """One idempotent INSERT of spool records (JSON rows) into raw.feedback_events."""
    client.raw_insert(
        TABLE,
        column_names=COLUMNS,
        insert_block=b"\n".join(records),
        fmt="JSONEachRow",
        settings={**INSERT_SETTINGS, "insert_deduplication_token": token},
    )


class Drainer:
    """A daemon thread draining one spool lane (and any orphaned lanes) into ClickHouse."""

    def __init__(
        self,
        spool: Spool,
        client_factory: Callable[[], Client],
        interval_seconds: float = 0.25,
        batch_rows: int = 20_000,
        busy_bytes: int = BUSY_BYTES,
        busy_seconds: float = BUSY_SECONDS,
        backlog: BacklogRecorder | None = None,
    ):
        self.spool = spool
        self.client_factory = client_factory
        self.interval_seconds = interval_seconds
        self.batch_rows = batch_rows
        self.busy_bytes = busy_bytes
        self.busy_seconds = max(busy_seconds, interval_seconds)
        self.backlog = backlog
        self._active_seen: tuple[Path | None, int] = (None, 0)  # (active segment, its size) at the previous tick
        self._client: Client | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done_batches: dict[str, int] = {}  # segment name -> batches known to be inserted
        self._orphans_checked_at = 0.0
        self.failures = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spool-drainer", daemon=True)
        self._thread.start()

    def stop(self, final_drain_seconds: float = 2.0) -> None:
        """Stop the thread, then try briefly to send what is left (the rest waits on disk)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.spool.seal()
        deadline = time.monotonic() + final_drain_seconds
        try:
            for segment in self.spool.sealed_segments():
                if time.monotonic() > deadline:
                    break
                self._drain_segment(self.spool, segment)
        except Exception as exc:  # noqa: BLE001 - the data stays on disk for the next start
            log.warning("spool_final_drain_incomplete", error=str(exc))
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        backoff = self.interval_seconds
        while not self._stop.is_set():
            try:
                if self._due():
                    self.drain_once()
            except Exception as exc:  # noqa: BLE001 - any failure: keep the data, retry later
                self.failures += 1
                log.warning("spool_drain_failed", error=str(exc)[:500], retry_in=round(backoff, 2))
                self._reset_client()
                self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = self.interval_seconds
            if self.backlog is not None and self.backlog.record():
                self.backlog.send(self._client_now)
            self._stop.wait(self.interval_seconds)

    def _pause(self, seconds: float) -> None:
        """Wait before a retry, still recording the backlog when due (kept until the warehouse is back)."""
        if self.backlog is None:
            self._stop.wait(seconds)
            return
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
            self.backlog.record()
            self._stop.wait(min(left, self.backlog.every_seconds or left))

    def _due(self) -> bool:
        """Whether to seal and send now: unless the active segment grew by ``busy_bytes`` or more
        since the last tick and is younger than ``busy_seconds`` (heavy traffic: a bigger insert
        later), or something is waiting in sealed segments anyway."""
        active, size, age = self.spool.active_segment()
        previous, previous_size = self._active_seen
        self._active_seen = (active, size)
        grew = size - previous_size if active == previous else size
        return grew < self.busy_bytes or age >= self.busy_seconds or bool(self.spool.sealed_segments())

    def drain_once(self) -> int:
        """Seal the active segment and insert every sealed segment; returns the number of records sent."""
        self.spool.seal()
        sent = 0
        for segment in self.spool.sealed_segments():
            sent += self._drain_segment(self.spool, segment)
        if time.monotonic() - self._orphans_checked_at > 30:
            self._orphans_checked_at = time.monotonic()
            sent += self._drain_orphan_lanes()
        return sent

    def _client_now(self) -> Client:
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def _reset_client(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                pass
            self._client = None

    def _drain_segment(self, spool: Spool, segment: Segment) -> int:
        records = spool.read(segment)
        done = self._done_batches.get(segment.name, 0)
        for number, start in enumerate(range(0, len(records), self.batch_rows)):
            if number < done:
                continue
            insert_batch(self._client_now(), records[start : start + self.batch_rows], f"{segment.name}:{number}")
            self._done_batches[segment.name] = number + 1
        spool.mark_drained(segment)
        self._done_batches.pop(segment.name, None)
        return len(records)

    def _drain_orphan_lanes(self) -> int:
        """Empty lanes whose process is gone (say, after restarting with fewer workers)."""
        sent = 0
        for name in self.spool.other_lanes():
            # Drained segments are kept as in any lane: their notes answer retries of operations
            # whose worker died before recording the answer (ingest_api.idempotency).
            orphan = Spool(self.spool.root, self.spool.max_bytes, keep_drained_seconds=self.spool.keep_drained_seconds)
            try:
                orphan.open(lane=name)
            except SpoolBusy:
                continue
            try:
                for segment in orphan.sealed_segments():
                    sent += self._drain_segment(orphan, segment)
            finally:
                orphan.close()
            if sent:
                log.info("spool_orphan_lane_drained", lane=name, records=sent)
        return sent
