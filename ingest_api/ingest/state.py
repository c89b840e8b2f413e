"""What the public ingest routes share inside one API process: ``SignalIngest``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from feelback.domain import ContentSetRules
from feelback.settings import Settings
from ingest_api.cache import LoadingCache
from ingest_api.dependencies import load_rules_or_refusal, require_public_key
from ingest_api.errors import ApiError
from ingest_api.idempotency import IdempotencyStore, owner_of
from ingest_api.ingest.refusals import Refusal
from ingest_api.privacy import DailySalts, EditTokens, load_or_create_secret
from ingest_api.ratelimit import IngestLimits
from ingest_api.spool import Spool
from ingest_api.spool_backlog import BacklogRecorder
from ingest_api.writer import Drainer

CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class ProjectAccess:
    project_id: str
    allowed_origins: tuple[str, ...]


class SignalIngest:
    """Everything the public routes share inside one API process."""

    def __init__(self, settings: Settings, sessionmaker: Callable[[], Any]):
        from warehouse.client import get_client

        home = settings.home
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.spool = Spool(home / "spool", settings.spool_max_bytes)
        self.operations: IdempotencyStore | None = None  # shared with the other workers; opened by start
        self.limits = IngestLimits(settings.rate_limit_visitor_per_minute, settings.rate_limit_project_per_second)
        self.salts = DailySalts(home / "ingest" / "salts")
        secret = settings.ingest_secret.encode() or load_or_create_secret(home / "ingest" / "secret")
        self.tokens = EditTokens(secret)
        self.drainer = Drainer(
            self.spool,
            lambda: get_client(settings, send_receive_timeout=30),
            interval_seconds=settings.spool_drain_interval_ms / 1000,
            backlog=BacklogRecorder(self.spool, settings.spool_backlog_seconds) if settings.spool_backlog_seconds > 0 else None,
        )
        self.clock: Callable[[], float] = time.time
        self._keys = LoadingCache(CACHE_SECONDS, expected=(ApiError,))  # a refused key: an answer, not a warning
        self._sets = LoadingCache(CACHE_SECONDS)

    def start(self) -> None:
        self.spool.open()
        assert self.spool.lane is not None
        self.operations = IdempotencyStore(
            self.settings.home / "ingest" / "idempotency", self.spool.root, owner_of(self.spool.lane.name)
        ).open()
        self.drainer.start()

    async def stop(self) -> None:
        await self.spool.flush()
        await run_in_threadpool(self.drainer.stop)
        if self.operations is not None:
            self.operations.close()
        self.spool.close()

    def cached_project(self, header_key: str | None) -> ProjectAccess | None:
        """The project of a header key when cached, without suspending."""
        return self._keys.peek((header_key, None))

    async def project_for_key(self, header_key: str | None, query_key: str | None) -> ProjectAccess:
        return await self._keys.get((header_key, query_key), partial(self._load_project, header_key, query_key))

    def _load_project(self, header_key: str | None, query_key: str | None) -> ProjectAccess:
        with self.sessionmaker() as session:
            auth = require_public_key(session, header_key=header_key, query_key=query_key)
            return ProjectAccess(auth.project_id, tuple(auth.project.allowed_origins or ()))

    def cached_rules(self, project_id: str, set_key: str) -> ContentSetRules | None:
        """The content set's rules when cached and valid, without suspending."""
        rules = self._sets.peek((project_id, set_key))
        return rules if isinstance(rules, ContentSetRules) else None

    async def rules(self, project_id: str, set_key: str) -> ContentSetRules:
        rules = await self._sets.get((project_id, set_key), partial(self._load_rules, project_id, set_key))
        if isinstance(rules, ApiError):
            raise Refusal(rules.status, rules.code, rules.message)
        return rules

    def _load_rules(self, project_id: str, set_key: str) -> ContentSetRules | ApiError:
        return load_rules_or_refusal(self.sessionmaker, project_id, set_key)


@asynccontextmanager
async def ingest_lifespan(app: FastAPI) -> AsyncIterator[None]:
    ingest = ingest_of(app)
    try:
        yield
    finally:
        await ingest.stop()
        app.state.signal_ingest = None


def ingest_of(app: FastAPI) -> SignalIngest:
    """The app's ingest state, started on first use (so apps driven without lifespan work too)."""
    ingest = getattr(app.state, "signal_ingest", None)
    if ingest is None:
        ingest = SignalIngest(app.state.settings, app.state.sessionmaker)
        ingest.start()
        app.state.signal_ingest = ingest
    return ingest

