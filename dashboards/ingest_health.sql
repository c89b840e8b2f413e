-- Ingestion per hour over the last 2 days: operations, bot share, edits/revokes, client clock skew.
SELECT
    toStartOfHour(received_at)                                     AS hour,
    count()                                                        AS events,
    round(countIf(is_bot) / count(), 3)                            AS bot_share,
    countIf(operation = 'edit')                                    AS edits,
    countIf(operation = 'revoke')                                  AS revokes,
    uniqExact(visitor_id)                                          AS visitors,
    quantile(0.5)(dateDiff('millisecond', occurred_at, received_at)) AS median_skew_ms
FROM raw.feedback_events
WHERE project_id = {project_id:String}
  AND received_at >= now() - INTERVAL 2 DAY
GROUP BY hour
ORDER BY hour DESC
