-- Active projects per week: projects with at least one live signal, and those signals, last 12 weeks.
SELECT
    toMonday(day)                      AS week,
    uniqExact(project_id)              AS active_projects,
    count()                            AS signals
FROM analytics.fct_signals
WHERE day >= toMonday(today()) - INTERVAL 11 WEEK
GROUP BY week
ORDER BY week
