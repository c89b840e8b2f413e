"""The sentiment asset: scores the message texts received from its partitions' first day on."""

import datetime as dt

import dagster as dg

from feelback.first_build import FIRST_BUILD_TAG
from pipelines.defs.raw.assets import RAW_EVENTS
from pipelines.defs.sentiment.scoring import score_messages
from pipelines.partitions import daily_partitions
from pipelines.resources import ClickHouseResource

MESSAGE_SENTIMENT = dg.AssetKey(["enrichment", "message_sentiment"])
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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
    # Up to now, not to the partitions' end: dbt rebuilds each signal the batch touches from all its
    # events, so a text received after the last day (an edit this morning) is current in the marts
    # and needs its score too.
    # A fresh stack's first build (feelback/first_build.py) builds every event so far: score them all.
    first_build = context.run.tags.get(FIRST_BUILD_TAG) == "true"
    start = EPOCH if first_build else context.partition_time_window.start
    end = dt.datetime.now(dt.UTC)
    client = clickhouse.get_client()
    try:
        result = score_messages(client, start, end)
    finally:
        client.close()
    context.log.info(f"scored {result.scored} message texts received in [{start}, {end})")
    return dg.MaterializeResult(metadata={"scored": result.scored, "window_start": start.isoformat(), "window_end": end.isoformat()})
