-- How ratings spread over the scale per content set, all time.
SELECT
    content_set,
    rating_scale,
    value                              AS rating,
    count()                            AS signals,
    round(count() / sum(count()) OVER (PARTITION BY content_set), 3) AS share
FROM analytics.fct_signals
WHERE project_id = {project_id:String}
  AND signal_type = 'rating'
GROUP BY content_set, rating_scale, value
ORDER BY content_set, rating
