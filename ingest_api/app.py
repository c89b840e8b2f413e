"""The FastAPI application: public ingest, widget stats and the private management API.

Contract: ``create_app(settings=None) -> FastAPI``. The app keeps ``state.settings``,
``state.sessionmaker`` (control-plane DB) and ``state.warehouse`` (a ClickHouse client made on first
use by ``dependencies.get_warehouse``). Routers live in ``ingest_api.routers``; each module
exposes ``router``. Migrations are not applied here: ``feelback migrate`` / ``feelback up`` do that.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from feelback.control_plane.db import get_sessionmaker
from feelback.settings import Settings, get_settings
from ingest_api.auth.limits import AccountLimits
from ingest_api.auth.mails import AccountMail
from ingest_api.auth.permissions import check_guarded_routes
from ingest_api.body_limit import MIN_LIMIT, BodyLimit
from ingest_api.cors import install_cors
from ingest_api.errors import install_error_handlers
from ingest_api.overview_warm import warming_overviews
from ingest_api.routers import accounts, management, organizations

# Routers written by other parts of the team; included once their module exists.
OPTIONAL_ROUTERS = ("ingest_api.routers.signals", "ingest_api.routers.stats", "ingest_api.routers.exports")
# The customers' panel: its data routes and its static files at /app/.
PANEL_ROUTERS = (
    "ingest_api.routers.panel_keys",
    "ingest_api.routers.panel_overview",
    "ingest_api.routers.panel_inbox",
    "ingest_api.routers.panel_privacy",
    "ingest_api.routers.panel_recaps",
    "ingest_api.routers.panel_static",
)
# The browser SDK's files, the widgets' config read and the demo page.
OPTIONAL_ROUTERS += ("ingest_api.routers.sdk_assets", "ingest_api.routers.widget_config", "ingest_api.routers.demo")
OPTIONAL_ROUTERS += ("ingest_api.routers.compat_feelback",)  # the original Feelback SDKs' protocol


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Everything imported so far lives as long as the process: keep it out of the collector's scans,
    # and collect less often (ingest allocates many short-lived objects per request; a full scan of
    # the libraries' objects cost ~20% of a batch's CPU).
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    async with warming_overviews(app):
        yield
    warehouse = getattr(app.state, "warehouse", None)
    if warehouse is not None:
        warehouse.close()
        app.state.warehouse = None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Swagger UI and ReDoc served from the package's own copies (fastapi-offline), not a CDN.
    app = FastAPIOffline(
        static_url="/docs-assets",
        title="Feelback API",
        summary="Feedback signals: public ingest for the SDK, stats for widgets, private management.",
        version="0.1.0",
        lifespan=_lifespan,
        telemetry=None if settings.api_opentelemetry else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.sessionmaker = get_sessionmaker(settings)
    app.state.warehouse = None

    install_error_handlers(app)
    # Innermost: every route's body is bounded (the fast paths, outside it, bound theirs).
    app.add_middleware(BodyLimit, limit=max(settings.ingest_max_body_bytes, MIN_LIMIT))

    app.state.account_limits = AccountLimits()
    app.state.account_mail = AccountMail(settings)
    app.include_router(management.router)
    app.include_router(accounts.router)
    app.include_router(organizations.router)
    app.include_router(organizations.invitations)
    for module_name in OPTIONAL_ROUTERS + PANEL_ROUTERS:
        if importlib.util.find_spec(module_name) is not None:
            module = importlib.import_module(module_name)
            app.include_router(module.router)
            if hasattr(module, "IngestFastPath"):
                app.add_middleware(module.IngestFastPath)  # inside CORS, which is added next
            if hasattr(module, "StatsFastPath"):
                app.add_middleware(module.StatsFastPath)  # inside CORS too
    check_guarded_routes(app)
    install_cors(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:  # async: a plain def costs a worker-thread round trip
        return {"status": "ok"}

    return app
