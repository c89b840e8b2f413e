-- How often visitors change their mind: edits and revokes per create, per day received (UTC), last 90 days.
SELECT
    toDate(received_at)                                        AS day,
    content_set,
    countIf(operation = 'create')                              AS creates,
    countIf(operation = 'edit')                                AS edits,
    countIf(operation = 'revoke')                              AS revokes,
    round(countIf(operation = 'edit') / greatest(countIf(operation = 'create'), 1), 3)   AS edit_rate,
    round(countIf(operation = 'revoke') / greatest(countIf(operation = 'create'), 1), 3) AS revoke_rate
FROM raw.feedback_events
WHERE project_id = {project_id:String}
  AND received_at >= today() - 90
GROUP BY day, content_set
ORDER BY day, content_set
