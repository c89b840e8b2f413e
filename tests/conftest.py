"""Session-wide test environment: all state in a temporary FEELBACK_HOME, one local ClickHouse server."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from warehouse.local_server.process import ServerProcess

pytest_plugins = ["tests.fixtures.postgres", "tests.fixtures.browser", "tests.fixtures.warehouse_build"]

_HOME = Path(tempfile.mkdtemp(prefix="feelback-test-"))
_WAREHOUSE = ServerProcess(data_dir=_HOME / "clickhouse")

# Set before any test module imports settings, so every component reads the test environment.
os.environ["FEELBACK_HOME"] = str(_HOME)
os.environ["FEELBACK_CLICKHOUSE_URL"] = _WAREHOUSE.url
os.environ["FEELBACK_WAREHOUSE_DATA_DIR"] = str(_WAREHOUSE.data_dir)
# APIs started by tests record no spool backlog (ops.spool_backlog) unless a test asks for it
# (tests/api/spool_outage.py): rows landing meanwhile would move the operations charts under comparison.
os.environ["FEELBACK_SPOOL_BACKLOG_SECONDS"] = "0"
# Nor do they warm overviews (ingest_api/overview_warm.py) unless a test asks: a warmer reads, at its
# start, the overviews that earlier apps on the same home read, in the background of other tests.
os.environ["FEELBACK_OVERVIEW_WARM_SECONDS"] = "0"


def pytest_sessionfinish(session, exitstatus):
    if _WAREHOUSE.process is not None and _WAREHOUSE.process.poll() is None:
        _WAREHOUSE.stop()
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def clickhouse_server() -> ServerProcess:
    """The shared local ClickHouse server, started once, with the raw schema migrated."""
    from feelback.settings import get_settings
    from warehouse.client import get_client
    from warehouse.migrations import migrate

    if _WAREHOUSE.process is None:
        _WAREHOUSE.start()
        get_settings.cache_clear()
        migrate(get_client())
    return _WAREHOUSE


@pytest.fixture(scope="session")
def feelback_home() -> Path:
    return _HOME


@pytest.fixture()
def ch(clickhouse_server):
    """A clickhouse-connect client on the shared server."""
    from warehouse.client import get_client

    client = get_client()
    yield client
    client.close()


def pytest_collection_modifyitems(session, config, items):
    """Order modules so shared state holds while it is read:
    - the modules that read the shared warehouse build (tests/fixtures/warehouse_build.py) run one after
      another, so no other test's dbt build, retention or restore changes the marts between its build and
      their assertions;
    - modules that use the session's Chromium run last: Playwright's sync API leaves its event loop
      registered as running in the main thread, so a later ``asyncio.run`` would fail.
    Whole modules move (a stable sort), so their module-scoped fixtures are still built once."""

    def modules_using(fixture: str) -> set:
        return {item.module for item in items if fixture in item.fixturenames}

    browser, build = modules_using("browser"), modules_using("warehouse_build")

    def rank(item) -> int:
        if item.module in browser:
            return 2 if item.module in build else 3
        return 1 if item.module in build else 0

    items.sort(key=rank)
