-- Contents ranked by sentiment over the last 30 days, with enough signals to mean something.
SELECT
    content_set,
    content_key,
    signals,
    round(sentiment_score, 3)          AS sentiment_score,
    positive_signals,
    negative_signals
FROM analytics.agg_content_rolling
WHERE project_id = {project_id:String}
  AND window_days = 30
  AND signals >= {min_signals:UInt32}
ORDER BY sentiment_score DESC, signals DESC
