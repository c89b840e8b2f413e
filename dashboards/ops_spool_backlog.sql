-- Ingest spool backlog over the last 2 days, per minute and API lane: acknowledged signals still waiting on
-- an API's disk for ClickHouse (recorded by each API's drainer every few seconds; ingest_api/spool_backlog.py).
SELECT
    toStartOfMinute(recorded_at)       AS minute,
    concat(host, ' ', lane)            AS api_lane,
    max(pending_bytes)                 AS pending_bytes,
    max(pending_segments)              AS pending_segments,
    max(oldest_pending_seconds)        AS oldest_pending_seconds
FROM ops.spool_backlog
WHERE recorded_at >= now() - INTERVAL 2 DAY
GROUP BY minute, api_lane
ORDER BY minute, api_lane
