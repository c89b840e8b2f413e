"""A world of the bench's own: a local ClickHouse server, a project with one content set per type,
a history of raw events over 90 days, a dbt build, then fresh events so reads merge a live delta."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import synthetic
from bench.stats_load.api import register_project
from bench.stats_load.processes import REPO

PROJECT = "stats-bench"
CONTENTS = 500


def insert_events(client, first: int, count: int, start: dt.datetime, span: dt.timedelta, reach: int) -> None:
    """Events ``first`` .. ``first + count - 1`` of one project; popular pages (low numbers) get most signals."""
    synthetic.insert_events(client, first, count, start, span, reach, projects=(PROJECT,), contents=CONTENTS, skew=3,
                            content_prefix="page-", idempotency_prefix="bench-")  # fmt: skip


def build_world(folder: Path, events: int) -> tuple[dict[str, str], str]:
    """A local server with ``events`` built and some more fresh; returns (API environment, public key)."""
    from pipelines.dbt_env import dbt_env
    from warehouse.client import get_client
    from warehouse.local_server.process import ServerProcess
    from warehouse.migrations import migrate

    server = ServerProcess(data_dir=folder / "clickhouse").start()
    atexit_stop(server)
    env = {"FEELBACK_CLICKHOUSE_URL": server.url, "FEELBACK_HOME": str(folder / "home"),
           "FEELBACK_DATABASE_URL": f"sqlite:///{folder / 'control.db'}"}
    os.environ.update(env)
    from feelback.settings import get_settings

    get_settings.cache_clear()
    key = register_project(env["FEELBACK_DATABASE_URL"], PROJECT, synthetic.CONTENT_SETS)
    client = get_client()
    migrate(client)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    began = time.monotonic()
    insert_events(client, 0, events, now - dt.timedelta(days=90), dt.timedelta(days=90) - dt.timedelta(minutes=30), events // 3)
    print(f"inserted {events:,} events over 90 days in {time.monotonic() - began:.1f} s")

    import pipelines.definitions  # noqa: F401
    from pipelines.defs.dlt.control_plane import control_plane_pipeline, control_plane_source
    from pipelines.defs.sentiment.scoring import ensure_table

    client.command("CREATE DATABASE IF NOT EXISTS raw_app")
    settings = get_settings()
    control_plane_pipeline(settings).run(control_plane_source(settings.control_db_url))
    ensure_table(client)  # messages stay unscored: VADER's cost is not this bench's subject
    began = time.monotonic()
    command = [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(REPO / "dbt_project"),
               "--profiles-dir", str(REPO / "dbt_project"), "--target-path", str(folder / "target"),
               "--log-path", str(folder / "logs"), "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
               "--vars", json.dumps({"min_day": str((now - dt.timedelta(days=91)).date()), "max_day": str(now.date())})]  # fmt: skip
    done = subprocess.run(command, env={**os.environ, **dbt_env(settings.clickhouse)}, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-3000:]}")
    print(f"dbt build in {time.monotonic() - began:.1f} s")
    # events after the build: every read merges a live delta (creates, edits and revokes of built signals)
    fresh = max(1000, events // 100)
    insert_events(client, events, fresh, now - dt.timedelta(seconds=30), dt.timedelta(seconds=25), events // 3)
    client.close()
    return env, key


def atexit_stop(server) -> None:
    import atexit

    atexit.register(lambda: server.process and server.process.poll() is None and server.stop())


def popular_contents() -> list[str]:
    return [f"page-{n}" for n in range(CONTENTS)]
