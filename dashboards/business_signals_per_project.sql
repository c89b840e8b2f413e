-- Live signals per project over the last 30 days, with the project's name and when it was last active.
SELECT
    s.project_id                       AS project_id,
    any(p.name)                        AS project_name,
    count()                            AS signals,
    uniqExact(s.day)                   AS active_days,
    max(s.created_at)                  AS last_signal_at
FROM analytics.fct_signals AS s
LEFT JOIN raw_app.projects AS p ON p.id = s.project_id
WHERE s.day >= today() - 30
GROUP BY s.project_id
ORDER BY signals DESC, project_id
