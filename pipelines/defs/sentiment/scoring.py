"""Score message texts with VADER and store the scores in ``enrichment.message_sentiment``.

One row per create or edit event of a message signal (an edit brings a new text); fct_signals
joins the score of the event whose text is current. Only events not scored yet are read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from warehouse.migrations import available_migrations

ANALYZER = "vader-3.3.2"
INSERT_BATCH = 5000

COLUMNS = ["project_id", "signal_id", "event_id", "received_at", "compound", "positive", "neutral", "negative", "analyzer", "scored_at"]

# Human message texts received in the window that have no score yet. The anti-join reads the
# scores of the same window only (partition pruning on received_at).
UNSCORED = """
SELECT project_id, signal_id, event_id, received_at, message
FROM raw.feedback_events
WHERE signal_type = 'message'
  AND operation IN ('create', 'edit')
  AND NOT is_bot
  AND received_at >= {start:DateTime64(3, 'UTC')} AND received_at < {end:DateTime64(3, 'UTC')}
  AND event_id NOT IN (
      SELECT event_id FROM enrichment.message_sentiment
      WHERE received_at >= {start:DateTime64(3, 'UTC')} AND received_at < {end:DateTime64(3, 'UTC')}
  )
"""


@dataclass(frozen=True)
class ScoringResult:
    scored: int
    start: dt.datetime
    end: dt.datetime


def ensure_table(client: Client) -> None:
    """The table is the warehouse's (its migration ``message_sentiment``); created here as well for a
    warehouse not migrated yet, from the same statements."""
    migration = next(m for m in available_migrations() if m.name == "message_sentiment")
    for statement in migration.statements:
        client.command(statement)


def score_messages(client: Client, start: dt.datetime, end: dt.datetime) -> ScoringResult:
    """Score every unscored message event received in [start, end)."""
    ensure_table(client)
    analyzer = SentimentIntensityAnalyzer()
    scored_at = dt.datetime.now(dt.UTC)
    batch: list[list] = []
    scored = 0
    with client.query_row_block_stream(UNSCORED, parameters={"start": start, "end": end}) as blocks:
        for block in blocks:
            for project_id, signal_id, event_id, received_at, message in block:
                scores = analyzer.polarity_scores(message)
                batch.append([
                    project_id, signal_id, event_id, received_at,
                    scores["compound"], scores["pos"], scores["neu"], scores["neg"], ANALYZER, scored_at,
                ])
            if len(batch) >= INSERT_BATCH:
                client.insert("enrichment.message_sentiment", batch, column_names=COLUMNS)
                scored += len(batch)
                batch = []
    if batch:
        client.insert("enrichment.message_sentiment", batch, column_names=COLUMNS)
        scored += len(batch)
    return ScoringResult(scored=scored, start=start, end=end)
