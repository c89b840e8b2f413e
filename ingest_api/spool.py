"""Write-ahead spool: a signal operation is acknowledged only once it is on local disk.

Why: ClickHouse may be slow, restarting or unreachable, and the API process may be killed at any
moment. The API answers 2xx only after the operation is in an fsynced file of its own, and a
drainer (``ingest_api.writer``) moves files to ClickHouse later, exactly once.

Mechanism
---------
* **Lanes.** ``<home>/spool/lane-N/`` belongs to one API process at a time: it holds an exclusive
  ``flock`` on ``lane-N/lock`` (released by the kernel even on SIGKILL). A process claims the lowest
  free lane, so a restarted process gets its predecessor's lane back; lanes left without an owner
  (fewer processes than before) are adopted and emptied by a running drainer.
* **Segments.** A lane holds append-only segment files ``<time_ns>-<random>.seg``. The records of
  one ``append`` (JSON rows, so without newlines) are framed together as ``<u32 length><u32 crc32>
  <records joined by newlines>[NUL <notes>]``: one checksum per request, and the drainer splits a
  frame in one call instead of a loop over records (files with a frame per record read the same).
  The optional notes (``append(records, notes)``, one JSON document) are for this process only, e.g.
  the answers given, which ``ingest_api.spool_replay`` reads back (``lane_appends``); they are never
  sent to ClickHouse. JSON never holds a raw NUL byte, so the split is unambiguous. Only the
  newest segment (the *active* one) is ever written; the drainer seals it every drain interval
  (under heavy traffic when it is a second old, see ``ingest_api.writer``; or at
  ``max_segment_bytes``) and a sealed segment never changes again, so the drainer can cut it into
  the same batches on every attempt.
* **Group commit.** ``await spool.append(records)`` queues the records and waits; one committer task
  takes everything queued (after a short linger), writes it with one ``write`` and one ``fdatasync``
  in a worker thread, then wakes all waiters. Many concurrent requests share one fsync, the way
  Plausible's write buffer shares one INSERT. If the write fails, every waiter gets the error and
  answers 5xx: nothing is acknowledged that is not on disk.
* **Budget.** Bytes not yet drained (sealed + active + queued) may not exceed ``max_bytes``; an append
  that would go over raises ``SpoolFull`` and the API answers 503 with Retry-After, before writing.
* **Progress.** A fully inserted segment is renamed into ``drained/`` (atomic; the directory is
  fsynced). Drained segments are kept for ``keep_drained_seconds`` so that the idempotency store
  (``ingest_api.idempotency``) can be rebuilt from their notes after a reboot, then deleted.
* **Recovery.** On ``open`` every segment left in the lane is sealed; a torn last frame (a write cut
  by a crash, never acknowledged because its fsync had not returned) fails its length or CRC check
  and is cut off. The drainer then sends all sealed segments before any new ones.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import os
import secrets
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

_FRAME = struct.Struct("<II")
SEGMENT_SUFFIX = ".seg"


class SpoolFull(Exception):
    """The spool is at its disk budget; the client should retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: float):
        super().__init__("the ingest spool is full while the warehouse catches up")
        self.retry_after = retry_after


class SpoolBusy(Exception):
    """The lane asked for is owned by another live process."""


@dataclass(frozen=True)
class Segment:
    path: Path
    size: int

    @property
    def name(self) -> str:
        return self.path.stem


def frame(payload: bytes) -> bytes:
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def read_frames(data: bytes) -> tuple[list[bytes], int]:
    """The frames' payloads in ``data`` up to the first torn or corrupt frame, and how many bytes they span."""
    payloads: list[bytes] = []
    offset, end = 0, len(data)
    while offset + _FRAME.size <= end:
        length, crc = _FRAME.unpack_from(data, offset)
        start = offset + _FRAME.size
        if start + length > end:
            break
        payload = data[start : start + length]
        if zlib.crc32(payload) != crc:
            break
        payloads.append(payload)
        offset = start + length
    return payloads, offset


_NOTES = b"\0"


def _records_and_notes(payload: bytes) -> tuple[list[bytes], bytes]:
    """One append's frame payload: its records and its notes (b"" when it has none)."""
    records, _, notes = payload.partition(_NOTES)
    return records.split(b"\n"), notes


def _records(payloads: list[bytes]) -> list[bytes]:
    """The records of frames' payloads, without their notes."""
    records: list[bytes] = []
    for payload in payloads:
        records.extend(_records_and_notes(payload)[0])
    return records


def _appends_in(path: Path) -> Iterator[tuple[list[bytes], bytes]]:
    try:
        payloads = read_frames(path.read_bytes())[0]
    except FileNotFoundError:  # drained (moved) or forgotten meanwhile
        return
    yield from map(_records_and_notes, payloads)


