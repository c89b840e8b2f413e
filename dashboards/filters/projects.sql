-- Filter values: every project that has sent events.
SELECT DISTINCT project_id
FROM raw.feedback_events
ORDER BY project_id
