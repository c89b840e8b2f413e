"""The panel's overviews read again when a build finishes, so that their first read after it is warm.

A build replaces the marts: the first overview read after it rebuilds every set's live delta (its
fresh events and prior signals, ingest_api/stats/freshness.py) and reads the built days and the
rankings again (ingest_api/routers/panel_overview.py), 0.5–1 s at a million signals. Each overview
read is noted here, with the build it stood on (its ``built_through``), in a bounded LRU of
(project, window, content set, content). While the LRU holds reads of the last day, one task per
API process looks at the build watermark every ``overview_warm_seconds`` (the query the stats API
uses, on a table of one row per build) and, when a build has finished, reads those overviews
again, most recently read first, one at a time, through the route's own code, which fills the
caches the next read uses: the sets' live deltas (shared with the widgets' stats), the built days
and the rankings, all keyed by the new build. Nothing is read while no overview was read in the
last day. A failure is logged and tried again at the next look; it never reaches a request.

A restart empties every cache: the list outlives it in ``<home>/api/overview-reads.json`` (written
when the API stops, merged with its other workers' lists), and at start-up the warmer reads those
overviews at once, so the first read after a deploy is warm too.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from feelback.control_plane.models import ContentSet, Project
from ingest_api.routers.panel_overview import Overview, project_sets
from ingest_api.routers.stats import service_of
from ingest_api.stats.queries import read_watermark
from ingest_api.stats.service import MAX_AGE, iso_instant
from ingest_api.stats.windows import Window

log = structlog.get_logger(__name__)

RECENT_READS = 200  # overviews kept warm per API process, the least recently read forgotten first
RECENT_SECONDS = 24 * 3600  # an overview not read for a day is not read again
# A delta younger than MAX_AGE is served as it is, possibly on the build before: look again soon, a few times.
BEHIND_RETRY_SECONDS = MAX_AGE + 0.3
BEHIND_RETRIES = 3


@dataclass(frozen=True)
class OverviewRead:
    project_id: str
    window: str
    content_set: str | None
    content_key: str | None


@dataclass
class Seen:
    read_at: float  # time.monotonic() of the last read by a person
    built_through: str | None  # the build its caches stand on (as the response shows it)


class OverviewWarmer:
    """The recent overview reads of one API process, and the task that reads them again after a build."""

    def __init__(self, app: FastAPI, seconds: float, saved: Path | None = None):
        self.app, self.seconds, self.saved = app, seconds, saved
        self.recent: OrderedDict[OverviewRead, Seen] = OrderedDict()
        self.warmed = 0  # overviews read again after a build (or a restart)
        self._noted = asyncio.Event()
        self._behind = 0
        self._loaded = False  # reads of an earlier run, to warm at once

    def load(self) -> int:
        """The reads the API's earlier run kept (``save``), with their ages; how many."""
        now, wall = time.monotonic(), time.time()
        for key, read_at in _saved_reads(self.saved):
            if 0 <= wall - read_at < RECENT_SECONDS:
                self.recent[key] = Seen(now - (wall - read_at), None)
        self.recent = OrderedDict(sorted(self.recent.items(), key=lambda item: item[1].read_at)[-RECENT_READS:])
        self._loaded = bool(self.recent)
        return len(self.recent)

    def save(self) -> None:
        """Keep the recent reads for the next start, merged with what this API's other workers kept."""
        if self.saved is None:
            return
        now, wall = time.monotonic(), time.time()
        mine = {key: wall - (now - seen.read_at) for key, seen in self.recent.items()}
        self.saved.parent.mkdir(parents=True, exist_ok=True)
        with open(self.saved.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            merged = dict(_saved_reads(self.saved))
            for key, read_at in mine.items():
                merged[key] = max(read_at, merged.get(key, read_at))
            newest = sorted((item for item in merged.items() if wall - item[1] < RECENT_SECONDS), key=lambda item: item[1])
            temporary = self.saved.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps([{**asdict(key), "read_at": read_at} for key, read_at in newest[-RECENT_READS:]]))
            os.replace(temporary, self.saved)

    def note(self, project_id: str, window: str, content_set: str | None, content_key: str | None, built_through: str | None) -> None:
        """An overview was read (by the route, on the event loop)."""
        key = OverviewRead(project_id, window, content_set, content_key)
        self.recent[key] = Seen(time.monotonic(), built_through)
        self.recent.move_to_end(key)
        while len(self.recent) > RECENT_READS:
            self.recent.popitem(last=False)
        self._noted.set()

    async def run(self) -> None:
        while True:
            self._forget_old()
            if not self.recent:  # idle: no query until an overview is read
                self._noted.clear()
                await self._noted.wait()
                continue
            if self._loaded:  # just started with an earlier run's reads: warm them now
                self._loaded = False
            else:
                await asyncio.sleep(BEHIND_RETRY_SECONDS if self._behind else self.seconds)
            try:
                behind = await self.look()
            except Exception as exc:  # noqa: BLE001  (the task must outlive any failure: try again at the next look)
                log.warning("overview_warm_failed", error=repr(exc)[:300])
                behind = False
            self._behind = self._behind + 1 if behind and self._behind < BEHIND_RETRIES else 0

    def _forget_old(self) -> None:
        oldest = time.monotonic() - RECENT_SECONDS
        while self.recent and next(iter(self.recent.values())).read_at < oldest:
            self.recent.popitem(last=False)

    async def look(self) -> bool:
        """Reads again the recent overviews whose caches stand on an older build than the last one;
        True when some still do (their deltas were served as they were: try again soon)."""
        service = service_of(self.app)
        watermark = await run_in_threadpool(read_watermark, service.client)
        if watermark is None:
            return False
        built = iso_instant(watermark) or ""
        stale = [key for key, seen in reversed(self.recent.items()) if seen.built_through != built]
        if not stale:
            return False
        started, behind, warmed = time.monotonic(), False, 0
        for key in stale:
            try:
                through = await self._read(key)
            except Exception as exc:  # noqa: BLE001  (ClickHouse or the control-plane DB: the next look tries again)
                log.warning("overview_warm_read_failed", project_id=key.project_id, window=key.window, error=repr(exc)[:300])
                continue
            seen = self.recent.get(key)
            if through is _GONE:
                self.recent.pop(key, None)
            elif seen is not None:
                warmed += 1
                if through is not None and through < built:
                    behind = True
                else:
                    seen.built_through = built
        self.warmed += warmed
        log.info("overview_warmed", overviews=warmed, built_through=built, seconds=round(time.monotonic() - started, 3))
        return behind

    async def _read(self, key: OverviewRead) -> str | None | object:
        """The overview read as the route reads it; its ``built_through``, or _GONE when the project or set is gone."""
        project, sets = await run_in_threadpool(self._load, key)
        if project is None or not sets:
            return _GONE
        body = await Overview(self.app, project, Window(key.window), key.content_key).read(sets)
        return body.built_through

    def _load(self, key: OverviewRead) -> tuple[Project | None, list[ContentSet]]:
        with self.app.state.sessionmaker() as session:
            project = session.get(Project, key.project_id)
            sets = project_sets(session, key.project_id, key.content_set) if project is not None else []
            session.expunge_all()  # detached with their columns loaded, as the read needs them
            return project, sets


