-- Warehouse builds, newest first: the days each rebuilt, and how far the build lagged the newest event it saw.
SELECT
    built_at,
    min_day,
    max_day,
    max_received_at,
    dateDiff('minute', max_received_at, built_at) AS lag_minutes
FROM analytics.build_watermarks
ORDER BY built_at DESC
LIMIT 50
