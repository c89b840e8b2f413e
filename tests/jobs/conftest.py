"""Shared fixtures of the scheduled-job tests: their own control-plane DB, a real SMTP server on
loopback, and projects with events in ClickHouse.

The jobs read ``get_settings()`` like in production, so ``jobs_settings`` points the environment at a
control-plane DB of this package and at the SMTP server for as long as the package's tests run.
Events are written in 2020 (far behind other tests' data), so retention with a fixed ``as_of``
cannot touch anything but these tests' own rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from feelback.control_plane.db import dispose_engines, session_scope, upgrade_control_plane
from feelback.control_plane.models import ContentSet, RecapSubscription
from feelback.control_plane.projects import create_project
from feelback.settings import Settings, get_settings
from tests.fixtures.smtp import RecordingHandler, smtp_controller


@pytest.fixture(scope="package")
def smtp_server() -> Iterator[tuple[Controller, RecordingHandler]]:
    with smtp_controller() as (controller, handler):
        yield controller, handler


@pytest.fixture(scope="package")
def jobs_settings(clickhouse_server, feelback_home, smtp_server) -> Iterator[Settings]:
    controller, _ = smtp_server
    environment = {
        "FEELBACK_DATABASE_URL": f"sqlite:///{feelback_home / 'jobs' / 'control.db'}",
        "FEELBACK_SMTP_URL": f"smtp://{controller.hostname}:{controller.port}",
        "FEELBACK_MAIL_FROM": "Feelback Recaps <recaps@feelback.test>",
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    get_settings.cache_clear()
    settings = get_settings()
    upgrade_control_plane(settings)
    yield settings
    dispose_engines()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()


def new_project(
    settings: Settings,
    name: str,
    retention_days: int = 730,
    timezone: str = "UTC",
    subscribers: dict[str, str] | None = None,
    content_sets: dict[str, str] | None = None,
) -> str:
    """A project in the jobs' control-plane DB; ``subscribers`` maps e-mail → weekly/monthly,
    ``content_sets`` key → signal type."""
    with session_scope(settings) as session:
        project = create_project(session, f"{name} {uuid.uuid4().hex[:6]}", timezone=timezone, retention_days=retention_days).project
        for key, signal_type in (content_sets or {}).items():
            session.add(ContentSet(project_id=project.id, key=key, signal_type=signal_type))
        for email, frequency in (subscribers or {}).items():
            session.add(RecapSubscription(project_id=project.id, email=email, frequency=frequency))
        return project.id


MARTS_READ = ("fct_signals", "agg_content_daily", "agg_content_period", "agg_content_set_daily", "agg_content_set_period")


def build_marts(first_day: str, last_day: str) -> None:
    """Replicate the control plane and score messages (the code location's own assets), then
    ``dbt build`` (seeds and models, no tests) the marts the jobs read over the UTC days [first_day, last_day], as a backfill of those
    daily partitions would. The dbt tests are left to the analytics tests: they double the time."""
    import json

    import dagster as dg

    import pipelines.definitions  # noqa: F401  (imports the packages in the order the code location does)
    from pipelines.defs.dlt.assets import control_plane_tables
    from pipelines.defs.sentiment.assets import message_sentiment
    from pipelines.resources import export_dbt_env, resources
    from warehouse.client import get_client

    client = get_client()
    client.command("CREATE DATABASE IF NOT EXISTS raw_app")  # dlt's destination logs into it before creating it
    client.close()
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize([control_plane_tables], resources=resources(), instance=instance).success
    assert dg.materialize(
        [message_sentiment],
        resources=resources(),
        instance=instance,
        tags={"dagster/asset_partition_range_start": first_day, "dagster/asset_partition_range_end": last_day},
    ).success
    export_dbt_env()
    selection = " ".join(f"+{name}" for name in MARTS_READ)
    dbt = resources()["dbt"]
    dbt.cli(["build", "--select", selection, "--exclude", "resource_type:test", "--vars", json.dumps({"min_day": first_day, "max_day": last_day})]).wait()


OK = ["ann@example.com", "bob@example.com"]
FLAKY, BOUNCING = "flaky@example.com", "nobody@example.com"
NOTES = ["I love this page, it is wonderful!", "Terrible and confusing, it is broken.", "Where is the pricing?"]


def two_weeks_of_signals(project_id: str):
    """Likes, ratings and notes over three pages from Monday 2024-02-26 for two weeks, busier and
    happier in the second week. Every visitor signs once (``v<day>-<n>``, notes ``w<day>``)."""
    import datetime as dt

    from tests.pipelines.raw_events import RawEvents

    events = RawEvents(project_id=project_id)
    start = dt.datetime(2024, 2, 26, 9, tzinfo=dt.UTC)
    for day in range(14):
        moment = start + dt.timedelta(days=day)
        second_week = day >= 7
        for n in range(2 + day % 3 + (3 if second_week else 0)):
            page = ["/intro", "/install", "/faq"][n % 3]
            at = moment + dt.timedelta(minutes=7 * n)
            events.create("like", at, content_set="likes", content_key=page, value=1, visitor_id=f"v{day}-{n}")
            stars = {"/intro": 5 if second_week else 3, "/install": 1, "/faq": 4}[page]
            events.create("rating", at, content_set="stars", content_key=page, value=stars, rating_scale=5, visitor_id=f"v{day}-{n}")
        events.create("message", moment + dt.timedelta(hours=3), content_set="notes", content_key="/faq", message=NOTES[day % 3], visitor_id=f"w{day}")
    return events


@pytest.fixture(scope="package")
def marts_projects(jobs_settings) -> dict[str, str]:
    """Two projects with the same two weeks of signals, and the marts built over them (once per package):
    ``recap`` (Europe/Berlin, with weekly and monthly subscribers) and ``erasure`` (UTC)."""
    from warehouse.client import get_client

    sets = {"likes": "like", "stars": "rating", "notes": "message"}
    projects = {
        "recap": new_project(
            jobs_settings,
            "Recap Docs",
            timezone="Europe/Berlin",
            subscribers={**{address: "weekly" for address in [*OK, FLAKY, BOUNCING]}, "carol@example.com": "monthly"},
            content_sets=sets,
        ),
        "erasure": new_project(jobs_settings, "Erasure Docs", content_sets=sets),
    }
    client = get_client(jobs_settings)
    for project_id in projects.values():
        two_weeks_of_signals(project_id).insert(client)
    client.close()
    build_marts("2024-02-24", "2024-03-11")
    return projects
