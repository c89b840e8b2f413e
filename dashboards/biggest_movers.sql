-- Biggest movers: contents whose sentiment over the last 7 days differs most from their 30-day sentiment.
SELECT
    w7.content_set                                             AS content_set,
    w7.content_key                                             AS content_key,
    w7.signals                                                 AS signals_7d,
    round(w7.sentiment_score, 3)                               AS sentiment_7d,
    round(w30.sentiment_score, 3)                              AS sentiment_30d,
    round(w7.sentiment_score - w30.sentiment_score, 3)         AS change
FROM analytics.agg_content_rolling AS w7
INNER JOIN analytics.agg_content_rolling AS w30
    ON w30.project_id = w7.project_id AND w30.content_set = w7.content_set
   AND w30.content_key = w7.content_key AND w30.signal_type = w7.signal_type AND w30.window_days = 30
WHERE w7.project_id = {project_id:String}
  AND w7.window_days = 7
  AND w7.sentiment_score IS NOT NULL
  AND w30.sentiment_score IS NOT NULL
ORDER BY abs(change) DESC, content_set, content_key
LIMIT 20
