-- Volume and sentiment per content set and ISO week (project time zone), last 12 weeks.
SELECT
    period_start                       AS week,
    content_set,
    signal_type,
    signals,
    positive_signals,
    neutral_signals,
    negative_signals,
    round(sentiment_score, 3)          AS sentiment_score,
    round(value_avg, 2)                AS value_avg
FROM analytics.agg_content_set_period
WHERE project_id = {project_id:String}
  AND period = 'week'
  AND period_start >= toMonday(today()) - INTERVAL 11 WEEK
ORDER BY week DESC, content_set, signal_type
