"""Exports: a customer's raw signal events as CSV, JSONL or Parquet, asked for through the management API.

Modules: ``requests`` (the control-plane rows), ``pipeline`` (the dlt pipeline from ClickHouse to
the exports location), ``assets`` (the Dagster asset, job and the sensor that picks requests up).
"""

from pipelines.defs.exports.assets import export_job, export_requests_sensor, signal_exports

assets = [signal_exports]
jobs = [export_job]
schedules: list = []
sensors = [export_requests_sensor]
