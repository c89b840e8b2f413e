"""One Superset per test session: provisioned into a fresh metadata DB under the test home, served by
gunicorn on a free port, over the marts of the shared warehouse build (tests/fixtures/warehouse_build.py).

Superset's environment comes from ``make install``; without it these tests fail (never skip), so a
setup that forgot it cannot pass.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from feelback import dashboards
from feelback.settings import Settings
from warehouse.local_server.process import free_port

START_TIMEOUT = 180
# The first test here waits for the shared warehouse build, Superset's provisioning and its start.
SETUP_TIMEOUT = 900


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.timeout(SETUP_TIMEOUT))


@dataclass
class Superset:
    url: str
    settings: Settings
    metadata_db: Path
    provision_lines: list[str]
    process: subprocess.Popen
    started_seconds: float

    def api(self) -> httpx.Client:
        """An API client signed in as the admin, with the CSRF token Superset wants on writes."""
        client = httpx.Client(base_url=self.url, timeout=120)
        login = client.post(
            "/api/v1/security/login",
            json={"username": dashboards.ADMIN_USER, "password": dashboards.admin_password(self.settings),
                  "provider": "db", "refresh": False},  # fmt: skip
        )
        login.raise_for_status()
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        csrf = client.get("/api/v1/security/csrf_token/")
        csrf.raise_for_status()
        client.headers["X-CSRFToken"] = csrf.json()["result"]
        client.headers["Referer"] = self.url
        return client

    def metadata(self, sql: str, *parameters) -> list[tuple]:
        with sqlite3.connect(self.metadata_db) as db:
            return db.execute(sql, parameters).fetchall()


@pytest.fixture(scope="session")
def superset(warehouse_build, clickhouse_server, tmp_path_factory, artifacts) -> Superset:
    from feelback.settings import get_settings

    if not (dashboards.VENV / "bin" / "gunicorn").exists():
        pytest.fail(f"Superset's environment is missing at {dashboards.VENV}: run `make install` (it installs it)")
    metadata_db = tmp_path_factory.mktemp("superset") / "superset.db"
    settings = get_settings().model_copy(update={"superset_metadata_url": f"sqlite:///{metadata_db}"})
    lines = dashboards.provision(settings)
    port = free_port()
    started = time.monotonic()
    log = open(artifacts / "superset-server.log", "wb")  # the server's errors, kept with the screenshots
    process = subprocess.Popen(
        dashboards.server_command(settings, port=port),
        env=dashboards.superset_env(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, artifacts / "superset-server.log")
        yield Superset(url, settings, metadata_db, lines, process, time.monotonic() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Superset exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Superset did not answer {url}/health within {START_TIMEOUT} s")


@pytest.fixture(scope="session")
def live_project(clickhouse_server) -> str:
    """Raw events received yesterday, so the operations questions (last two days of ingest) have rows."""
    from tests.pipelines.raw_events import random_history
    from warehouse.client import get_client

    project_id = f"live-{uuid.uuid4().hex[:6]}"
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    client = get_client()
    try:
        random_history(seed=11, project_id=project_id, days=[yesterday], signals_per_day=60).insert(client)
    finally:
        client.close()
    return project_id


@pytest.fixture(scope="session")
def superset_api(superset):
    client = superset.api()
    yield client
    client.close()


@pytest.fixture(scope="session")
def spool_outage(clickhouse_server, tmp_path_factory):
    """A real backlog: an API whose ClickHouse is unreachable for a few seconds while signals arrive
    (tests/api/spool_outage.py), so the operations dashboard's spool charts have rows to show."""
    from tests.api.spool_outage import warehouse_outage
    from warehouse.client import get_client

    client = get_client()
    try:
        return warehouse_outage(clickhouse_server, client, tmp_path_factory.mktemp("outage") / "home")
    finally:
        client.close()