_GONE = object()


def _saved_reads(path: Path | None) -> list[tuple[OverviewRead, float]]:
    """The reads kept in ``path`` with their wall-clock times; what cannot be read (a damaged or
    hand-edited file, an unknown window) is skipped."""
    try:
        entries = json.loads(path.read_text()) if path else []
    except (OSError, ValueError):
        return []
    reads = []
    for entry in entries if isinstance(entries, list) else []:
        try:
            key = OverviewRead(entry["project_id"], Window(entry["window"]).value, entry["content_set"], entry["content_key"])
            reads.append((key, float(entry["read_at"])))
        except (KeyError, TypeError, ValueError):
            continue
    return reads


@contextlib.asynccontextmanager
async def warming_overviews(app: FastAPI) -> AsyncIterator[None]:
    """For the app's lifespan: the warmer's task (unless ``overview_warm_seconds`` is 0)."""
    seconds = app.state.settings.overview_warm_seconds
    if seconds <= 0:
        yield
        return
    warmer = app.state.overview_warmer = OverviewWarmer(app, seconds, app.state.settings.home / "api" / "overview-reads.json")
    warmer.load()
    task = asyncio.create_task(warmer.run(), name="overview-warmer")
    try:
        yield
    finally:
        app.state.overview_warmer = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            warmer.save()
        except OSError as exc:  # a read-only home: the next start warms nothing, nothing else changes
            log.warning("overview_reads_not_saved", error=str(exc)[:300])
