"""The control-plane tables analysis needs, replicated by dlt into ClickHouse ``raw_app``.

Projects (time zone, retention), content sets (type, per-type config, rules), recap deliveries and
export requests (for the business dashboard) go over, each merged on its primary key, and only the
columns listed here. Projects and sets are small and read whole each run. Deliveries and exports
grow with every recap and export, and change status after they are created (pending, then sent or
failed; retried later): a run reads the rows whose ``updated_at`` is past the last run's newest, less
``CHANGED_LAG_SECONDS`` for a transaction that committed late (dlt's incremental cursor, its state
kept with the pipeline; the rows read twice merge on their id).
No personal data leaves the control plane: not a delivery's recipient or its error (relays quote
addresses), not an export's filters (a visitor id may be one), path or error; API keys (hashes),
recap subscriptions (e-mail addresses) and the other job tables stay out altogether. Rows deleted
in the control plane stay in ``raw_app``: the marts only look projects and sets up.
"""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.destinations import clickhouse
from dlt.destinations.impl.clickhouse.configuration import ClickHouseCredentials
from dlt.sources.sql_database import sql_table

from feelback.control_plane.db import engine_url
from feelback.settings import Settings

DATABASE = "raw_app"
REPLICATED_COLUMNS = {
    "projects": ["id", "name", "timezone", "retention_days", "created_at", "updated_at"],
    "content_sets": [
        "id", "project_id", "key", "name", "signal_type", "config", "edit_window_seconds", "one_per_visitor",
        "public_stats", "created_at", "updated_at",
    ],
    "recap_deliveries": ["id", "project_id", "period_kind", "period_start", "status", "attempts", "sent_at", "created_at", "updated_at"],
    "export_requests": ["id", "project_id", "format", "status", "created_at", "finished_at", "updated_at"],
}
INCREMENTAL = {"recap_deliveries", "export_requests"}
CHANGED_LAG_SECONDS = 300


@dlt.source(name="control_plane")
def control_plane_source(database_url: str):
    for table, columns in REPLICATED_COLUMNS.items():
        yield sql_table(
            credentials=engine_url(database_url).render_as_string(hide_password=False),
            table=table,
            included_columns=columns,
            write_disposition="merge",
            primary_key="id",
            reflection_level="full",
            defer_table_reflect=True,
            incremental=dlt.sources.incremental("updated_at", lag=CHANGED_LAG_SECONDS) if table in INCREMENTAL else None,
        )


def clickhouse_destination(settings: Settings):
    """dlt's ClickHouse destination on FEELBACK_CLICKHOUSE_URL: native TCP for DDL, HTTP for loads."""
    target = settings.clickhouse
    credentials = ClickHouseCredentials()
    credentials.host = target.host
    credentials.port = target.native_port
    credentials.http_port = target.http_port
    credentials.username = target.user
    credentials.password = target.password
    credentials.database = DATABASE
    credentials.secure = 1 if target.secure else 0
    return clickhouse(credentials=credentials)


def control_plane_pipeline(settings: Settings) -> dlt.Pipeline:
    """Tables land as ``raw_app.<table>``: the database is the dataset, so no name prefix
    (dlt's own tables and its merge staging tables sit beside them, prefixed ``_``)."""
    return dlt.pipeline(
        pipeline_name="control_plane_to_clickhouse",
        pipelines_dir=str(Path(settings.home) / "dlt"),
        destination=clickhouse_destination(settings),
        dataset_name="",
    )
