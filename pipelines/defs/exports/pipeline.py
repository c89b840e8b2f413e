"""One export request: a dlt pipeline from ClickHouse to the exports location (a folder or a bucket).

The rows are the project's raw events (every create, edit and revoke), filtered by the request's
time range (``received_at``, ``from`` inclusive, ``to`` exclusive) and content set, read as Arrow
batches through clickhouse-connect and written by dlt's ``filesystem`` destination as CSV, JSONL or
Parquet under ``<exports>/<project>/export_<id>/signals/``. The project is a bound query parameter,
so an export can only ever hold rows of the project that asked for it. In CSV, text cells that
begin like a spreadsheet formula (``=``, ``+``, ``-``, ``@``, tab, CR) get a leading ``'``;
JSONL and Parquet hold the stored values byte for byte.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import dlt
import fsspec
import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from feelback.control_plane.models import ExportFormat
from feelback.settings import Settings

TABLE_NAME = "signals"
BLOCK_ROWS = 65_536
# A spreadsheet runs a cell that begins with one of these as a formula (OWASP, "CSV Injection").
FORMULA_START = r"^[=+\-@\t\r]"
# CSV has no lists or maps: tags and form fields travel as JSON text there.
_NESTED = {
    True: ("toJSONString(tags) AS tags", "toJSONString(form_fields) AS form_fields"),
    False: ("CAST(tags, 'Array(String)') AS tags", "form_fields"),
}


@dataclass(frozen=True)
class ExportFilters:
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    content_set: str | None = None

    @classmethod
    def from_json(cls, data: dict) -> ExportFilters:
        def moment(value: str | None) -> dt.datetime | None:
            if not value:
                return None
            parsed = dt.datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

        return cls(moment(data.get("from")), moment(data.get("to")), data.get("content_set") or None)


def export_query(filters: ExportFilters, csv: bool) -> tuple[str, dict]:
    tags, form_fields = _NESTED[csv]
    conditions = ["project_id = {project:String}"]
    parameters: dict = {}
    if filters.start:
        conditions.append("received_at >= {start:DateTime64(3, 'UTC')}")
        parameters["start"] = filters.start
    if filters.end:
        conditions.append("received_at < {end:DateTime64(3, 'UTC')}")
        parameters["end"] = filters.end
    if filters.content_set:
        conditions.append("content_set = {content_set:String}")
        parameters["content_set"] = filters.content_set
    sql = f"""
        SELECT
            toString(event_id) AS event_id,
            toString(signal_id) AS signal_id,
            toString(project_id) AS project_id,
            toString(content_set) AS content_set,
            content_key,
            toString(operation) AS operation,
            toString(signal_type) AS signal_type,
            value,
            rating_scale,
            toString(reaction) AS reaction,
            message,
            {tags},
            contact_email,
            {form_fields},
            visitor_id,
            is_bot,
            occurred_at,
            received_at
        FROM raw.feedback_events
        WHERE {' AND '.join(conditions)}
        ORDER BY received_at, event_id
    """
    return sql, parameters


def _batches(client: Client, project_id: str, filters: ExportFilters, csv: bool) -> Iterator[pa.Table]:
    sql, parameters = export_query(filters, csv)
    with client.query_arrow_stream(sql, parameters={**parameters, "project": project_id}, settings={"max_block_size": BLOCK_ROWS}) as stream:
        for batch in stream:
            if batch.num_rows:
                yield pa.Table.from_batches([batch])


def neutralize_formulas(table: pa.Table) -> pa.Table:
    """CSV only: text cells that a spreadsheet would run as a formula get a leading single quote, as
    OWASP advises; every other cell, and JSONL and Parquet exports, keep the stored bytes."""
    for index, column in enumerate(table.schema):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = table.column(index)
            formula = pc.match_substring_regex(values, FORMULA_START)
            table = table.set_column(index, column, pc.if_else(formula, pc.binary_join_element_wise("'", values, ""), values))
    return table


def export_location(settings: Settings, project_id: str) -> str:
    return f"{settings.exports_location.rstrip('/')}/{project_id}"


def run_export(settings: Settings, client: Client, request_id: int, project_id: str, file_format: ExportFormat, filters: ExportFilters) -> tuple[str, int]:
    """Write the export; returns (URL or path of the data file, rows)."""
    csv = file_format is ExportFormat.csv
    rows = 0

    @dlt.resource(name=TABLE_NAME, write_disposition="replace")
    def signals() -> Iterator[pa.Table]:
        nonlocal rows
        for table in _batches(client, project_id, filters, csv):
            rows += table.num_rows
            yield neutralize_formulas(table) if csv else table
        if rows == 0:  # still a file, with the columns and no rows
            sql, parameters = export_query(filters, csv)
            yield client.query_arrow(f"SELECT * FROM ({sql}) LIMIT 0", parameters={**parameters, "project": project_id})

    name = f"feelback_export_{request_id}"
    working_dir = settings.home / "dlt" / "exports" / str(request_id)
    # Plain files for the customer; the setting is scoped to this pipeline's config section.
    compression_setting = f"{name.upper()}__NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION"
    os.environ[compression_setting] = "true"
    pipeline = dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(working_dir),
        destination=dlt.destinations.filesystem(
            bucket_url=export_location(settings, project_id), layout="{table_name}/{load_id}.{file_id}.{ext}"
        ),
        dataset_name=f"export_{request_id}",
    )
    try:
        pipeline.run(signals(), loader_file_format=file_format.value)
    finally:
        os.environ.pop(compression_setting, None)
    shutil.rmtree(working_dir, ignore_errors=True)
    return _data_file(settings, project_id, request_id), rows


def _data_file(settings: Settings, project_id: str, request_id: int) -> str:
    folder = f"{export_location(settings, project_id)}/export_{request_id}/{TABLE_NAME}"
    filesystem, path = fsspec.core.url_to_fs(folder)
    entries = filesystem.ls(path, detail=True) if filesystem.exists(path) else []
    # dlt may add an empty file next to the data (e.g. JSONL of no rows); the data is the one with bytes.
    files = sorted((entry["name"] for entry in entries if entry.get("size")), key=str) or sorted(entry["name"] for entry in entries)
    if len(files) != 1 and any(entry.get("size") for entry in entries):
        raise RuntimeError(f"export {request_id} produced {len(files)} data files in {folder}, expected one")
    if not files:
        raise RuntimeError(f"export {request_id} produced no data file in {folder}")
    protocol = filesystem.protocol if isinstance(filesystem.protocol, str) else filesystem.protocol[0]
    return files[0] if protocol in ("file", "local") else f"{protocol}://{files[0]}"
