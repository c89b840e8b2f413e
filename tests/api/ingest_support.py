"""Shared set-up for the public ingest tests: a home folder, a project with one content set per type."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ContentSet
from feelback.control_plane.projects import create_project
from feelback.settings import Settings
from feelback.stack import api_command
from ingest_api.app import create_app
from tests.fixtures.control_db import fresh_control_db
from warehouse.local_server.process import free_port

REPO = Path(__file__).resolve().parents[2]

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
ORIGIN = "https://docs.example.com"

# key: (signal type, config, edit window seconds)
CONTENT_SETS = {
    "votes": ("yesno", {}, 3600),
    "thumbs": ("updown", {}, 3600),
    "stars": ("rating", {"scale": 7}, 3600),
    "hearts": ("like", {}, 3600),
    "emoji": ("reaction", {}, 3600),
    "feedback": (
        "message",
        {"tags": ["idea", "bug"], "form_fields": [{"name": "section", "max_length": 50}], "max_length": 200},
        3600,
    ),
    "quick": ("yesno", {}, 1),
    "final": ("rating", {}, 0),
}


@dataclass(frozen=True)
class Project:
    id: str
    public_key: str
    secret_key: str


def ingest_settings(home: Path, **overrides) -> Settings:
    """Settings with all state in ``home`` and a fresh migrated SQLite control-plane DB there."""
    home.mkdir(parents=True, exist_ok=True)
    return Settings(home=home, database_url=fresh_control_db("sqlite", home), **overrides)


def seed_project(settings: Settings, origins: tuple[str, ...] = (ORIGIN,)) -> Project:
    with session_scope(settings) as session:
        created = create_project(session, "Ingest tests", allowed_origins=origins)
        for key, (signal_type, config, window) in CONTENT_SETS.items():
            session.add(
                ContentSet(
                    project_id=created.project.id, key=key, signal_type=signal_type, config=config,
                    edit_window_seconds=window,
                )
            )  # fmt: skip
        return Project(created.project.id, created.public_key, created.secret_key)


def project_client(settings: Settings, project: Project) -> TestClient:
    """A test client of a new app, sending the project's public key from a browser; ``.project`` is the project."""
    client = TestClient(create_app(settings), headers={"X-Feelback-Key": project.public_key, "User-Agent": BROWSER_UA})
    client.project = project
    return client


def wait_for_rows(ch, sql: str, parameters: dict, expected: int, timeout: float = 30.0) -> tuple[int, float]:
    """Poll ``sql`` (returning one count) until it reaches ``expected``; returns (count, seconds waited).
    The timeout leaves room for a busy machine; how fast rows land is bench/ingest.py's (c), not a test's."""
    began = time.monotonic()
    while True:
        count = ch.query(sql, parameters=parameters).result_rows[0][0]
        waited = time.monotonic() - began
        if count >= expected or waited > timeout:
            return count, waited
        time.sleep(0.05)


class ApiProcess:
    """The API as ``feelback up`` runs it (``workers`` processes) on a free loopback port; its log
    goes to a file in the home. With several workers, stop it with SIGTERM: SIGKILL would orphan them."""

    def __init__(self, settings: Settings, clickhouse_url: str, workers: int = 1, **env: str):
        self.settings = settings.model_copy(update={"api_workers": workers, "log_level": "warning"})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = settings.home / f"api-{self.port}.log"
        self.env = {
            **os.environ,
            "FEELBACK_HOME": str(settings.home),
            "FEELBACK_DATABASE_URL": settings.database_url,
            "FEELBACK_CLICKHOUSE_URL": clickhouse_url,
            "FEELBACK_RATE_LIMIT_VISITOR_PER_MINUTE": "100000",  # one test client plays many visitors
            **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> ApiProcess:
        command = api_command(self.settings, "127.0.0.1", self.port)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"API exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"API did not start: {self.log.read_text()[-2000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
