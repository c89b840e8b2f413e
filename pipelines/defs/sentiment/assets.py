"""The sentiment asset: scores the message texts received in its partitions' days."""

import dagster as dg

from pipelines.defs.raw.assets import RAW_EVENTS
from pipelines.defs.sentiment.scoring import score_messages
from pipelines.partitions import daily_partitions
from pipelines.resources import ClickHouseResource

MESSAGE_SENTIMENT = dg.AssetKey(["enrichment", "message_sentiment"])


@dg.asset(
    key=MESSAGE_SENTIMENT,
    deps=[RAW_EVENTS],
    group_name="enrichment",
    kinds={"python", "clickhouse"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="VADER compound score of every message text (create or edit), each scored once.",
)
def message_sentiment(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource) -> dg.MaterializeResult:
    window = context.partition_time_window
    client = clickhouse.get_client()
    try:
        result = score_messages(client, window.start, window.end)
    finally:
        client.close()
    context.log.info(f"scored {result.scored} message texts received in [{window.start}, {window.end})")
    return dg.MaterializeResult(
        metadata={"scored": result.scored, "window_start": window.start.isoformat(), "window_end": window.end.isoformat()}
    )
