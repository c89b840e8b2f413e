-- Signals per day (project time zone) by signal type and content set, last 90 days.
SELECT
    day,
    signal_type,
    content_set,
    signals,
    positive_signals,
    negative_signals
FROM analytics.agg_content_set_daily
WHERE project_id = {project_id:String}
  AND day >= today() - 90
ORDER BY day, signal_type, content_set
