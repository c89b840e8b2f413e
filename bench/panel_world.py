"""A project with a year of synthetic signals for bench/panel.py, written straight into the warehouse.

Posting a million operations through the API would take an hour on a small machine and measure
the ingest, not the overview. Instead the events are generated inside ClickHouse
(bench/synthetic.py: ``INSERT … SELECT … FROM numbers()`` into ``raw.feedback_events``, the
table the ingest's drainer writes, with the same columns): 80 % creates, 10 % edits and 10 %
revokes of signals up to 30 days old, 1 % bots, over content sets of five types (yes/no, rating,
like, reaction, message with text) added to the demo project, on ``contents`` pages per set with
skewed popularity, spread evenly over ``days`` days up to a day ago. Then what the daily Dagster
job does: the control plane into ``raw_app`` (dlt), VADER scores of the messages, and the real
``dbt build`` of the marts. Last, one day's worth of events after the build, which the stats API
reads as its live delta (the build runs daily). Not a test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from pathlib import Path

from bench import synthetic
from bench.browser_timing import Stack
from bench.stats_load import register_project

CREATES = 0.8  # share of creates among synthetic events
EDIT_REACH_DAYS = 30
INSERT_EVENTS = 250_000  # events per INSERT … SELECT
READY = "world.json"


def seeded_world(stack: Stack, signals: int, contents: int, days: int) -> dict:
    """The world in ``stack.work``: made once (its description is kept in world.json), reused after."""
    ready = stack.work / READY
    if ready.exists():
        world = json.loads(ready.read_text())
        print(f"    reusing the world in {stack.work}: {world}")
        return world
    world = _make(stack, signals, contents, days)
    ready.write_text(json.dumps(world))
    return world


def _make(stack: Stack, signals: int, contents: int, days: int) -> dict:
    from pipelines.defs.dlt.control_plane import control_plane_pipeline, control_plane_source
    from pipelines.defs.sentiment.scoring import score_messages
    from warehouse.client import get_client

    settings = stack.settings
    project_id = stack.demo.project_id
    register_project(settings.database_url, project_id, synthetic.CONTENT_SETS)
    client = get_client(settings)
    events = round(signals / CREATES)
    per_day = max(1, events // days)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(days=days)
    built = events - per_day  # the last day's events come after the build

    history = (now - dt.timedelta(days=1)) - start
    began = time.monotonic()
    for first in range(0, built, INSERT_EVENTS):
        count = min(INSERT_EVENTS, built - first)
        _insert(client, project_id, first, count, start + history * (first / built), history * (count / built), per_day, contents)
    print(f"    inserted {built:,} raw events over {days - 1} days in {time.monotonic() - began:.1f} s")

    began = time.monotonic()
    client.command("CREATE DATABASE IF NOT EXISTS raw_app")
    control_plane_pipeline(settings).run(control_plane_source(settings.control_db_url))
    scored = score_messages(client, start - dt.timedelta(days=1), now + dt.timedelta(minutes=1))
    print(f"    control plane replicated, {scored.scored:,} messages scored in {time.monotonic() - began:.1f} s")

    began = time.monotonic()
    dbt_build(stack, {"min_day": str((start - dt.timedelta(days=1)).date()), "max_day": str(now.date())})
    print(f"    dbt build in {time.monotonic() - began:.1f} s")

    fresh_start = now - dt.timedelta(days=1) + dt.timedelta(minutes=1)
    _insert(client, project_id, built, events - built, fresh_start, dt.timedelta(days=1, minutes=-2), per_day, contents)
    (live,) = client.query(f"SELECT count() FROM analytics.fct_signals WHERE project_id = '{project_id}'").result_rows[0]
    (raw,) = client.query(f"SELECT count() FROM raw.feedback_events WHERE project_id = '{project_id}'").result_rows[0]
    client.close()
    return {"project_id": project_id, "raw_events": raw, "creates": round(raw * CREATES), "built_live_signals": live,
            "fresh_events": events - built, "contents_per_set": contents, "days": days, "seeded_at": now.isoformat()}  # fmt: skip


def _insert(client, project_id: str, first: int, count: int, start: dt.datetime, span: dt.timedelta, per_day: int,
            contents: int) -> None:  # fmt: skip
    synthetic.insert_events(client, first, count, start, span, per_day * EDIT_REACH_DAYS, projects=(project_id,),
                            contents=contents, skew=2.0, content_prefix="/docs/page-", idempotency_prefix="panel-bench-")  # fmt: skip


def dbt_build(stack: Stack, variables: dict) -> None:
    """``dbt build`` of dbt_project/ (seeds and models; its data tests are the test suite's job)."""
    import pipelines.definitions  # noqa: F401  (imports the code location in its own order)
    from pipelines.dbt_env import dbt_env
    from pipelines.defs.dbt.project import DBT_EXECUTABLE, DBT_PROJECT_DIR

    target: Path = stack.work / "dbt"
    command = [DBT_EXECUTABLE, "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(target / "target"), "--log-path", str(target / "logs"),
               "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test", "--vars", json.dumps(variables)]  # fmt: skip
    done = subprocess.run(command, env={**os.environ, **dbt_env(stack.settings.clickhouse)}, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-3000:]}")
