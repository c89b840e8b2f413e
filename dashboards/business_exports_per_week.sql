-- Export requests per week (Monday, UTC, of the request), by file format and where they stand now.
SELECT
    toMonday(created_at)               AS week,
    format,
    status,
    count()                            AS requests
FROM analytics_staging.stg_app__export_requests
GROUP BY week, format, status
ORDER BY week, format, status
