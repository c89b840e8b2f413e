"""The daily warehouse build: yesterday's partition (UTC) of everything from raw events to the marts."""

import dagster as dg

from pipelines.defs.dbt.assets import warehouse_models
from pipelines.defs.dlt.assets import control_plane_tables
from pipelines.defs.raw.assets import feedback_events
from pipelines.defs.sentiment.assets import message_sentiment
from pipelines.partitions import daily_partitions

warehouse_job = dg.define_asset_job(
    name="warehouse_build",
    selection=dg.AssetSelection.assets(feedback_events.key, control_plane_tables, message_sentiment, warehouse_models),
    partitions_def=daily_partitions,
    description="Observe raw events, replicate the control plane, score messages, dbt build (with tests).",
)

warehouse_schedule = dg.build_schedule_from_partitioned_job(
    warehouse_job,
    hour_of_day=0,
    minute_of_hour=15,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

jobs = [warehouse_job]
schedules = [warehouse_schedule]
