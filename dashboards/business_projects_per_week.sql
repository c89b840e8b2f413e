-- Projects created per week (Monday, UTC), from the control plane replicated into raw_app.
SELECT
    toDate(toMonday(created_at))       AS week,
    uniqExact(id)                      AS projects_created
FROM raw_app.projects
GROUP BY week
ORDER BY week
