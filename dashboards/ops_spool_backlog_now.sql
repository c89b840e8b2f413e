-- Ingest spool backlog now: the latest snapshot of each API lane that reported during the last day
-- (`reported_at` says how fresh it is: a lane that stopped reporting keeps its last one).
SELECT
    recorded_at                             AS reported_at,
    host,
    lane,
    pending_bytes,
    pending_segments,
    oldest_pending_seconds,
    round(pending_bytes / budget_bytes, 4)  AS budget_used
FROM ops.spool_backlog
WHERE recorded_at >= now() - INTERVAL 1 DAY
ORDER BY recorded_at DESC
LIMIT 1 BY host, lane
