-- The ingest spool's backlog as each API process's drainer sees it, every few seconds
-- (ingest_api/spool_backlog.py): acknowledged data still waiting on an API's disk for ClickHouse.
-- Operations data, for the operations dashboard: kept 30 days.
CREATE DATABASE IF NOT EXISTS ops;

CREATE TABLE IF NOT EXISTS ops.spool_backlog
(
    recorded_at             DateTime64(3, 'UTC'),
    host                    LowCardinality(String) COMMENT 'Host name of the API process',
    lane                    LowCardinality(String) COMMENT 'Its spool lane (one per API process), e.g. lane-0',
    pending_bytes           UInt64 COMMENT 'Acknowledged bytes not yet in raw.feedback_events',
    pending_segments        UInt32 COMMENT 'Spool segments not yet drained, the one being written included',
    oldest_pending_seconds  Float64 COMMENT 'Age of the oldest undrained segment; 0 when none',
    budget_bytes            UInt64 COMMENT 'FEELBACK_SPOOL_MAX_BYTES: past it the API answers 503'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(recorded_at)
ORDER BY (host, lane, recorded_at)
TTL toDateTime(recorded_at) + INTERVAL 30 DAY;
