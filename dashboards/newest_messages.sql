-- The newest free-text feedback with its sentiment (VADER compound score) and tags.
SELECT
    created_at,
    content_set,
    content_key,
    message,
    tags,
    round(toFloat64(sentiment), 3)     AS sentiment,
    sentiment_label
FROM analytics.fct_signals
WHERE project_id = {project_id:String}
  AND signal_type = 'message'
ORDER BY created_at DESC
LIMIT 50
