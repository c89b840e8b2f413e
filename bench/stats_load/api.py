"""The API under load and its project, for benches: a control-plane project with a public key, and the
API served the way ``feelback up`` serves it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from bench.stats_load.processes import REPO


def register_project(database_url: str, project_id: str, sets: dict[str, tuple[str, dict]], timezone: str = "UTC") -> str:
    """A control-plane project with this id (e.g. the project of synthetic events) and its content
    sets ({key: (signal type, config)}); returns a new public key."""
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.keys import KeyKind
    from feelback.control_plane.models import ContentSet, Project
    from feelback.control_plane.organizations import create_organization
    from feelback.control_plane.projects import issue_key
    from feelback.control_plane.users import operator_user
    from feelback.settings import Settings

    settings = Settings(database_url=database_url)
    upgrade_control_plane(settings)
    with session_scope(settings) as session:
        project = session.get(Project, project_id) or Project(
            id=project_id, name=project_id, timezone=timezone, allowed_origins=[],
            organization_id=create_organization(session, project_id, operator_user(session)).id,
        )  # fmt: skip
        session.add(project)
        session.flush()
        known = {content_set.key for content_set in project.content_sets}
        for key, (signal_type, config) in sets.items():
            if key not in known:
                session.add(ContentSet(project_id=project_id, key=key, signal_type=signal_type, config=config,
                                       one_per_visitor=signal_type != "message"))  # fmt: skip
        _, public_key = issue_key(session, project, KeyKind.public, "stats bench")
    return public_key


@contextlib.contextmanager
def serve_api(env: dict[str, str], workers: int = 1) -> Iterator[str]:
    """``ingest_api.app:create_app`` under uvicorn in a subprocess with ``env`` (FEELBACK_*); yields its URL.

    The command is the one ``feelback up`` runs (feelback/stack.py: uvicorn's defaults, which pick
    uvloop and httptools when installed, and the default log level ``warning``, under which the
    access log writes nothing), so the figures are those of the production configuration;
    ``workers`` > 1 adds ``--workers`` (each process then keeps caches of its own)."""
    from warehouse.local_server.process import free_port

    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "ingest_api.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
