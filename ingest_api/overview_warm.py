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
last day; after start-up nothing is known, so nothing is warmed until overviews are read. A
failure is logged and tried again at the next look; it never reaches a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

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

    def __init__(self, app: FastAPI, seconds: float):
        self.app, self.seconds = app, seconds
        self.recent: OrderedDict[OverviewRead, Seen] = OrderedDict()
        self.warmed = 0  # overviews read again after a build
        self._noted = asyncio.Event()
        self._behind = 0

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


@contextlib.asynccontextmanager
async def warming_overviews(app: FastAPI) -> AsyncIterator[None]:
    """For the app's lifespan: the warmer's task (unless ``overview_warm_seconds`` is 0)."""
    seconds = app.state.settings.overview_warm_seconds
    if seconds <= 0:
        yield
        return
    warmer = app.state.overview_warmer = OverviewWarmer(app, seconds)
    task = asyncio.create_task(warmer.run(), name="overview-warmer")
    try:
        yield
    finally:
        app.state.overview_warmer = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
