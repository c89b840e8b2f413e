-- VADER scores of message texts, written by the pipelines' sentiment asset and read by dbt's
-- fct_signals and by the API's inbox filter: a table of the warehouse's schema, there before either runs.
CREATE DATABASE IF NOT EXISTS enrichment;

CREATE TABLE IF NOT EXISTS enrichment.message_sentiment
(
    project_id   LowCardinality(String),
    signal_id    UUID,
    event_id     UUID COMMENT 'The create or edit event whose text was scored',
    received_at  DateTime64(3, 'UTC') COMMENT 'received_at of that event',
    compound     Float32 COMMENT 'VADER compound score on [-1, 1]',
    positive     Float32,
    neutral      Float32,
    negative     Float32,
    analyzer     LowCardinality(String),
    scored_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(scored_at)
PARTITION BY toYYYYMM(received_at)
ORDER BY (project_id, signal_id, event_id);
