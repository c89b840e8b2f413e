"""The raw events table is written by the API, not by Dagster: it is observed, never materialized."""

import dagster as dg

from pipelines.resources import ClickHouseResource

RAW_EVENTS = dg.AssetKey(["raw", "feedback_events"])


@dg.observable_source_asset(
    key=RAW_EVENTS,
    group_name="raw",
    kinds={"clickhouse"},
    description="Every signal operation as an immutable event, appended by the ingest API.",
)
def feedback_events(clickhouse: ClickHouseResource) -> dg.ObserveResult:
    client = clickhouse.get_client()
    try:
        # count() and max() of the partition key column come from part metadata, not a scan
        rows, newest = client.query("SELECT count(), max(received_at) FROM raw.feedback_events").result_rows[0]
    finally:
        client.close()
    newest_text = newest.isoformat() if rows else ""
    return dg.ObserveResult(
        data_version=dg.DataVersion(f"{rows}:{newest_text}"),
        metadata={
            "dagster/row_count": dg.MetadataValue.int(rows),
            "max_received_at": dg.MetadataValue.text(newest_text),
        },
    )
