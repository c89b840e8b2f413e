"""Exports as a Dagster asset with one dynamic partition per export request, fed by a sensor.

The sensor adds a partition for each pending request and asks for its run (the run key is the
request id, so a request is picked up once); the asset writes the file with dlt and marks the
request done with its path. A request already done is not exported again.
"""

import datetime as dt

import dagster as dg

from feelback.control_plane.models import JobStatus
from feelback.settings import get_settings
from pipelines.defs.exports import requests
from pipelines.defs.exports.pipeline import ExportFilters, run_export
from warehouse.client import get_client

RAW_EVENTS = dg.AssetKey(["raw", "feedback_events"])
export_partitions = dg.DynamicPartitionsDefinition(name="export_requests")


@dg.asset(
    partitions_def=export_partitions,
    deps=[RAW_EVENTS],
    group_name="exports",
    kinds={"dlt", "filesystem"},
    description="Customer exports of raw signal events (CSV, JSONL or Parquet), one partition per request id.",
)
def signal_exports(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    request_id = int(context.partition_key)
    job = requests.load_export(settings, request_id)
    if job is None:
        raise dg.Failure(f"export request {request_id} does not exist", allow_retries=False)
    if job.status is JobStatus.done and job.path:
        return dg.MaterializeResult(metadata={"project": job.project_id, "path": job.path, "already_done": True})
    requests.mark_running(settings, request_id)
    client = get_client(settings)
    try:
        path, rows = run_export(settings, client, request_id, job.project_id, job.format, ExportFilters.from_json(job.filters))
    except Exception as exc:
        requests.mark_failed(settings, request_id, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        client.close()
    requests.mark_done(settings, request_id, path, dt.timedelta(days=settings.export_keep_days))
    return dg.MaterializeResult(
        metadata={
            "project": job.project_id,
            "format": job.format.value,
            "filters": dg.MetadataValue.json(job.filters),
            "rows": rows,
            "path": path,
        }
    )


export_job = dg.define_asset_job(
    "export_job",
    selection=[signal_exports],
    op_retry_policy=dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL),
)


@dg.sensor(job=export_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def export_requests_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    keys = [str(job.request_id) for job in requests.pending_exports(get_settings())]
    if not keys:
        return dg.SkipReason("no pending export requests")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"export-{key}", partition_key=key) for key in keys],
        dynamic_partitions_requests=[export_partitions.build_add_request(keys)],
    )