def lane_appends(lane: Path) -> Iterator[tuple[list[bytes], bytes]]:
    """(records, notes) of each append still kept in ``lane``, whoever owns it (the idempotency
    store reads a dead worker's lane): its undrained segments, then its drained ones. A segment
    drained while this reads its undrained ones is found among the drained ones, listed after."""
    for path in sorted(lane.glob(f"*{SEGMENT_SUFFIX}")):
        yield from _appends_in(path)
    for path in sorted((lane / "drained").glob(f"*{SEGMENT_SUFFIX}")):
        yield from _appends_in(path)


WhenWritten = Callable[[BaseException | None], None]


def _settle(group: list[tuple[bytes, asyncio.Future[None], WhenWritten | None]], error: BaseException | None) -> None:
    for _, future, when_written in group:
        if when_written is not None:  # even when its request was cancelled: the frame was written (or not)
            try:
                when_written(error)
            except Exception as exc:  # noqa: BLE001 - one caller's callback must not fail the others
                log.error("spool_when_written_failed", error=str(exc))
        if future.done():  # its request was cancelled (client gone)
            continue
        try:
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
        except RuntimeError:  # its event loop is closed (an app driven without lifespan)
            pass


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """One lane of the spool, owned by this process while open."""

    def __init__(
        self,
        root: Path,
        max_bytes: int,
        *,
        max_segment_bytes: int = 64 * 1024 * 1024,
        keep_drained_seconds: float = 600,
        linger_seconds: float = 0.0005,
        retry_after_seconds: float = 5,
    ):
        self.root = root
        self.max_bytes = max_bytes
        self.max_segment_bytes = max_segment_bytes
        self.keep_drained_seconds = keep_drained_seconds
        self.linger_seconds = linger_seconds
        self.retry_after_seconds = retry_after_seconds
        self.lane: Path | None = None
        self._lock_fd: int | None = None
        self._io_lock = threading.Lock()  # the active segment: committer writes, drainer seals
        self._active_fd: int | None = None
        self._active: Path | None = None
        self._active_size = 0
        self._active_opened = 0.0  # time.monotonic() of its first write
        self._sealed: list[Segment] = []
        self._undrained_bytes = 0
        self._drained: deque[tuple[float, Path, int]] = deque()  # (drained at, path, size), oldest first
        self._drained_bytes = 0
        self._queued: list[tuple[bytes, asyncio.Future[None], WhenWritten | None]] = []
        self._queued_bytes = 0
        self._writing = False
        self._wakeup: asyncio.Event | None = None
        self._committer: asyncio.Task[None] | None = None

    # --- ownership and recovery ---------------------------------------------------------------

    def open(self, lane: str | None = None) -> Spool:
        """Claim ``lane`` (default: the lowest free one), seal and check what a previous owner left."""
        self.root.mkdir(parents=True, exist_ok=True)
        names = [lane] if lane else (f"lane-{n}" for n in itertools.count())
        for name in names:
            directory = self.root / name
            (directory / "drained").mkdir(parents=True, exist_ok=True)
            fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if lane:
                    raise SpoolBusy(f"spool lane {directory} is owned by another process") from None
                continue
            self.lane, self._lock_fd = directory, fd
            break
        self._recover()
        return self

    def _recover(self) -> None:
        assert self.lane is not None
        for path in sorted((self.lane / "drained").glob(f"*{SEGMENT_SUFFIX}")):
            stat = path.stat()
            self._drained.append((stat.st_mtime, path, stat.st_size))
            self._drained_bytes += stat.st_size
        self._forget_drained()
        for path in sorted(self.lane.glob(f"*{SEGMENT_SUFFIX}")):
            data = path.read_bytes()
            records, valid = read_frames(data)
            if valid < len(data):
                log.warning("spool_torn_tail_cut", segment=str(path), records=len(records), bytes_cut=len(data) - valid)
                os.truncate(path, valid)
            if valid == 0:
                path.unlink()
                continue
            self._sealed.append(Segment(path, valid))
            self._undrained_bytes += valid
        if self._sealed:
            log.info("spool_recovered", lane=str(self.lane), segments=len(self._sealed), bytes=self._undrained_bytes)

    def other_lanes(self) -> list[str]:
        """Names of the other lanes under the spool root (owned or orphaned)."""
        return sorted(p.name for p in self.root.glob("lane-*") if p.is_dir() and p != self.lane)

    # --- appending (event loop side) -----------------------------------------------------------

    @property
    def undrained_bytes(self) -> int:
        return self._undrained_bytes + self._queued_bytes

    async def append(self, records: list[bytes], notes: bytes = b"", when_written: WhenWritten | None = None) -> None:
        """Return once every record (a JSON row: no newlines) and the notes (JSON) are fsynced;
        raises SpoolFull (nothing written) or the write's OSError. ``when_written`` is called once
        in any case, even if the caller is cancelled meanwhile: with None once the records are on
        disk, or with the error when they are not."""
        if not records:
            if when_written is not None:
                when_written(None)
            return
        payload = records[0] if len(records) == 1 else b"\n".join(records)
        framed = frame(payload + _NOTES + notes if notes else payload)
        if self.undrained_bytes + len(framed) > self.max_bytes:
            full = SpoolFull(self.retry_after_seconds)
            if when_written is not None:
                when_written(full)
            raise full
        loop = asyncio.get_running_loop()
        if self._committer is None or self._committer.done() or self._committer.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._committer = loop.create_task(self._commit_forever(), name="spool-commit")
        future: asyncio.Future[None] = loop.create_future()
        self._queued.append((framed, future, when_written))
        self._queued_bytes += len(framed)
        assert self._wakeup is not None
        self._wakeup.set()
        # A cancelled waiter (client gone) cancels only its future; the committer skips done futures.
        await future

    async def _commit_forever(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self.linger_seconds:
                await asyncio.sleep(self.linger_seconds)
            await self._commit_queued()

    async def _commit_queued(self) -> None:
        group, self._queued = self._queued, []
        if not group:
            return
        data = b"".join(frames for frames, _, _ in group)
        self._writing = True
        try:
            await asyncio.to_thread(self._write, data)
        except BaseException as exc:
            _settle(group, OSError(f"could not write the ingest spool: {exc}"))
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.error("spool_write_failed", error=str(exc))
        else:
            _settle(group, None)
        finally:
            self._writing = False
            self._queued_bytes -= len(data)

    async def flush(self, timeout: float = 5.0) -> None:
        """Let the committer write everything queued, then stop it (shutdown)."""
        deadline = time.monotonic() + timeout
        while (self._queued or self._writing) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if self._committer is not None:
            self._committer.cancel()
            try:
                await self._committer
            except asyncio.CancelledError:
                pass
            self._committer = None
        await self._commit_queued()

    # --- disk side (worker threads) ------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        with self._io_lock:
            assert self.lane is not None
            if self._active_fd is None:
                self._active = self.lane / f"{time.time_ns():020d}-{secrets.token_hex(4)}{SEGMENT_SUFFIX}"
                self._active_fd = os.open(self._active, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
                self._active_opened = time.monotonic()
                _fsync_dir(self.lane)
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._active_fd, view) :]
                os.fdatasync(self._active_fd)
            except OSError:
                # What part got written is unknown: seal here so the next write starts a clean file
                # and the torn frame (never acknowledged) is cut when this segment is read.
                self._seal_locked()
                raise
            self._active_size += len(data)
            self._undrained_bytes += len(data)
            if self._active_size >= self.max_segment_bytes:
                self._seal_locked()

    def _seal_locked(self) -> None:
        if self._active_fd is None:
            return
        os.close(self._active_fd)
        assert self._active is not None
        if self._active_size:
            self._sealed.append(Segment(self._active, self._active_size))
        else:
            self._active.unlink(missing_ok=True)
        self._active_fd, self._active, self._active_size = None, None, 0

    def active_segment(self) -> tuple[Path | None, int, float]:
        """The segment being written (None when there is none), its size and its age in seconds."""
        with self._io_lock:
            active, size, opened = self._active, self._active_size, self._active_opened
        return active, size, time.monotonic() - opened if active is not None else 0.0

    def seal(self) -> None:
        """Close the active segment so the drainer may send it; the next append starts a new one."""
        with self._io_lock:
            self._seal_locked()

    def sealed_segments(self) -> list[Segment]:
        with self._io_lock:
            return list(self._sealed)

    def backlog(self) -> tuple[int, int, float]:
        """Undrained bytes (queued ones included), undrained segments (the active one included) and the
        age in seconds of the oldest of them (segment names start with their creation time), from memory."""
        with self._io_lock:
            paths = [segment.path for segment in self._sealed] + ([self._active] if self._active is not None else [])
        oldest = min((int(path.name.split("-", 1)[0]) for path in paths), default=None)
        return self.undrained_bytes, len(paths), 0.0 if oldest is None else max(0.0, time.time() - oldest / 1e9)

    @staticmethod
    def read(segment: Segment) -> list[bytes]:
        payloads, valid = read_frames(segment.path.read_bytes()[: segment.size])
        records = _records(payloads)
        if valid != segment.size:
            log.warning("spool_segment_cut", segment=str(segment.path), bytes_cut=segment.size - valid)
        return records

    def mark_drained(self, segment: Segment) -> None:
        """Record that ``segment`` is in ClickHouse: move it to ``drained/`` and forget old drained ones."""
        assert self.lane is not None
        target = self.lane / "drained" / segment.path.name
        segment.path.rename(target)
        _fsync_dir(self.lane)
        with self._io_lock:
            self._sealed.remove(segment)
            self._undrained_bytes -= segment.size
        self._drained.append((time.time(), target, segment.size))
        self._drained_bytes += segment.size
        self._forget_drained()

    def _forget_drained(self) -> None:
        """Delete drained segments past ``keep_drained_seconds`` or beyond a quarter of the budget."""
        cutoff = time.time() - self.keep_drained_seconds
        while self._drained and (self._drained[0][0] < cutoff or self._drained_bytes > self.max_bytes // 4):
            _, path, size = self._drained.popleft()
            path.unlink(missing_ok=True)
            self._drained_bytes -= size

    def close(self) -> None:
        """Seal the active segment and give up the lane (data stays for the next owner)."""
        self.seal()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
