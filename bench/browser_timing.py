"""What the browser benchmarks (bench/panel.py, bench/sdk.py) share: a local stack with the demo
project under ``bench/.data/``, the API run as ``feelback up`` runs it, Debian's Chromium, and
percentiles. Not a test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def start_api(home: Path, clickhouse_url: str, database_url: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """The API as ``feelback up`` runs it (one worker), on a free port; returns (process, URL)."""
    from feelback.settings import Settings
    from feelback.stack import api_command
    from warehouse.local_server.process import free_port

    port = free_port()
    settings = Settings(home=home, clickhouse_url=clickhouse_url, database_url=database_url, api_workers=1, log_level="warning")
    env = {**os.environ, "FEELBACK_HOME": str(home), "FEELBACK_CLICKHOUSE_URL": clickhouse_url,
           "FEELBACK_DATABASE_URL": database_url, "FEELBACK_RATE_LIMIT_VISITOR_PER_MINUTE": "1000000", **(env or {})}  # fmt: skip
    log = open(home / "api.log", "ab")  # noqa: SIM115 (open as long as the process runs)
    process = subprocess.Popen(api_command(settings, "127.0.0.1", port), cwd=REPO, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    sys.exit(f"the API did not start; see {home / 'api.log'}")


@dataclass
class Stack:
    work: Path  # the run's folder under bench/.data/
    home: Path  # FEELBACK_HOME (outbox, api.log)
    settings: object  # feelback.settings.Settings
    clickhouse_url: str
    demo: object  # feelback.demo's project: project_id, public_key
    url: str  # the API's


@contextlib.contextmanager
def demo_stack(work: Path, before_api=None) -> Iterator[Stack]:
    """A local ClickHouse server (data kept in ``work``), the control plane and the demo project,
    and the API; stopped on exit. ``before_api(stack)`` runs once the stores are ready, before the
    API starts (``stack.url`` is empty then)."""
    from feelback.demo import ensure_demo
    from feelback.settings import Settings
    from warehouse.client import get_client
    from feelback.control_plane.db import upgrade_control_plane
    from warehouse.local_server.process import ServerProcess
    from warehouse.migrations import migrate

    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(data_dir=work / "clickhouse").start()
    api = None
    try:
        settings = Settings(home=home, clickhouse_url=server.url, database_url=f"sqlite:///{home / 'control.db'}")
        migrate(get_client(settings))
        upgrade_control_plane(settings)
        stack = Stack(work, home, settings, server.url, ensure_demo(settings), "")
        if before_api is not None:
            before_api(stack)
        api, stack.url = start_api(home, server.url, settings.database_url)
        yield stack
    finally:
        if api is not None:
            api.send_signal(signal.SIGTERM)
            api.wait(timeout=20)
        server.stop()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium through Playwright's sync API (never ``playwright install``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
