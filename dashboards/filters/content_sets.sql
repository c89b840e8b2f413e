-- Filter values: the content sets of each project, as the marts know them.
SELECT DISTINCT project_id, content_set
FROM analytics.fct_signals
ORDER BY project_id, content_set
