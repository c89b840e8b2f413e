"""The sentiment asset scores every text dbt will read as current, also those received after its days."""

from __future__ import annotations

import datetime as dt
import uuid

import dagster as dg

from pipelines.defs.sentiment.assets import message_sentiment
from pipelines.resources import ClickHouseResource
from tests.pipelines.raw_events import RawEvents


def test_an_edit_received_after_the_partitions_day_is_scored(ch):
    """A message created three days ago and edited today: building the day of its creation rebuilds
    the signal with today's text, so that text needs its score then, not after tonight's build."""
    now = dt.datetime.now(dt.UTC)
    day = (now - dt.timedelta(days=3)).date()
    events = RawEvents(f"sentiment-{uuid.uuid4().hex[:6]}")
    created_at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    signal = events.create("message", created_at, content_set="comments", message="This page is wonderful")
    events.add(signal, "edit", "message", now - dt.timedelta(minutes=1), content_set="comments", message="It is awful")
    event_ids = {row[0] for row in events.rows}
    events.insert(ch)

    result = dg.materialize(
        [message_sentiment], partition_key=day.isoformat(), resources={"clickhouse": ClickHouseResource()},
        instance=dg.DagsterInstance.ephemeral(),
    )  # fmt: skip
    assert result.success
    scores = ch.query(
        "SELECT event_id, compound FROM enrichment.message_sentiment WHERE project_id = {p:String}",
        parameters={"p": events.project_id},
    ).result_rows
    assert {event_id for event_id, _ in scores} == event_ids
    assert sorted(compound > 0 for _, compound in scores) == [False, True]  # the edit's text is negative


def test_a_first_build_scores_every_text_so_far(ch):
    """A fresh stack's first build (tagged by feelback up) builds every event received so far, the
    demo project's weeks of history among them: it scores them all, not only its own day's."""
    from feelback.first_build import FIRST_BUILD_TAG

    now = dt.datetime.now(dt.UTC)
    events = RawEvents(f"sentiment-{uuid.uuid4().hex[:6]}")
    events.create("message", now - dt.timedelta(days=10), content_set="comments", message="Great docs, thank you")
    event_ids = {row[0] for row in events.rows}
    events.insert(ch)
    yesterday = (now - dt.timedelta(days=1)).date().isoformat()

    def scored() -> set:
        rows = ch.query("SELECT event_id FROM enrichment.message_sentiment WHERE project_id = {p:String}", parameters={"p": events.project_id})
        return {event_id for (event_id,) in rows.result_rows}

    for tags, expected in (({}, set()), ({FIRST_BUILD_TAG: "true"}, event_ids)):
        result = dg.materialize(
            [message_sentiment], partition_key=yesterday, resources={"clickhouse": ClickHouseResource()},
            instance=dg.DagsterInstance.ephemeral(), tags=tags,
        )  # fmt: skip
        assert result.success and scored() == expected, tags
