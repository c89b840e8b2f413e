"""Recap deliveries and export requests go from the control plane to raw_app (dlt) and on to their staging
models (dbt), without personal data, with their current status, on a warehouse that never saw one too."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.fixtures.fresh_warehouse import fresh_warehouse
from tests.fixtures.warehouse_build import EXPORT_REQUESTS, RECAP_DELIVERIES
from tests.pipelines.scenario import DAYS, at

STAGING_TYPES = {
    "stg_app__recap_deliveries": {
        "delivery_id": "UInt64", "project_id": "LowCardinality(String)", "period_kind": "LowCardinality(String)",
        "period_start": "Date", "status": "LowCardinality(String)", "attempts": "UInt16",
        "sent_at": "Nullable(DateTime64(3, 'UTC'))", "created_at": "DateTime64(3, 'UTC')",
    },
    "stg_app__export_requests": {
        "export_id": "UInt64", "project_id": "LowCardinality(String)", "format": "LowCardinality(String)",
        "status": "LowCardinality(String)", "created_at": "DateTime64(3, 'UTC')",
        "finished_at": "Nullable(DateTime64(3, 'UTC'))",
    },
}  # fmt: skip
PERSONAL = {"recipient", "error", "filters", "path", "email"}


def staging_types(ch, model: str) -> dict[str, str]:
    rows = ch.query(
        "SELECT name, type FROM system.columns WHERE database = 'analytics_staging' AND table = {t:String} ORDER BY position",
        parameters={"t": model},
    ).result_rows
    return dict(rows)


def test_recaps_and_exports_are_replicated_without_personal_data(warehouse_build, ch):
    from pipelines.defs.dlt.control_plane import REPLICATED_COLUMNS

    for table in ("recap_deliveries", "export_requests"):
        columns = {name for (name,) in ch.query(
            "SELECT name FROM system.columns WHERE database = 'raw_app' AND table = {t:String}", parameters={"t": table}
        ).result_rows}  # fmt: skip
        assert columns - {"_dlt_load_id", "_dlt_id"} == set(REPLICATED_COLUMNS[table]), table
        assert not PERSONAL & columns
    assert not ch.command("SELECT count() FROM raw_app.recap_deliveries WHERE position(toString(tuple(*)), '@') > 0")


def test_staging_models_have_every_row_with_deliberate_types(warehouse_build, ch):
    project = {"p": warehouse_build.scenario.project_id}
    for model, expected in STAGING_TYPES.items():
        assert staging_types(ch, model) == expected, model
    deliveries = ch.query(
        "SELECT period_kind, period_start, status, attempts, sent_at IS NOT NULL, created_at "
        "FROM analytics_staging.stg_app__recap_deliveries WHERE project_id = {p:String} ORDER BY delivery_id",
        parameters=project,
    ).result_rows
    assert deliveries == [
        (kind, DAYS[start], status, attempts, status == "sent", at(created).replace(tzinfo=None))
        for kind, start, _, status, attempts, created in RECAP_DELIVERIES
    ]
    exports = ch.query(
        "SELECT format, status, created_at FROM analytics_staging.stg_app__export_requests "
        "WHERE project_id = {p:String} ORDER BY export_id",
        parameters=project,
    ).result_rows
    assert exports == [(export_format, status, at(created).replace(tzinfo=None)) for export_format, status, created in EXPORT_REQUESTS]


def _dbt(server, *arguments: str, build_dir: Path) -> None:
    from pipelines.dbt_env import dbt_env
    from pipelines.defs.dbt.project import DBT_EXECUTABLE, DBT_PROJECT_DIR

    command = [
        DBT_EXECUTABLE, *arguments, "--select", *STAGING_TYPES, "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(build_dir / "target"),
        "--log-path", str(build_dir / "logs"),
    ]  # fmt: skip
    from feelback.settings import Settings

    env = {**os.environ, **dbt_env(Settings(clickhouse_url=server.url).clickhouse)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-4000:]


def test_a_fresh_warehouse_builds_them_empty_then_follows_status_changes(tmp_path):
    """dlt creates a table only once it has seen a row: until the first delivery and export the staging
    models read empty stand-ins; a status changed after replication arrives at the next one (merge on id)."""
    import datetime as dt

    from feelback.control_plane.db import session_scope
    from feelback.control_plane.models import ExportRequest, RecapDelivery
    from feelback.control_plane.projects import create_project
    from pipelines.defs.dlt.control_plane import control_plane_pipeline, control_plane_source
    from pipelines.defs.recaps import ledger
    from feelback.recaps.periods import Period

    with fresh_warehouse(tmp_path) as (server, settings, ch):
        _dbt(server, "build", build_dir=tmp_path / "dbt")  # the views and their tests, over stand-ins
        for model, expected in STAGING_TYPES.items():
            assert staging_types(ch, model) == expected, model
            assert ch.command(f"SELECT count() FROM analytics_staging.{model}") == 0

        yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        with session_scope(settings) as session:
            project_id = create_project(session, "fresh").project.id
            session.add(ExportRequest(project_id=project_id, format="csv", filters={}))
            session.add(ExportRequest(
                project_id=project_id, format="jsonl", filters={}, status="done", created_at=yesterday, finished_at=yesterday,
                updated_at=yesterday,
            ))  # fmt: skip
        monday = dt.date(2026, 11, 30)
        claim = ledger.claim(settings, project_id, Period.containing("weekly", monday), "ann@example.com")

        def replicate() -> dict[str, int]:
            """Replicate; the rows read from each table."""
            pipeline = control_plane_pipeline(settings)
            pipeline.run(control_plane_source(settings.control_db_url))
            return pipeline.last_trace.last_normalize_info.row_counts

        assert replicate()["export_requests"] == 2
        assert ch.query("SELECT status FROM raw_app.recap_deliveries").result_rows == [("pending",)]
        ledger.mark_sent(settings, claim)
        read = replicate()
        # only rows changed since the last run (less its few minutes' lag): the delivery just sent and the
        # export made a moment ago, not yesterday's
        assert (read.get("recap_deliveries"), read.get("export_requests")) == (1, 1), read
        _dbt(server, "run", build_dir=tmp_path / "dbt")
        delivered = ch.query(
            "SELECT status, sent_at IS NOT NULL, period_start FROM analytics_staging.stg_app__recap_deliveries"
        ).result_rows
        assert delivered == [("sent", True, monday)]
        exports = ch.query("SELECT format, status FROM analytics_staging.stg_app__export_requests ORDER BY export_id").result_rows
        assert exports == [("csv", "pending"), ("jsonl", "done")]
